"""One analysis run: the lattice, the window's counts and every statistic the map, lists and report show.

The statistics always run over the whole study area (the areas file's polygons plus a ring of ``k`` cells so
edge cells have full neighbourhoods); an area filter only selects which cells are *shown*. A hexagon is
therefore equally red in the Vivalla view and the municipality view.

Results are derived data: kept by the caller's :class:`~hotspots.analysis.cache.AnalysisCache` per (store,
dataset version, parameters), so tiles, lists and statistics requests after the first are served without
recomputing. Any write changes the dataset version. (Over 400 lines: the lattice, the counts, the report
points and every statistic are built in one pass over one read of the reports.)

Usage (needs a store, so not a doctest)::

    result = analyse(engine, settings, areas, AnalysisParams(window="28d"), cache=AnalysisCache())
    result.frame().nlargest(5, "GiZScore")
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cached_property, partial
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.lattice import Lattice, build_lattice
from hotspots.analysis.params import AnalysisParams, window_bounds
from hotspots.analysis.windows import ReportWindows, read_window
from hotspots.config import Settings
from hotspots.errors import EmptyData, StatisticsError
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.lru import LRU
from hotspots.stats.change import WeekOverWeek
from hotspots.stats.emerging import EmergingHotspots, iso_week_steps, weekly_cube
from hotspots.stats.gistar import GiStar
from hotspots.stats.kde import DEFAULT_BANDWIDTH_M, kernel_density
from hotspots.stats.moran import LocalMoran
from hotspots.store.engine import dataset_version, shared_store
from hotspots.words import OUTSIDE_AREAS, OUTSIDE_KEY, Language

#: Half-life of the time-decayed intensity: a report two weeks old counts half.
INTENSITY_HALF_LIFE_DAYS = 14.0


class ReportPoints(NamedTuple):
    """The lattice's reports as points, for whoever counts them at another resolution (the map's coarser
    tiles): each in the cell containing it, never a finer cell's parent (H3 cells do not nest exactly)."""

    lat: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    in_window: npt.NDArray[np.bool_]
    week: npt.NDArray[np.int64]  # column of the weekly cube, -1 before it
    intensity: npt.NDArray[np.float64]  # the point's share of ``Analysis.intensity`` (0 outside the window)


