"""Benchmark the lattice statistics against esda on the same y and W.

Run: ``.venv/bin/python bench/stats.py``. Prints ours beside esda's time for analytic Gi*, permutation Gi*
(999) on counts and on continuous intensities, the per-cell randomisation used for unequal weights, and
Local Moran (999), with the ratio; then ours alone on the full-municipality (~144,000 cells) and a
1,000,000-cell lattice. The last line is one JSON object with every figure.

Then the Mann-Kendall trend of every location (ours vectorised beside pymannkendall's per-series loop,
extrapolated from 500 series) and the full weekly recompute the service does: two years of demo data
(>= 100,000 reports) imported into SQLite, then one uncached ``hotspots.analysis.compute.compute`` (lattice,
Gi* with 999 permutations, Local Moran, emerging hotspots over 52 weeks, KDE, week-over-week), in a child
process so its peak memory is its own.

Sizes: esda runs on ~10,000 res-10 cells (its 999-permutation runs take a few seconds each there; on
144,000 cells they would take minutes), so the whole script stays well under three minutes. esda gets one
warm-up call first so numba compilation is not counted against it, and runs with its default ``n_jobs``
(all cores); ours is single-threaded. Weight construction is not timed for either.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libpysal
import numpy as np
import pymannkendall
import scipy.sparse as sp
from esda.getisord import G_Local
from esda.moran import Moran_Local

from hotspots.geo import h3grid
from hotspots.stats.emerging import EmergingHotspots
from hotspots.stats.gistar import GiStar, gi_star_z
from hotspots.stats.inference import conditional_randomisation
from hotspots.stats.moran import LocalMoran
from hotspots.stats.trend import MannKendall
from hotspots.stats.weights import as_weights

OREBRO = (59.2741, 15.2066)
RINGS_FOR_10K = 58  # 1 + 3k(k+1) = 10,267 cells at res 10
RINGS_FOR_MUNICIPALITY = 219  # 144,541 res-10 cells, the size of Örebro municipality's lattice
RINGS_FOR_1M = 577  # 1,000,519 res-13 cells
PERMUTATIONS = 999


def lattice(res: int, rings: int) -> h3grid.CellArray:
    """A hexagonal disk of cells around central Örebro, sorted."""
    centre = h3grid.latlng_to_cells(np.array([OREBRO[0]]), np.array([OREBRO[1]]), res)
    return h3grid.grid_disk(centre, rings)


def weekly_counts(cells: h3grid.CellArray, seed: int = 0) -> np.ndarray:
    """Sparse counts like a week of reports: a quiet background and a few hot clusters."""
    rng = np.random.default_rng(seed)
    hot = np.isin(cells, h3grid.grid_disk(rng.choice(cells, max(1, cells.size // 2000), replace=False), 2))
    return rng.poisson(np.where(hot, 3.0, 0.2)).astype(float)


def best_time(run: Callable[[], Any], repeats: int = 1) -> float:
    """Fastest wall time of ``repeats`` calls, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def esda_w(w: sp.csr_matrix) -> libpysal.weights.W:
    return libpysal.weights.WSP(w).to_W(silence_warnings=True)


def bench_analytic_gi(cells: h3grid.CellArray) -> dict[str, float]:
    y, w = weekly_counts(cells), h3grid.kring_weights(cells, 1)
    w_esda = esda_w(w)
    ours = best_time(lambda: gi_star_z(y, w), repeats=5)
    theirs = best_time(lambda: G_Local(y, w_esda, transform="B", star=True, permutations=0), repeats=3)
    return {"ours_s": ours, "esda_s": theirs}


def bench_permutation_gi(cells: h3grid.CellArray) -> dict[str, float]:
    y, w = weekly_counts(cells), h3grid.kring_weights(cells, 1)
    w_esda = esda_w(w)
    ours = best_time(lambda: GiStar(y, w, permutations=PERMUTATIONS, seed=1), repeats=3)
    theirs = best_time(
        lambda: G_Local(y, w_esda, transform="B", star=True, permutations=PERMUTATIONS, seed=1)
    )
    return {"ours_s": ours, "esda_s": theirs}


