"""Priority lists: where to act this week, ranked, with the reasons in words and a label people recognise.

A *place* is one lattice cell with reports in the window, or a cluster of adjacent significant hot cells
(Gi* significant at 95 % after FDR, z > 0, touching by an H3 edge) merged into one place, so a hotspot that
spans five hexagons is one stop on a patrol, not five rows.

Score (per cell, then summed over a place's cells)::

    s_i     = I_i * sev_i                                   severity-weighted recent intensity
    base_i  = s_i + w_n * mean_{j in N(i), j != i} s_j     plus the k-ring neighbours' mean
    score_i = base_i * (1 + w_g * max(Gi_Bin_i, 0) / 3     significant hot spot (99 % -> full bonus)
                          + w_e * E_i                       emerging: 1 new/consecutive/intensifying hot,
                                                            0.5 persistent/sporadic/oscillating hot, else 0
                          + w_r * 0.5 ** weeks_i)           recency: weeks since the cell's last report

``I_i`` is the time-decayed intensity of the window (each report's weight halves every 14 days),
``sev_i`` the mean category severity (data/taxonomy.toml) of the cell's reports in the window, ``N(i)`` the
Gi* neighbourhood (k-ring). The score is in "recent observed-dealing report equivalents": a place with
score 10 has about as much recent weighted activity as ten fresh observed-dealing reports, with bonuses.
The weights ``w_n, w_g, w_e, w_r`` are settings (``HOTSPOTS_SCORE_WEIGHT_*``); their defaults are the
ones ``hotspots backtest --tune`` picks on the demo data (see :mod:`hotspots.backtest`): w_n = 4 and
w_g = w_e = w_r = 0. There the significance, emerging and recency bonuses changed the mean PEI by less
than 0.001, so by default they do not reorder the list; they still appear in every entry's reasons, and
a partnership can raise them (and re-run the backtest on its own data to see what that costs).

>>> # plist = build_priorities(engine, settings, areas, AnalysisParams(window="28d"), area="Vivalla")
>>> # render(plist, "csv")  # bytes for Excel; also "json", "geojson", "html"
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
import shapely
from sqlalchemy.engine import Engine

from hotspots import csvout, h3grid
from hotspots.analysis import Analysis, AnalysisParams, analyse, emerging_label, parse_window, window_bounds
from hotspots.areas import Areas
from hotspots.config import Settings, Taxonomy
from hotspots.places import Places, load_places
from hotspots.stats.emerging import trailing_run
from hotspots.stats.kde import to_sweref
from hotspots.store import read_reports

FloatArray = npt.NDArray[np.float64]
#: What :func:`render` produces (the API can offer exactly these).
FORMATS: tuple[str, ...] = ("json", "csv", "geojson", "html")

#: Emerging-hotspot categories that raise a place's priority, and by how much (E_i in the score).
EMERGING_BONUS: dict[str, float] = {
    "new_hot": 1.0,
    "consecutive_hot": 1.0,
    "intensifying_hot": 1.0,
    "persistent_hot": 0.5,
    "sporadic_hot": 0.5,
    "oscillating_hot": 0.5,
}
#: Which emerging category a merged place shows when its cells differ: the most pressing first.
EMERGING_ORDER = (
    "new_hot", "intensifying_hot", "consecutive_hot", "persistent_hot", "sporadic_hot", "oscillating_hot",
    "diminishing_hot", "historical_hot",
)  # fmt: skip
CONFIDENCE = {3: 99, 2: 95, 1: 90}
#: Significant hot cells (Gi_Bin >= this, i.e. 95 % after FDR) are merged with adjacent ones into a place.
CLUSTER_MIN_BIN = 2


@dataclass(frozen=True)
class ScoreWeights:
    """The weights of the priority score (module docstring); the defaults live in the settings."""

    neighbours: float
    significance: float
    emerging: float
    recency: float

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoreWeights:
        return cls(
            neighbours=settings.score_weight_neighbours,
            significance=settings.score_weight_significance,
            emerging=settings.score_weight_emerging,
            recency=settings.score_weight_recency,
        )


def mean_severity(by_category: pd.DataFrame, n_cells: int, taxonomy: Taxonomy) -> FloatArray:
    """Mean category severity of each cell's reports (rows = lattice positions); 0 where there are none."""
    severity = {t.id: t.severity for t in taxonomy.categories}
    counts = by_category.reindex(index=range(n_cells), fill_value=0)
    weights = np.array([severity.get(str(c), 1.0) for c in counts.columns], dtype=np.float64)
    matrix = counts.to_numpy(dtype=np.float64)
    total = matrix.sum(axis=1)
    return np.divide(matrix @ weights, total, out=np.zeros(n_cells), where=total > 0)