@dataclass
class Analysis:
    """Everything computed for one (dataset version, parameters). Arrays are aligned with ``lattice.cells``."""

    params: AnalysisParams
    dataset_version: int
    start: datetime
    end: datetime
    lattice: Lattice
    areas: Areas
    count: npt.NDArray[np.float64]
    weighted: npt.NDArray[np.float64]
    intensity: npt.NDArray[np.float64]
    by_category: pd.DataFrame
    gi: GiStar
    moran: LocalMoran
    emerging: EmergingHotspots
    weeks: pd.PeriodIndex
    cube: npt.NDArray[np.float64]
    change: WeekOverWeek
    density: npt.NDArray[np.float64]
    reports_in_window: int
    #: When the reports were read (UTC): the "data as of" of every page and the ``Age`` of a response.
    computed_at: datetime
    points: ReportPoints

    @cached_property
    def etag(self) -> str:
        key = repr((self.dataset_version, asdict(self.params)))
        return hashlib.sha256(key.encode()).hexdigest()[:32]

    @cached_property
    def cell_ids(self) -> list[str]:
        return [f"{c:x}" for c in self.lattice.cells.tolist()]

    def _shown(self) -> npt.NDArray[np.bool_]:
        if not self.params.areas:
            return np.ones(self.lattice.cells.size, dtype=bool)
        return np.isin(self.lattice.area_id.astype(str), list(self.params.areas))

    def frame(self) -> pd.DataFrame:
        """One row per lattice cell (in the shown areas): counts and every statistic, ArcGIS field names."""
        names = pd.Series(self.lattice.area_id).map(
            dict(zip(self.areas.frame["area_id"], self.areas.frame["name"], strict=True))
        )
        gi = self.gi
        out = pd.DataFrame(
            {
                "cell": self.cell_ids,
                "area_id": self.lattice.area_id,
                "area": names.to_numpy(),
                "count": self.count,
                "weighted": self.weighted,
                "intensity": self.intensity,
                "GiZScore": gi.z,
                "GiPValue": gi.p_norm,
                "GiPSim": gi.p_sim if gi.p_sim is not None else np.full(gi.z.size, np.nan),
                "Gi_Bin": gi.gi_bin,
                "moran_I": self.moran.Is,
                "moran_q": np.where(self.moran.significant, self.moran.labels, ""),
                "moran_p": self.moran.p_sim if self.moran.p_sim is not None else np.full(gi.z.size, np.nan),
                "emerging": self.emerging.category,
                "hot_weeks": self.emerging.hot_weeks,
                "density": self.density,
                "week_count": self.change.current,
                "last_week_count": self.change.previous,
                "change": self.change.change_previous,
            }
        )
        return out[self._shown()].reset_index(drop=True)

    def summary(self, lang: Language = Language.sv) -> dict[str, Any]:
        """Per area (and in total): reports in the window, hot/cold cells by confidence, emerging counts."""
        frame = pd.DataFrame(
            {
                "area": pd.Series(self.lattice.area_id).fillna(OUTSIDE_KEY).to_numpy(),
                "count": self.count,
                "bin": self.gi.gi_bin,
                "emerging": self.emerging.category,
            }
        )[self._shown()]
        areas: dict[str, Any] = {}
        for area_id, part in frame.groupby("area", sort=False):
            bins = part["bin"].value_counts()
            emerging = part.loc[part["emerging"] != "no_pattern", "emerging"].value_counts()
            areas[str(area_id)] = {
                "name": self.areas.name_of(str(area_id))
                if area_id != OUTSIDE_KEY
                else OUTSIDE_AREAS[lang]["name"],
                "reports": int(part["count"].sum()),
                "cells": len(part),
                "hot_99": int(bins.get(3, 0)),
                "hot_95": int(bins.get(2, 0)),
                "hot_90": int(bins.get(1, 0)),
                "cold": int(bins[bins.index < 0].sum()),
                "emerging": {str(k): int(v) for k, v in emerging.items()},
            }
        partnership = set(self.areas.partnership_ids)
        ordered = dict(sorted(areas.items(), key=lambda kv: (kv[0] not in partnership, -kv[1]["reports"])))
        return {
            "window": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "spec": self.params.window,
            },
            "resolution": self.params.resolution,
            "k": self.params.k,
            "permutations": self.params.permutations,
            "inference": self.gi.inference,  # how Gi_Bin was judged: norm | poisson | negbin (| sim)
            "dataset_version": self.dataset_version,
            "reports": int(frame["count"].sum()),
            "hot_cells": {
                "99": int((frame["bin"] == 3).sum()),
                "95": int((frame["bin"] == 2).sum()),
                "90": int((frame["bin"] == 1).sum()),
            },
            "areas": ordered,
        }


