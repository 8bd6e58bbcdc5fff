"""Priority lists: where to act this week, ranked, with the reasons in words and a label people recognise.

The list builder: score every cell (:mod:`~hotspots.ranking.priorities.scoring`), merge cells into places
(:mod:`~hotspots.ranking.priorities.grouping`), rank the places, attach the previous window's counts and the
measures in force, and explain each place (:mod:`~hotspots.ranking.priorities.reasons`). Rendering the list (CSV,
GeoJSON, HTML) is :mod:`maps.priorities`.

Usage (needs a store, so not a doctest)::

    plist = build_priorities(engine, settings, areas, AnalysisParams(window="28d"), area="Vivalla")
    maps.priorities.render(plist, "csv")  # bytes for Excel; also "json", "geojson", "html"
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy.engine import Engine

from hotspots.analysis.cache import AnalysisCache
from hotspots.analysis.compute import Analysis, analyse
from hotspots.analysis.params import AnalysisParams, window_bounds
from hotspots.analysis.query import parse_window
from hotspots.config import Settings, Taxonomy
from hotspots.field.dosage import dosage
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.geo.places import Places, load_places
from hotspots.ranking.priorities.entries import PriorityEntry, PriorityList
from hotspots.ranking.priorities.evidence import above_chance
from hotspots.ranking.priorities.grouping import group_places
from hotspots.ranking.priorities.merging import merge_same_label
from hotspots.ranking.priorities.reasons import reasons_for
from hotspots.ranking.priorities.scoring import ScoreWeights, analysis_scores
from hotspots.stats.kde import to_sweref
from hotspots.store.engine import read_reports
from hotspots.words import OUTSIDE_AREAS, REASONS, Language, emerging_label

#: Which emerging category a merged place shows when its cells differ: the most pressing first.
EMERGING_ORDER = (
    "new_hot", "intensifying_hot", "consecutive_hot", "persistent_hot", "sporadic_hot", "oscillating_hot",
    "diminishing_hot", "historical_hot",
)  # fmt: skip


def window_counts(engine: Engine, analysis: Analysis, start: datetime, end: datetime) -> pd.DataFrame:
    """Reports per (lattice position, category) in [start, end), with the analysis' category/source filter."""
    params = analysis.params
    reports = read_reports(
        engine,
        start=start,
        end=end,
        categories=params.categories or None,
        sources=params.sources or None,
        columns=("category", "lat", "lon"),
    )
    assert params.resolution is not None
    cells = h3grid.latlng_to_cells(reports["lat"].to_numpy(), reports["lon"].to_numpy(), params.resolution)
    idx = analysis.lattice.index_of(cells)
    inside = idx >= 0
    frame = pd.DataFrame({"i": idx[inside], "category": reports["category"].to_numpy()[inside]})
    return frame.groupby(["i", "category"]).size().unstack(fill_value=0)


def previous_window_counts(engine: Engine, analysis: Analysis, tz: str) -> pd.DataFrame:
    """Counts by category in the window of equal length just before the analysis window."""
    params = analysis.params
    assert params.end is not None
    earlier = replace(params, end=params.end - timedelta(days=parse_window(params.window)))
    return window_counts(engine, analysis, *window_bounds(earlier, tz))


# --------------------------------------------------------------------------------------------- ranking


