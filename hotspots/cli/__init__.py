"""``hotspots`` command line: the composition root, the one place that may reach hotspots, maps and api.

Usage::

    hotspots demo-data --out var/demo
    hotspots import var/demo/reports.csv
    hotspots status --json

Each command lives in its own module below and registers itself on the shared ``app``.
Commands import the statistics, map and report stacks (scipy.stats, folium, matplotlib, WeasyPrint) inside
their function: registering every command imports every module, and ``hotspots --help`` or an import
should not wait ~3 s for libraries it never uses.
"""

from __future__ import annotations

from hotspots.cli import (  # noqa: F401  (imported for their @app.command registrations)
    accounts,
    backtest,
    compute,
    demo,
    ingest,
    map,
    measures,
    ops,
    priorities,
    report,
    serve,
)
from hotspots.cli.app import app


def main() -> None:
    """Entry point of the ``hotspots`` console script."""
    app()
