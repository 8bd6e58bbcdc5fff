"""One base error for the domain core, one-line subclasses (the CLI and API map them to exit codes / 4xx)."""

from typing import NamedTuple


class RowError(NamedTuple):
    """One problem in one input row. `row` is 1-based over data rows (the header is not counted).

    >>> RowError(3, "lat", "91.2", "outside the municipality")
    RowError(row=3, field='lat', value='91.2', reason='outside the municipality')
    """

    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, field {self.field!r} ({self.value!r}): {self.reason}"


class HotspotsError(Exception):
    """Base class of every error the domain core raises on purpose."""


class ConfigError(HotspotsError):
    """A settings value or configuration file is unusable."""


class ImportRejected(HotspotsError):
    """An import batch was rejected; nothing was written. `errors` lists every row-level problem."""

    def __init__(self, message: str, errors: list[RowError] | None = None) -> None:
        super().__init__(message)
        self.errors: list[RowError] = errors or []


class UnknownArea(HotspotsError):
    """An area name or id that the areas file does not define."""


class NotFound(HotspotsError):
    """A stored record (a report by id) that does not exist, or that the asker may not see."""


class EmptyData(HotspotsError):
    """A computation was asked for on a window or lattice with nothing in it."""


class StatisticsError(HotspotsError):
    """Inputs a statistic cannot be computed from (zero variance, bad weights, k too large)."""
