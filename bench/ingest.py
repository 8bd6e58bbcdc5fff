"""Ingest benchmark: H3 binning rate beside h3ronpy and an h3-py loop, and a 1,000,000-row import end to end.

    .venv/bin/python bench/ingest.py [--rows 1000000]

The import runs in a child process (a fresh interpreter, as `hotspots import` would) against a new SQLite
file; its peak memory is the child's maximum resident set size and its CPU time user + system (on a busy
machine the CPU time is the steadier figure). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h3
import h3ronpy.vector as h3v
import numpy as np
import pandas as pd

from hotspots.geo.h3grid import latlng_to_cells

RES = 12
CHILD = """
import sys, time
from pathlib import Path
from hotspots.config import Settings
from hotspots.geo.areas import load_areas
from hotspots.ingest.pipeline import import_file
from hotspots.store.engine import open_store
settings = Settings(database_url=f"sqlite:///{sys.argv[2]}")
t0 = time.perf_counter()
engine = open_store(settings)
result = import_file(engine, Path(sys.argv[1]), settings=settings, areas=load_areas(settings))
print(time.perf_counter() - t0, result.rows_added)
"""


def points(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Points over urban Örebro (a box around the city, inside the municipality)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(59.23, 59.31, n), rng.uniform(15.12, 15.28, n)


def best_of(fn: object, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return min(times)


def binning(n: int) -> dict[str, float]:
    lat, lon = points(n)
    ours = best_of(lambda: latlng_to_cells(lat, lon, RES))
    peer = best_of(lambda: h3v.coordinates_to_cells(lat, lon, RES))
    loop_n = min(n, 100_000)
    loop = best_of(
        lambda: [h3.latlng_to_cell(a, b, RES) for a, b in zip(lat[:loop_n], lon[:loop_n], strict=True)], 1
    )
    return {
        "binning_points_per_s": n / ours,
        "h3ronpy_points_per_s": n / peer,
        "h3py_loop_points_per_s": loop_n / loop,
        "binning_vs_h3ronpy": peer / ours,
    }


def write_csv(path: Path, n: int) -> None:
    rng = np.random.default_rng(2)
    lat, lon = points(n, 3)
    start = pd.Timestamp("2025-01-01T00:00:00+01:00")
    occurred = start + pd.to_timedelta(rng.integers(0, 600 * 86_400, n), unit="s")
    cats = np.array(["observed_dealing", "suspected_dealing", "public_use", "seizure", "arrest"])
    frame = pd.DataFrame(
        {
            "source": "police",
            "source_id": np.char.add("B-", np.arange(n).astype(str)),
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "reported_at": "",
            "category": cats[rng.integers(0, cats.size, n)],
            "lat": lat.round(6),
            "lon": lon.round(6),
            "weight": 1,
            "note": "",
        }
    )
    frame.to_csv(path, index=False)


def import_million(n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "reports.csv"
        write_csv(csv, n)
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(csv), str(Path(tmp) / "bench.db")],
            check=True,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t0
        inside, added = out.stdout.split()
        child = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "import_rows": int(added),
        "import_wall_s": wall,
        "import_in_process_s": float(inside),
        "import_cpu_s": child.ru_utime + child.ru_stime,
        "import_peak_mb": child.ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    figures = binning(args.rows)
    print(
        f"H3 binning (res {RES}, {args.rows:,} points): ours {figures['binning_points_per_s']:,.0f}/s, "
        f"h3ronpy {figures['h3ronpy_points_per_s']:,.0f}/s (ratio {figures['binning_vs_h3ronpy']:.2f}), "
        f"h3-py loop {figures['h3py_loop_points_per_s']:,.0f}/s"
    )
    figures |= import_million(args.rows)
    print(
        f"import of {figures['import_rows']:,} rows into SQLite: {figures['import_wall_s']:.1f} s wall "
        f"(incl. interpreter start; {figures['import_in_process_s']:.1f} s after imports), "
        f"{figures['import_cpu_s']:.1f} s CPU, peak memory {figures['import_peak_mb']:.0f} MB"
    )
    print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()
