"""Re-selection of the ranking after a weekly import, beside choosing from scratch and a full backtest.

    .venv/bin/python bench/reselection.py [--density sparse|dense] [--weeks 3]

The demo (two years ending 2026-11-15, seed 1, the shipped areas; sparse by default, as a user's first
data) is imported into a fresh SQLite store in ``var/reselection/`` without its last ``--weeks`` weeks, and
the ranking is chosen (``hotspots backtest --select``). Then each held-back week is imported as a weekly
import is, and :func:`hotspots.ranking.choice.reselect_after_import` (what ``hotspots import`` and the API
run after it) is timed. Peers, on the same store after the last import: choosing from scratch
(``--select``: every candidate scored on every look-back step) and the full 26-week backtest of every
candidate (``hotspots backtest``). Target: a re-selection after a weekly import ≤ 5 s on the demo.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

import pandas as pd

from hotspots.config import Settings
from hotspots.demo import generate as demo
from hotspots.geo.areas import load_areas
from hotspots.ingest import pipeline as ingest
from hotspots.ranking import choice
from hotspots.ranking.backtest import run_backtest, study_lattice
from hotspots.store.engine import open_store

WORK = Path(__file__).resolve().parent.parent / "var" / "reselection"
WEEKS, SEED, END = 104, 1, date(2026, 11, 15)
TARGET_S = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--density", choices=[d.value for d in demo.Density], default="sparse")
    parser.add_argument("--weeks", type=int, default=3, help="weekly imports timed (held back at first)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    db = WORK / f"demo_{args.density}.db"
    db.unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{db}")
    areas = load_areas(settings)
    engine = open_store(settings)
    rows, _ = demo.generate(
        weeks=WEEKS, seed=SEED, end=END, density=demo.Density(args.density), settings=settings
    )
    week = pd.to_datetime(rows["occurred_at"], utc=True).dt.tz_convert(settings.timezone).dt.tz_localize(None)
    week = week.dt.to_period("W-SUN")
    held = sorted(week.unique())[-args.weeks :]
    ingest.import_frame(engine, rows[~week.isin(held)], settings=settings, areas=areas)
    lattice_for = lambda reports: study_lattice(reports, settings, areas)  # noqa: E731
    first = choice.select(engine, settings, lattice_for, step="week")
    print(
        f"{len(rows):,} {args.density} demo reports; {args.weeks} weeks held back; first choice {first.method}"
    )

    timings = []
    for period in held:
        added = ingest.import_frame(engine, rows[week == period], settings=settings, areas=areas).rows_added
        started = time.perf_counter()
        chosen = choice.reselect_after_import(engine, settings, areas)
        timings.append(time.perf_counter() - started)
        assert chosen is not None
        print(f"import of {period} ({added} reports): re-selection {timings[-1]:.2f} s -> {chosen.method}")

    started = time.perf_counter()
    fresh = choice.select(engine, settings, lattice_for, step="week")
    scratch = time.perf_counter() - started
    started = time.perf_counter()
    run_backtest(engine, settings, areas=areas, step="week", periods=26)
    backtest = time.perf_counter() - started
    median = statistics.median(timings)
    print(f"{'':<34}{'seconds':>9}{'× re-selection':>16}")
    for label, seconds in (
        ("re-selection after an import", median),
        ("choosing from scratch (--select)", scratch),
        ("full backtest, 26 weeks", backtest),
    ):
        print(f"{label:<34}{seconds:9.2f}{seconds / median:16.1f}")
    print(f"same choice as from scratch: {fresh.method == chosen.method}; target ≤ {TARGET_S:.0f} s")
    out = {
        "bench": "reselection",
        "density": args.density,
        "reports": len(rows),
        "reselect_seconds": [round(t, 2) for t in timings],
        "reselect_median_seconds": round(median, 2),
        "select_from_scratch_seconds": round(scratch, 2),
        "full_backtest_seconds": round(backtest, 2),
        "target_seconds": TARGET_S,
        "met": max(timings) <= TARGET_S,
        "same_as_from_scratch": fresh.method == chosen.method,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