class ScoreTerms(NamedTuple):
    """The weight-free terms of the score per cell, so many weightings can be tried cheaply (backtest)."""

    own: FloatArray  # s_i
    neighbours: FloatArray  # mean of s_j over the k-ring without i
    significance: FloatArray  # max(Gi_Bin, 0) / 3
    emerging: FloatArray  # E_i
    recency: FloatArray  # 0.5 ** weeks since the last report

    def combine(self, weights: ScoreWeights) -> FloatArray:
        """The score for one set of weights (module docstring)."""
        factor = (
            1.0
            + weights.significance * self.significance
            + weights.emerging * self.emerging
            + weights.recency * self.recency
        )
        return (self.own + weights.neighbours * self.neighbours) * factor


def score_terms(
    intensity: npt.ArrayLike,
    severity: FloatArray,
    weights: sp.csr_matrix,
    gi_bin: npt.NDArray[np.integer],
    emerging: npt.ArrayLike,
    weeks_since_report: npt.NDArray[np.floating],
) -> ScoreTerms:
    """The score's terms for every lattice cell, vectorised.

    ``weights`` is the k-ring matrix with self-weights (``Lattice.weights``); ``weeks_since_report`` is
    0 for a report in the current week and ``inf`` for a cell without reports.
    """
    own = np.asarray(intensity, dtype=np.float64) * severity
    neighbours = np.asarray(weights.sum(axis=1)).ravel() - 1.0
    lag = np.asarray(weights @ own).ravel() - own
    codes, inverse = np.unique(np.asarray(emerging, dtype=str), return_inverse=True)
    bonus = np.array([EMERGING_BONUS.get(str(code), 0.0) for code in codes])[inverse]
    return ScoreTerms(
        own=own,
        neighbours=np.divide(lag, neighbours, out=np.zeros_like(own), where=neighbours > 0),
        significance=np.clip(gi_bin, 0, 3).astype(np.float64) / 3.0,
        emerging=bonus.astype(np.float64),
        recency=np.exp2(-np.asarray(weeks_since_report, dtype=np.float64)),
    )


def weeks_since_report(cube: FloatArray) -> FloatArray:
    """Per cell: whole weeks since the last week with a report in a weekly cube (inf for none)."""
    quiet = trailing_run(cube == 0).astype(np.float64)
    return np.where(quiet >= cube.shape[1], np.inf, quiet)


def analysis_scores(analysis: Analysis, taxonomy: Taxonomy, score_weights: ScoreWeights) -> FloatArray:
    """The priority score of every lattice cell of an analysis."""
    n = analysis.lattice.cells.size
    return score_terms(
        analysis.intensity,
        mean_severity(analysis.by_category, n, taxonomy),
        analysis.lattice.weights,
        analysis.gi.gi_bin,
        analysis.emerging.category,
        weeks_since_report(analysis.cube),
    ).combine(score_weights)