def bench_permutation_gi_intensity(cells: h3grid.CellArray) -> dict[str, float]:
    """Time-decayed intensities: almost every value distinct (no grouping by value could help)."""
    y = weekly_counts(cells) * np.random.default_rng(1).uniform(0.5, 1.0, cells.size)
    w = h3grid.kring_weights(cells, 1)
    w_esda = esda_w(w)
    ours = best_time(lambda: GiStar(y, w, permutations=PERMUTATIONS, seed=1), repeats=3)
    theirs = best_time(
        lambda: G_Local(y, w_esda, transform="B", star=True, permutations=PERMUTATIONS, seed=1)
    )
    return {"ours_s": ours, "esda_s": theirs}


def bench_permutation_distance_decay(cells: h3grid.CellArray) -> dict[str, float]:
    """Unequal weights in a row (ring 1 weighs 1, ring 2 weighs 0.5): our per-cell fallback path.

    The peer is esda's Gi with row-standardised weights (its "B" transform would discard the decay).
    """
    ring1 = h3grid.kring_weights(cells, 1, self_weight=False)
    decay = ring1 + 0.5 * (h3grid.kring_weights(cells, 2, self_weight=False) - ring1)
    y = weekly_counts(cells)
    w_esda = esda_w(decay)
    weights = as_weights(decay, cells.size)
    ours = best_time(lambda: conditional_randomisation(y, weights, PERMUTATIONS, np.random.default_rng(1)))
    theirs = best_time(lambda: G_Local(y, w_esda, transform="R", permutations=PERMUTATIONS, seed=1))
    return {"ours_s": ours, "esda_s": theirs}


def bench_local_moran(cells: h3grid.CellArray) -> dict[str, float]:
    y, w = weekly_counts(cells), h3grid.kring_weights(cells, 1, self_weight=False)
    w_esda = esda_w(w)
    ours = best_time(lambda: LocalMoran(y, w, permutations=PERMUTATIONS, seed=1), repeats=3)
    theirs = best_time(lambda: Moran_Local(y, w_esda, transformation="r", permutations=PERMUTATIONS, seed=1))
    return {"ours_s": ours, "esda_s": theirs}


def bench_ours_only(cells: h3grid.CellArray, permutations: int) -> float:
    y, w = weekly_counts(cells), h3grid.kring_weights(cells, 1)
    if permutations:
        return best_time(lambda: GiStar(y, w, permutations=permutations, seed=1))
    return best_time(lambda: gi_star_z(y, w), repeats=3)


def warm_up_esda() -> None:
    """Compile esda's numba kernels on a tiny input so compilation is not timed."""
    cells = lattice(10, 3)
    y, w = weekly_counts(cells) + 1.0, h3grid.kring_weights(cells, 1)
    G_Local(y, esda_w(w), transform="B", star=True, permutations=9, seed=1)
    Moran_Local(y, esda_w(w.multiply(w.T != 0) - sp.identity(cells.size)), permutations=9, seed=1)


def bench_mann_kendall(cells: h3grid.CellArray, weeks: int = 52) -> dict[str, float]:
    """Trend test on every location's 52 weekly Gi* z-scores: ours on the whole array vs pymannkendall."""
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.05, size=(cells.size, weeks)).astype(float)
    counts[:500] += rng.poisson(3.0, size=(500, weeks))
    z = EmergingHotspots(counts, h3grid.kring_weights(cells, 1)).z
    ours = best_time(lambda: MannKendall(z))
    sample = z[:500]
    peer = best_time(lambda: [pymannkendall.original_test(series) for series in sample]) * cells.size / 500
    return {"ours_s": ours, "pymannkendall_extrapolated_s": peer, "cells": int(cells.size), "weeks": weeks}


RECOMPUTE = """
import sys, time, resource
from datetime import date
from hotspots.analysis.params import AnalysisParams
from hotspots.analysis.compute import compute
from hotspots.geo.areas import load_areas
from hotspots.config import Settings
from hotspots.store.engine import open_store
settings = Settings(database_url=f"sqlite:///{sys.argv[1]}", study_extent_m=float(sys.argv[3]))
engine, areas = open_store(settings), load_areas(settings)
params = AnalysisParams(window="28d", end=date.fromisoformat(sys.argv[2])).resolved(settings)
compute(engine, settings, areas, params)  # warm: lattice polyfill (cached per areas file) and imports
times = []
for seed in range(3):
    t0 = time.perf_counter()
    result = compute(engine, settings, areas, params.__class__(**{**params.__dict__, "seed": seed}))
    times.append(time.perf_counter() - t0)
    cells = result.lattice.cells.size
    del result  # one analysis alive at a time, as in the service after a write
print(min(times), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, cells)
"""