def analyse(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    params: AnalysisParams | None = None,
    *,
    cache: AnalysisCache | None = None,
) -> Analysis:
    """The analysis for ``params`` at the current dataset version: from ``cache`` when it holds it (or an
    older one, superseded for at most ``settings.max_staleness_s``), else a snapshot another worker stored,
    else computed here and stored for the others (:mod:`hotspots.analysis.snapshots`); computed afresh without a
    cache."""
    params = (params or AnalysisParams()).resolved(settings)
    if params.areas:  # the area filter only selects cells to show: share the whole-study-area result
        whole = analyse(engine, settings, areas, replace(params, areas=()), cache=cache)
        return replace(whole, params=params)
    if cache is None:
        return compute(engine, settings, areas, params)

    def computed(version: int, _held: int | None) -> Analysis:
        return compute(engine, settings, areas, params, version)

    from hotspots.analysis import codec as analysis_codec
    from hotspots.analysis.snapshots import SnapshotSlot  # here: snapshots decode into this module's classes
    from hotspots.store.version_watch import CONFIRMED_WITHIN_S

    if shared_store(engine):  # one computation per version for every worker and host on the store
        process = cache.process

        def encoded(version: int) -> bytes:
            if process is not None:  # off this worker's interpreter lock (hotspots.analysis.process)
                return process.compute(engine, areas, params)
            return analysis_codec.encode(compute(engine, settings, areas, params, version))

        computed = partial(SnapshotSlot(engine, areas, params).obtain, compute=encoded)

    def current() -> int:
        # Bounded staleness: the version the app's VersionWatcher confirmed (several times a second), not
        # one more query per request; 0: read it, so a read sees the write before it.
        pushed = cache.versions.newest(CONFIRMED_WITHIN_S) if settings.max_staleness_s > 0 else None
        return dataset_version(engine) if pushed is None else pushed

    return cache.get_or_compute(
        (str(engine.url), areas, params),
        current,
        computed,
        max_staleness_s=settings.max_staleness_s,
    )


def compute(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    params: AnalysisParams,
    version: int | None = None,
    *,
    windows: ReportWindows | None = None,
    lattices: LRU[Lattice] | None = None,
) -> Analysis:
    """Compute without the cache (``params`` must be resolved). The dataset version is read before the
    reports, so an analysis never claims a write its data may lack. A process that computes again and
    again (:mod:`hotspots.analysis.process`) passes what it keeps between computations: ``windows``, the
    reports read (:mod:`hotspots.analysis.windows`), and ``lattices``, which a new report changes only
    when it lands in a cell without reports (building one is half a computation)."""
    assert params.end is not None and params.resolution is not None and params.k is not None
    version = dataset_version(engine) if version is None else version
    start, end = window_bounds(params, settings.timezone)
    last_week = pd.Period(params.end, "W-SUN")
    first_week = last_week - (params.weeks - 1)
    cube_start = datetime.combine(
        first_week.start_time.date(), datetime.min.time(), ZoneInfo(settings.timezone)
    )
    read_from = min(start, cube_start.astimezone(UTC))
    read_at = datetime.now(UTC)
    reports = (windows.read if windows is not None else read_window)(
        engine,
        start=read_from,
        end=end,
        categories=params.categories or None,
        sources=params.sources or None,
        columns=("occurred_at", "category", "cell", "lat", "lon", "weight"),
    )
    if not areas.partnership_ids and not (reports["occurred_at"] >= start).any():
        raise EmptyData(_no_reports(engine, end, settings.timezone))  # else the lattice would be empty
    # the cell containing each point (a stored res-12 cell's parent is not: H3 cells do not nest exactly)
    parents = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), params.resolution)
    lattice = _lattice(areas, params, settings, parents, lattices)
    n = lattice.cells.size
    if n == 0:
        raise StatisticsError("the areas file yields no cells at this resolution")
    idx = lattice.index_of(parents)
    occurred = reports["occurred_at"]
    in_window = ((occurred >= start) & (idx >= 0)).to_numpy()
    weight = reports["weight"].to_numpy()
    win_idx = idx[in_window]
    count = np.bincount(win_idx, minlength=n).astype(np.float64)
    weighted = np.bincount(win_idx, weights=weight[in_window], minlength=n).astype(np.float64)
    age_days = (end - occurred[in_window]).dt.total_seconds().to_numpy() / 86_400.0
    decayed = np.zeros(idx.size)
    decayed[in_window] = weight[in_window] * 0.5 ** (age_days / INTENSITY_HALF_LIFE_DAYS)
    intensity = np.bincount(win_idx, weights=decayed[in_window], minlength=n).astype(np.float64)
    by_category = (
        pd.DataFrame({"i": win_idx, "category": reports["category"].to_numpy()[in_window]})
        .groupby(["i", "category"])
        .size()
        .unstack(fill_value=0)
    )

    permutations = int(params.permutations or 0)
    # Sparse windows (most neighbourhoods empty) get the exact Poisson tail, not the normal approximation.
    gi = GiStar(count, lattice.weights, permutations=permutations, seed=params.seed, p_value="auto")
    # Local Moran has no analytic p: its pseudo p (>= 1/1000 with 999 draws) cannot pass Benjamini-Hochberg
    # over ~10^4 cells, so quadrants are judged at 95 % without FDR, as ArcGIS's Cluster and Outlier default.
    moran = LocalMoran(count, lattice.weights, permutations=permutations, seed=params.seed, fdr=False)

    steps, weeks = iso_week_steps(occurred, tz=settings.timezone, first=first_week, last=last_week)
    cube = weekly_cube(idx, steps, n, len(weeks))
    emerging = EmergingHotspots(cube, lattice.weights)
    change = WeekOverWeek(cube, areas=lattice.area_id) if len(weeks) > 1 else None
    density = kernel_density(
        reports["lat"].to_numpy()[in_window],
        reports["lon"].to_numpy()[in_window],
        lattice.cells,
        weights=weight[in_window],
        bandwidth_m=DEFAULT_BANDWIDTH_M,
        crs=settings.metric_crs or None,
    )
    return Analysis(
        params=params,
        dataset_version=version,
        start=start,
        end=end,
        lattice=lattice,
        areas=areas,
        count=count,
        weighted=weighted,
        intensity=intensity,
        by_category=by_category,
        gi=gi,
        moran=moran,
        emerging=emerging,
        weeks=weeks,
        cube=cube,
        change=change,  # type: ignore[arg-type]
        density=density,
        reports_in_window=int(in_window.sum()),
        computed_at=read_at,
        points=ReportPoints(
            reports["lat"].to_numpy(np.float64)[idx >= 0],
            reports["lon"].to_numpy(np.float64)[idx >= 0],
            in_window[idx >= 0],
            np.where((steps >= 0) & (steps < len(weeks)), steps, -1).astype(np.int64)[idx >= 0],
            decayed[idx >= 0],
        ),
    )