def group_places(
    cells: h3grid.CellArray, count: FloatArray, gi_bin: npt.NDArray[np.integer], score: FloatArray
) -> npt.NDArray[np.int64]:
    """Place id per lattice position (-1: not a place).

    Significant hot cells are joined with adjacent significant hot cells, but a contiguous hot region is
    split at its score peaks: each hot cell climbs to its highest-scoring hot neighbour until it reaches a
    local peak, and the cells that reach the same peak are one place. (In a dense partnership area a whole
    neighbourhood can be one contiguous Gi* region; a field team needs the two or three spots in it.)
    Every other cell with reports is a place of its own.
    """
    place = np.full(cells.size, -1, dtype=np.int64)
    hot = np.flatnonzero(gi_bin >= CLUSTER_MIN_BIN)
    if hot.size:
        adjacency = h3grid.kring_weights(cells[hot], 1, self_weight=True)  # cells[hot] stays sorted
        # +1 keeps every stored entry above the implicit zeros, so argmax picks a real neighbour (or self)
        uphill = np.asarray(adjacency.multiply(score[hot] + 1.0).tocsr().argmax(axis=1)).ravel()
        while True:  # pointer jumping: O(log path length) rounds
            jumped = uphill[uphill]
            if np.array_equal(jumped, uphill):
                break
            uphill = jumped
        _, place[hot] = np.unique(uphill, return_inverse=True)
    single = np.flatnonzero((count > 0) & (place < 0))
    place[single] = place.max() + 1 + np.arange(single.size)
    return place


def window_counts(engine: Engine, analysis: Analysis, start: datetime, end: datetime) -> pd.DataFrame:
    """Reports per (lattice position, category) in [start, end), with the analysis' category/source filter."""
    params = analysis.params
    reports = read_reports(
        engine,
        start=start,
        end=end,
        categories=params.categories or None,
        sources=params.sources or None,
        columns=("category", "cell"),
    )
    assert params.resolution is not None
    idx = analysis.lattice.index_of(h3grid.cell_to_parent(reports["cell"].to_numpy(), params.resolution))
    inside = idx >= 0
    frame = pd.DataFrame({"i": idx[inside], "category": reports["category"].to_numpy()[inside]})
    return frame.groupby(["i", "category"]).size().unstack(fill_value=0)


def previous_window_counts(engine: Engine, analysis: Analysis, tz: str) -> pd.DataFrame:
    """Counts by category in the window of equal length just before the analysis window."""
    params = analysis.params
    assert params.end is not None
    earlier = replace(params, end=params.end - timedelta(days=parse_window(params.window)))
    return window_counts(engine, analysis, *window_bounds(earlier, tz))


@dataclass
class PriorityEntry:
    """One ranked place: where it is, how hot, and why (``reasons``, in the list's language)."""

    rank: int
    score: float
    area_id: str | None
    area: str
    label: str
    lat: float
    lon: float
    easting: float
    northing: float
    cells: list[str]
    reports: int
    counts: dict[str, int]
    previous_reports: int | None
    previous_counts: dict[str, int] | None
    gi_bin: int
    gi_z: float
    emerging: str
    emerging_label: str
    hot_weeks: int
    measures: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def geo_uri(self) -> str:
        """RFC 5870 geo URI: opens the phone's map app at the place."""
        return f"geo:{self.lat:.6f},{self.lon:.6f}"

    @property
    def osm_url(self) -> str:
        return f"https://www.openstreetmap.org/?mlat={self.lat:.6f}&mlon={self.lon:.6f}#map=18/{self.lat:.6f}/{self.lon:.6f}"

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reason": self.reason, "geo_uri": self.geo_uri, "osm_url": self.osm_url}


@dataclass
class PriorityList:
    """A ranked list for one window (and area), ready to render."""

    entries: list[PriorityEntry]
    start: datetime
    end: datetime
    window_days: int
    area: str | None
    lang: str
    dataset_version: int
    generated_at: datetime
    #: Category id -> label in ``lang``, in taxonomy order (the CSV and HTML columns).
    category_labels: dict[str, str] = field(default_factory=dict)
    #: Changes when the data, the parameters or the measures shown change (measures do not change the
    #: dataset version, so the analysis' ETag alone would go stale when a measure is added or ended).
    etag: str = ""

    def __iter__(self) -> Iterator[PriorityEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).date()

    def to_dict(self) -> dict[str, Any]:
        return {
            "window": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": self.window_days,
            },
            "area": self.area,
            "lang": self.lang,
            "dataset_version": self.dataset_version,
            "generated_at": self.generated_at.isoformat(),
            "entries": [e.to_dict() for e in self.entries],
        }