def priority_list(
    analysis: Analysis,
    areas: Areas,
    places: Places,
    *,
    taxonomy: Taxonomy,
    score_weights: ScoreWeights,
    area: str | None = None,
    top: int = 20,
    lang: Language = Language.sv,
    previous: pd.DataFrame | None = None,
    measures: Sequence[Any] = (),
    follow_ups: dict[int, dict[str, Any]] | None = None,
    label_distance_m: float = 150.0,
    scores: npt.NDArray[np.float64] | None = None,
    model: dict[str, Any] | None = None,
) -> PriorityList:
    """Rank the places of ``analysis`` (all areas, or ``area`` by id or name) and explain each.

    ``previous`` (counts by category per lattice position, see :func:`previous_window_counts`) adds the
    previous window's counts; ``measures`` (:class:`hotspots.measures.measure.Measure`) are attached to the places
    their target overlaps, with ``follow_ups[measure.id]`` when given. ``scores`` (per lattice cell) are
    the chosen ranking's (:func:`hotspots.ranking.choice.list_ranking`, described by ``model``); without
    them the priority score ranks.
    """
    if lang not in REASONS:
        raise ValueError(f"no priority lists in {lang!r}; available: {sorted(REASONS)}")
    lattice = analysis.lattice
    n = lattice.cells.size
    days = parse_window(analysis.params.window)
    score = analysis_scores(analysis, taxonomy, score_weights) if scores is None else scores
    place = group_places(lattice.cells, analysis.count, analysis.gi.gi_bin, score)
    member = np.flatnonzero(place >= 0)
    frame = pd.DataFrame({"i": member, "place": place[member], "score": score[member]})
    frame["count"] = analysis.count[member]
    frame["hot"] = analysis.gi.gi_bin[member] > 0
    per_place = frame.groupby("place").agg(
        score=("score", "sum"), reports=("count", "sum"), cells=("i", "size"), hot=("hot", "any")
    )
    lead = frame.loc[frame.groupby("place")["score"].idxmax()].set_index("place")["i"]
    per_place["area_id"] = lattice.area_id[lead.reindex(per_place.index).to_numpy()]
    per_place = per_place[per_place["reports"] > 0]
    listed, evidence = above_chance(
        per_place["reports"].to_numpy(),
        per_place["cells"].to_numpy(),
        per_place["hot"].to_numpy(),
        analysis.count,
    )
    per_place = per_place[listed]

    wanted = [str(areas.get(area)["area_id"])] if area else list(analysis.params.areas)
    if wanted:
        per_place = per_place[per_place["area_id"].isin(wanted)]
    chosen = per_place.sort_values(["score", "reports"], ascending=False, kind="stable").head(top)

    chosen_cells = frame[frame["place"].isin(chosen.index)]
    cells_of = {int(place_id): part["i"].to_numpy() for place_id, part in chosen_cells.groupby("place")}  # type: ignore[arg-type]
    measure_cells = {m.id: m.target_cells(analysis.params.resolution) for m in measures}
    facts = _PlaceFacts(
        analysis=analysis,
        areas=areas,
        by_category=analysis.by_category.reindex(index=range(n), fill_value=0),
        previous=None if previous is None else previous.reindex(index=range(n), fill_value=0),
        follow_ups=follow_ups or {},
        lang=lang,
    )
    entries = []
    for rank, (place_id, row) in enumerate(chosen.iterrows(), start=1):
        idx = cells_of[int(place_id)]  # type: ignore[call-overload]
        entries.append(
            facts.entry(
                rank=rank,
                score=float(row["score"]),
                area_id=row["area_id"],
                idx=idx,
                measures=[m for m in measures if np.isin(measure_cells[m.id], lattice.cells[idx]).any()],
            )
        )
    if entries:
        labels = places.label(
            [e.lat for e in entries], [e.lon for e in entries], near_m=label_distance_m, lang=lang
        )
        for entry, label in zip(entries, labels, strict=True):
            entry.label = str(label)
            entry.reasons = reasons_for(entry, days=days, taxonomy=taxonomy, lang=lang)
    return PriorityList(
        entries=entries,
        start=analysis.start,
        end=analysis.end,
        window_days=days,
        area=areas.name_of(wanted[0]) if len(wanted) == 1 else None,
        lang=lang,
        dataset_version=analysis.dataset_version,
        generated_at=analysis.computed_at,  # "data as of": when the analysis read the reports
        category_labels={t.id: t.label(lang) for t in taxonomy.categories},
        ranking=model,
        evidence=evidence.to_dict(),
        etag=hashlib.sha256(
            json.dumps(
                [analysis.etag, wanted, top, lang, vars(score_weights), [e.measures for e in entries], model],
                default=str,
            ).encode()
        ).hexdigest()[:32],
    )