def bench_full_recompute() -> dict[str, dict[str, float]]:
    """Import two years of demo data, then time one uncached weekly recompute in a fresh process: on the
    default study area and on the whole municipality (study extent 100 km: every cell of every area)."""
    from datetime import date

    from hotspots.config import Settings
    from hotspots.demo import generate as demo
    from hotspots.geo.areas import load_areas
    from hotspots.ingest import pipeline as ingest
    from hotspots.store.engine import open_store

    end = date(2026, 11, 15)
    with tempfile.TemporaryDirectory() as tmp:
        files = demo.write(Path(tmp), weeks=104, seed=1, end=end, density=demo.Density.DENSE)
        settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'demo.db'}")
        ingest.import_file(open_store(settings), files.reports, settings=settings, areas=load_areas(settings))
        figures = {}
        for name, extent_m in (("study_area", settings.study_extent_m), ("whole_municipality", 100_000.0)):
            out = subprocess.run(
                [sys.executable, "-c", RECOMPUTE, str(Path(tmp) / "demo.db"), end.isoformat(), str(extent_m)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.split()
            seconds, peak_mb, cells = float(out[0]), float(out[1]), int(out[2])
            figures[name] = {
                "reports": files.rows,
                "lattice_cells": cells,
                "seconds": seconds,
                "peak_mb": peak_mb,
            }
    return figures


def main() -> None:
    warnings.simplefilter("ignore")  # esda's deprecation notices
    warm_up_esda()
    small = lattice(10, RINGS_FOR_10K)
    figures: dict[str, Any] = {"cells_vs_esda": int(small.size), "permutations": PERMUTATIONS}
    print(f"lattice for the esda comparisons: {small.size} res-10 cells, k=1 rings")
    for name, bench in [
        ("gi_analytic", bench_analytic_gi),
        ("gi_permutation", bench_permutation_gi),
        ("gi_permutation_intensity", bench_permutation_gi_intensity),
        ("permutation_distance_decay", bench_permutation_distance_decay),
        ("local_moran_permutation", bench_local_moran),
    ]:
        result = bench(small)
        result["speedup"] = result["esda_s"] / result["ours_s"]
        figures[name] = result
        print(
            f"{name:26s} ours {result['ours_s']:8.4f} s   esda {result['esda_s']:8.4f} s   x{result['speedup']:.0f}"
        )
    municipality = lattice(10, RINGS_FOR_MUNICIPALITY)
    figures["municipality_cells"] = int(municipality.size)
    figures["municipality_gi_permutation_s"] = bench_ours_only(municipality, PERMUTATIONS)
    print(
        f"ours, {municipality.size} cells: Gi* + 999 permutations {figures['municipality_gi_permutation_s']:.3f} s"
    )
    million = lattice(13, RINGS_FOR_1M)
    figures["million_cells"] = int(million.size)
    figures["million_gi_analytic_s"] = bench_ours_only(million, 0)
    print(f"ours, {million.size} cells: analytic Gi* {figures['million_gi_analytic_s']:.3f} s")
    mk = figures["mann_kendall"] = bench_mann_kendall(municipality)
    print(
        f"Mann-Kendall, {mk['cells']} cells x {mk['weeks']} weeks: ours {mk['ours_s']:.3f} s, "
        f"pymannkendall loop ~{mk['pymannkendall_extrapolated_s']:.0f} s (extrapolated from 500 series)"
    )
    figures["full_recompute"] = bench_full_recompute()
    for name, full in figures["full_recompute"].items():
        print(
            f"full weekly recompute ({name}), {full['reports']:,} demo reports over 104 weeks, "
            f"{full['lattice_cells']} cells: {full['seconds']:.2f} s, peak memory {full['peak_mb']:.0f} MB"
        )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