# ----------------------------------------------------------------------------------------------- reasons

_PLURALS: dict[str, dict[str, tuple[str, str]]] = {
    "sv": {"report": ("rapport", "rapporter"), "week": ("vecka", "veckor")},
    "en": {"report": ("report", "reports"), "week": ("week", "weeks")},
}
_WORDS: dict[str, dict[str, str]] = {
    "sv": {
        "recent": "{n} {reports} senaste {days} dagarna",
        "previous": "föregående {days} dagar: {n}",
        "hotspot": "signifikant hotspot {conf} %",
        "measure": "pågående insats: {type} ({org}) sedan {start}",
        "ended": "insats: {type} ({org}) {start} – {end}",
        "wdq": "WDQ {wdq}: {reading}",
    },
    "en": {
        "recent": "{n} {reports} in the last {days} days",
        "previous": "previous {days} days: {n}",
        "hotspot": "significant hot spot {conf} %",
        "measure": "ongoing measure: {type} ({org}) since {start}",
        "ended": "measure: {type} ({org}) {start} – {end}",
        "wdq": "WDQ {wdq}: {reading}",
    },
}


def number(value: float, lang: str, digits: int = 2) -> str:
    """A decimal as the language writes it (Swedish: decimal comma, true minus sign)."""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",").replace("-", "−") if lang == "sv" else text