@dataclass(frozen=True, kw_only=True)
class _PlaceFacts:
    """What every entry of one list is read from: the analysis and the counts by category per lattice
    position (this window and, optionally, the previous one)."""

    analysis: Analysis
    areas: Areas
    by_category: pd.DataFrame
    previous: pd.DataFrame | None
    follow_ups: dict[int, dict[str, Any]]
    lang: Language

    def entry(
        self,
        *,
        rank: int,
        score: float,
        area_id: str | None,
        idx: npt.NDArray[np.int64],
        measures: list[Any],
    ) -> PriorityEntry:
        """The facts of one place (its label and reasons are filled in afterwards, for all entries at once)."""
        cells = self.analysis.lattice.cells[idx]
        lat, lon = h3grid.cells_to_latlng(cells)
        count = self.analysis.count[idx]
        share = count / count.sum() if count.sum() > 0 else np.full(idx.size, 1.0 / idx.size)
        centre_lat, centre_lon = float(lat @ share), float(lon @ share)
        easting, northing = to_sweref([centre_lat], [centre_lon])
        counts = {str(c): int(v) for c, v in self.by_category.iloc[idx].sum().items() if v > 0}
        before = (
            None
            if self.previous is None
            else {str(c): int(v) for c, v in self.previous.iloc[idx].sum().items() if v > 0}
        )
        codes = self.analysis.emerging.category[idx]
        emerging = next((code for code in EMERGING_ORDER if code in set(codes.tolist())), "no_pattern")
        hot_weeks = self.analysis.emerging.hot_weeks[idx][codes == emerging]
        return PriorityEntry(
            rank=rank,
            score=round(score, 3),
            area_id=area_id if isinstance(area_id, str) else None,
            area=self.areas.name_of(area_id)
            if isinstance(area_id, str)
            else OUTSIDE_AREAS[self.lang]["name"],
            label="",
            lat=round(centre_lat, 6),
            lon=round(centre_lon, 6),
            easting=round(float(easting[0]), 1),
            northing=round(float(northing[0]), 1),
            cells=[f"{c:x}" for c in cells.tolist()],
            reports=int(count.sum()),
            counts=counts,
            previous_reports=None if before is None else sum(before.values()),
            previous_counts=before,
            gi_bin=int(self.analysis.gi.gi_bin[idx].max()),
            gi_z=round(float(self.analysis.gi.z[idx].max()), 3),
            emerging=emerging,
            emerging_label=emerging_label(emerging, self.lang),
            hot_weeks=int(hot_weeks.max()) if emerging != "no_pattern" else 0,
            measures=[{**m.to_dict(), "follow_up": self.follow_ups.get(m.id)} for m in measures],
        )


def build_priorities(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    params: AnalysisParams,
    *,
    area: str | None = None,
    top: int = 20,
    lang: Language = Language.sv,
    places: Places | None = None,
    with_follow_up: bool = True,
    cache: AnalysisCache | None = None,
) -> PriorityList:
    """Analyse (through the caller's ``cache``), add the previous window and the measures in force, rank,
    merge places that share a label and add each place's dose of field visits: the one call the CLI and
    the API make."""
    from hotspots.measures.follow_up import follow_up
    from hotspots.measures.records import list_measures
    from hotspots.ranking.choice import list_ranking

    analysis = analyse(engine, settings, areas, params, cache=cache)
    last_day = analysis.params.end
    assert last_day is not None
    first_day = last_day - timedelta(days=parse_window(analysis.params.window) - 1)
    in_force = list_measures(engine, active_between=(first_day, last_day))
    follow_ups = (  # as of the window's last day, so an old list reads as it did then
        {
            m.id: follow_up(engine, m, settings=settings, today=last_day)
            for m in in_force
            if m.start <= last_day
        }
        if with_follow_up
        else {}
    )
    scores, model = list_ranking(engine, settings, analysis.lattice, analysis.end)
    plist = priority_list(
        analysis,
        areas,
        places or load_places(settings),
        taxonomy=settings.taxonomy,
        score_weights=ScoreWeights.from_settings(settings),
        area=area,
        top=top,
        lang=lang,
        previous=previous_window_counts(engine, analysis, settings.timezone),
        measures=in_force,
        follow_ups=follow_ups,
        label_distance_m=settings.place_label_distance_m,
        scores=scores,
        model=model,
    )
    plist = merge_same_label(plist, taxonomy=settings.taxonomy, emerging_order=EMERGING_ORDER)
    for entry, dose in zip(plist, dosage(engine, [e.cells for e in plist], end=plist.end), strict=True):
        entry.dosage = dose
    return plist
