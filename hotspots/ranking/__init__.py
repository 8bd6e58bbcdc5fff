"""Which places come first: candidate rankings, their backtest and selection by evidence, and the priority list."""