def reasons_for(entry: PriorityEntry, *, days: int, taxonomy: Taxonomy, lang: str) -> list[str]:
    """The entry's reasons in words, each derived from the entry's own numbers."""
    words = _WORDS[lang]

    def plural(key: str, n: int) -> str:
        return _PLURALS[lang][key][0 if n == 1 else 1]

    recent = words["recent"].format(n=entry.reports, reports=plural("report", entry.reports), days=days)
    if entry.counts:
        severity = {t.id: t.severity for t in taxonomy.categories}
        top = max(entry.counts, key=lambda c: (entry.counts[c], severity.get(c, 0.0), c))
        label = next((t.label(lang) for t in taxonomy.categories if t.id == top), top)
        recent += f" ({entry.counts[top]} {label})"
    reasons = [recent]
    if entry.previous_reports is not None:
        reasons.append(words["previous"].format(days=days, n=entry.previous_reports))
    if entry.gi_bin > 0:
        reasons.append(words["hotspot"].format(conf=CONFIDENCE[entry.gi_bin]))
    if entry.emerging.endswith("_hot"):
        text = entry.emerging_label
        if entry.hot_weeks:
            text += f" {entry.hot_weeks} {plural('week', entry.hot_weeks)}"
        reasons.append(text)
    for m in entry.measures:
        key = "measure" if m.get("end") is None else "ended"
        text = words[key].format(type=m["type"], org=m["organisation"], start=m["start"], end=m.get("end"))
        follow = m.get("follow_up") or {}
        if follow.get("wdq") is not None:
            text += "; " + words["wdq"].format(
                wdq=number(follow["wdq"], lang), reading=follow["reading"][lang]
            )
        reasons.append(text)
    return reasons


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
    lang: str = "sv",
    previous: pd.DataFrame | None = None,
    measures: Sequence[Any] = (),
    follow_ups: dict[int, dict[str, Any]] | None = None,
    label_distance_m: float = 150.0,
) -> PriorityList:
    """Rank the places of ``analysis`` (all areas, or ``area`` by id or name) and explain each.

    ``previous`` (counts by category per lattice position, see :func:`previous_window_counts`) adds the
    previous window's counts; ``measures`` (:class:`hotspots.measures.Measure`) are attached to the places
    their target overlaps, with ``follow_ups[measure.id]`` when given.
    """
    if lang not in _WORDS:
        raise ValueError(f"no priority lists in {lang!r}; available: {sorted(_WORDS)}")
    lattice = analysis.lattice
    n = lattice.cells.size
    days = parse_window(analysis.params.window)
    score = analysis_scores(analysis, taxonomy, score_weights)
    place = group_places(lattice.cells, analysis.count, analysis.gi.gi_bin, score)
    member = np.flatnonzero(place >= 0)
    frame = pd.DataFrame({"i": member, "place": place[member], "score": score[member]})
    frame["count"] = analysis.count[member]
    per_place = frame.groupby("place").agg(score=("score", "sum"), reports=("count", "sum"))
    lead = frame.loc[frame.groupby("place")["score"].idxmax()].set_index("place")["i"]
    per_place["area_id"] = lattice.area_id[lead.reindex(per_place.index).to_numpy()]
    per_place = per_place[per_place["reports"] > 0]

    wanted = [str(areas.get(area)["area_id"])] if area else list(analysis.params.areas)
    if wanted:
        per_place = per_place[per_place["area_id"].isin(wanted)]
    chosen = per_place.sort_values(["score", "reports"], ascending=False, kind="stable").head(top)

    by_category = analysis.by_category.reindex(index=range(n), fill_value=0)
    previous_counts = None if previous is None else previous.reindex(index=range(n), fill_value=0)
    chosen_cells = frame[frame["place"].isin(chosen.index)]
    cells_of = {int(place_id): part["i"].to_numpy() for place_id, part in chosen_cells.groupby("place")}  # type: ignore[arg-type]
    measure_cells = {m.id: m.target_cells(analysis.params.resolution) for m in measures}
    entries = []
    for rank, (place_id, row) in enumerate(chosen.iterrows(), start=1):
        idx = cells_of[int(place_id)]  # type: ignore[call-overload]
        entries.append(
            _entry(
                analysis,
                rank,
                float(row["score"]),
                row["area_id"],
                idx,
                areas,
                by_category,
                previous_counts,
                [m for m in measures if np.isin(measure_cells[m.id], lattice.cells[idx]).any()],
                follow_ups or {},
                lang,
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
        generated_at=datetime.now(analysis.end.tzinfo),
        category_labels={t.id: t.label(lang) for t in taxonomy.categories},
        etag=hashlib.sha256(
            json.dumps(
                [analysis.etag, wanted, top, lang, vars(score_weights), [e.measures for e in entries]],
                default=str,
            ).encode()
        ).hexdigest()[:32],
    )


def _entry(
    analysis: Analysis,
    rank: int,
    score: float,
    area_id: str | None,
    idx: npt.NDArray[np.int64],
    areas: Areas,
    by_category: pd.DataFrame,
    previous: pd.DataFrame | None,
    measures: list[Any],
    follow_ups: dict[int, dict[str, Any]],
    lang: str,
) -> PriorityEntry:
    """The facts of one place (its label and reasons are filled in afterwards, for all entries at once)."""
    cells = analysis.lattice.cells[idx]
    lat, lon = h3grid.cells_to_latlng(cells)
    count = analysis.count[idx]
    share = count / count.sum() if count.sum() > 0 else np.full(idx.size, 1.0 / idx.size)
    centre_lat, centre_lon = float(lat @ share), float(lon @ share)
    easting, northing = to_sweref([centre_lat], [centre_lon])
    counts = {str(c): int(v) for c, v in by_category.iloc[idx].sum().items() if v > 0}
    before = (
        None if previous is None else {str(c): int(v) for c, v in previous.iloc[idx].sum().items() if v > 0}
    )
    codes = analysis.emerging.category[idx]
    emerging = next((code for code in EMERGING_ORDER if code in set(codes.tolist())), "no_pattern")
    hot_weeks = analysis.emerging.hot_weeks[idx][codes == emerging]
    return PriorityEntry(
        rank=rank,
        score=round(score, 3),
        area_id=area_id if isinstance(area_id, str) else None,
        area=areas.name_of(area_id)
        if isinstance(area_id, str)
        else ("utanför områden" if lang == "sv" else "outside areas"),
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
        gi_bin=int(analysis.gi.gi_bin[idx].max()),
        gi_z=round(float(analysis.gi.z[idx].max()), 3),
        emerging=emerging,
        emerging_label=emerging_label(emerging, lang),
        hot_weeks=int(hot_weeks.max()) if emerging != "no_pattern" else 0,
        measures=[{**m.to_dict(), "follow_up": follow_ups.get(m.id)} for m in measures],
    )


def build_priorities(
    engine: Engine,
    settings: Settings,
    areas: Areas,
    params: AnalysisParams,
    *,
    area: str | None = None,
    top: int = 20,
    lang: str = "sv",
    places: Places | None = None,
    with_follow_up: bool = True,
) -> PriorityList:
    """Analyse (cached), add the previous window and the measures in force, and rank: the one call the CLI
    and the API make."""
    from hotspots.measures import follow_up, list_measures

    analysis = analyse(engine, settings, areas, params)
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
    return priority_list(
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
    )


# ---------------------------------------------------------------------------------------------- output


def _flat_rows(plist: PriorityList) -> pd.DataFrame:
    """One row per entry with the columns field teams read (CSV)."""
    sv = plist.lang == "sv"
    rows = []
    for e in plist:
        row: dict[str, Any] = {
            "rang" if sv else "rank": e.rank,
            "poäng" if sv else "score": e.score,
            "område" if sv else "area": e.area,
            "plats" if sv else "place": e.label,
            "lat": e.lat,
            "lon": e.lon,
            "sweref99tm_e": e.easting,
            "sweref99tm_n": e.northing,
            "rapporter" if sv else "reports": e.reports,
            "föregående" if sv else "previous": e.previous_reports,
            "Gi_Bin": e.gi_bin,
            "mönster" if sv else "pattern": e.emerging_label,
            "skäl" if sv else "reasons": e.reason,
        }
        for category, label in plist.category_labels.items():
            row[label] = e.counts.get(category, 0)
        row["karta" if sv else "map"] = e.osm_url
        row["geo"] = e.geo_uri
        row["celler" if sv else "cells"] = " ".join(e.cells)
        rows.append(row)
    return pd.DataFrame(rows)


def _geojson(plist: PriorityList) -> dict[str, Any]:
    """RFC 7946 FeatureCollection: each place's hexagons merged into one (multi)polygon, CCW exteriors."""
    features = []
    for e in plist:
        shape = shapely.union_all(h3grid.cells_to_polygons(h3grid.as_cells([int(c, 16) for c in e.cells])))
        # orient last: the precision reducer may flip rings
        shape = shapely.orient_polygons(shapely.set_precision(shape, 1e-6))
        properties = {k: v for k, v in e.to_dict().items() if k != "cells"}
        properties["cells"] = e.cells
        features.append(
            {"type": "Feature", "geometry": json.loads(shapely.to_geojson(shape)), "properties": properties}
        )
    meta = {k: v for k, v in plist.to_dict().items() if k != "entries"}
    return {"type": "FeatureCollection", "features": features, "metadata": meta}


def render(plist: PriorityList, fmt: str, *, decimal_comma: bool | None = None) -> bytes:
    """The list as JSON, GeoJSON, CSV (Excel, ``;``, BOM) or a phone-friendly HTML page.

    ``decimal_comma`` (CSV only) defaults to the list's language being Swedish.
    """
    if fmt == "json":
        return json.dumps(plist.to_dict(), ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "geojson":
        return json.dumps(_geojson(plist), ensure_ascii=False).encode("utf-8")
    if fmt == "csv":
        comma = plist.lang == "sv" if decimal_comma is None else decimal_comma
        meta = {"fönster" if plist.lang == "sv" else "window": f"{plist.start:%Y-%m-%d} – {plist.last_day}"}
        return csvout.to_csv(_flat_rows(plist), decimal_comma=comma, preamble=meta)
    if fmt == "html":
        return _html(plist).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _html(plist: PriorityList) -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("hotspots", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    return env.get_template("priorities.html.j2").render(plist=plist, sv=plist.lang == "sv")