def _lattice(
    areas: Areas,
    params: AnalysisParams,
    settings: Settings,
    parents: h3grid.CellArray,
    lattices: LRU[Lattice] | None,
) -> Lattice:
    """:func:`build_lattice` for these reports' cells, from ``lattices`` when it holds it (keyed by the
    areas' identity: its owner keeps the areas it computes for)."""
    assert params.resolution is not None and params.k is not None
    extent, crs = settings.study_extent_m, settings.metric_crs or None
    if lattices is None:
        return build_lattice(areas, params.resolution, params.k, parents, extent, crs)
    active = hashlib.sha256(np.unique(parents).tobytes()).hexdigest()
    key = f"{id(areas)}|{params.resolution}|{params.k}|{extent}|{crs}|{active}"
    if (lattice := lattices.get(key)) is None:
        lattice = build_lattice(areas, params.resolution, params.k, parents, extent, crs)
        lattices.put(key, lattice)
    return lattice


def _no_reports(engine: Engine, end: datetime, tz: str) -> str:
    """Why a window is empty, in words a user can act on: the window's last day and the data's."""
    from hotspots.store.schema import reports

    with engine.connect() as conn:
        last = conn.execute(sa.select(sa.func.max(reports.c.occurred_at))).scalar_one()
    window_end = (end - timedelta(microseconds=1)).astimezone(ZoneInfo(tz)).date()
    if last is None:
        return f"no reports in the window ending {window_end}: the store holds no reports"
    return (
        f"no reports in the window ending {window_end}; the data end on "
        f"{last.astimezone(ZoneInfo(tz)).date()} (choose an end date within the data)"
    )
