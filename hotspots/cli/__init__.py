"""``hotspots`` command line: the composition root, the one place that may reach hotspots, maps and api.

Usage::

    hotspots demo-data --out var/demo
    hotspots import var/demo/reports.csv
    hotspots status --json

Each command lives in its own module below and registers itself on the shared ``app``; the app imports a
module only when one of its commands runs (:data:`hotspots.cli.app.COMMANDS`, in workflow order), and
commands import the statistics, map and report stacks inside their function, so ``hotspots --help``
answers without loading pandas, scipy or WeasyPrint.
"""

from __future__ import annotations

from hotspots.cli.app import app


def main() -> None:
    """Entry point of the ``hotspots`` console script."""
    app()
