"""Synthetic demo reports with planted hotspots, so every statistic can be shown and checked end to end.

The output is in the import format, and a truth table says where the signal was planted: hotspots at
real places of data/places.csv (persistent, emerging, fading, summer-only, and one that moves ~450 m
after a measure) on top of background noise over the urban RegSO areas, with an evening/weekend rhythm,
a summer peak, reporting delays and source x category mixes of the kind EST sees.

>>> from datetime import date
>>> reports, truth = generate(weeks=4, seed=1, end=date(2026, 3, 15))
>>> list(reports.columns) == list(REPORT_COLUMNS)
True

Same (weeks, seed, end) -> the same rows, byte for byte; ``end`` defaults to yesterday (Europe/Stockholm),
so pass it to reproduce a file. Every timestamp falls on or before the ``end`` day.

(Over 400 lines: the scenarios, the background and the source mix draw from one random stream in a fixed
order, which is what makes a file reproducible byte for byte; the calendar helpers are in ``demo_time``.)
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import h3
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from pyproj import Transformer
from sqlalchemy.engine import Engine

from hotspots.config import Settings, Taxonomy, get_settings
from hotspots.demo.calendar import (
    HOUR_WEIGHT,
    Calendar,
    activity_profile,
    calendar,
    iso_local,
    last_complete_day,
    measure_week_index,
)
from hotspots.errors import ConfigError
from hotspots.geo import h3grid
from hotspots.geo.areas import SWEREF99TM, load_areas
from hotspots.measures.measure import Measure
from hotspots.measures.records import list_measures, record_measure

REPORT_COLUMNS = (
    "source",
    "source_id",
    "occurred_at",
    "reported_at",
    "category",
    "lat",
    "lon",
    "weight",
    "note",
)
TRUTH_COLUMNS = (
    "hotspot_id", "place", "area_id", "lat", "lon", "sigma_m", "pattern", "first_week", "last_week",
    "peak_per_week", "active_weeks", "n_reports", "measure_type", "measure_week", "cells_res10",
)  # fmt: skip
TRUTH_RESOLUTION = 10


class Planted(NamedTuple):
    """One planted hotspot: a Gaussian cluster around a named place with a weekly activity pattern."""

    hotspot_id: str
    place: str
    pattern: str
    peak_per_week: float
    sigma_m: float


#: Patterns: persistent (all weeks), emerging (starts ~10 weeks before the end and grows), fading (dies out
#: in the middle third), seasonal (May to September only), moved_from / moved_to (the pair around MEASURE).
PLANTED = (
    Planted("H01", "Vivalla centrum", "persistent", 60, 60),
    Planted("H02", "Baronbackarnas torg", "persistent", 40, 50),
    Planted("H03", "Brickebackens centrum", "persistent", 45, 60),
    Planted("H04", "Varberga centrum", "fading", 50, 70),
    Planted("H05", "Oxhagens centrum", "emerging", 45, 50),
    Planted("H06", "Järntorget", "persistent", 50, 60),
    Planted("H07", "Örebro resecentrum (bussterminalen)", "emerging", 40, 60),
    Planted("H08", "Stadsparken", "seasonal", 45, 80),
    Planted("H09", "Stortorget", "moved_from", 50, 50),
    Planted("H10", "Oskarstorget", "moved_to", 45, 50),
)
MEASURE_TYPE = "kamerabevakning"
MEASURE_ORGANISATION = "Polisen"
MEASURE_RADIUS_M = 150.0


class Density(StrEnum):
    """How many reports the demo makes. ``sparse`` (the default) is what real data look like: all drug
    offences reported in Örebro municipality averaged ~160 a month (2006-2019), so a few thousand reports
    a year from every source, and planted hot spots of a few to a few dozen reports a month. ``dense``
    (~55,000 a year) is for load tests and benchmarks."""

    SPARSE = "sparse"
    DENSE = "dense"


#: Background reports per week (before season and weekday factors) over the urban areas, and the factor
#: on each planted hotspot's ``peak_per_week`` (given for the dense demo).
BACKGROUND_PER_WEEK = {Density.DENSE: 760.0, Density.SPARSE: 40.0}
PEAK_FACTOR = {Density.DENSE: 1.0, Density.SPARSE: 0.08}
#: Areas larger than this are countryside (the six rural RegSO are 100-400 km²); no background there.
URBAN_MAX_KM2 = 20.0
#: Relative share of background per urban area: partnership areas and the city centre see more reports.
BUSY_AREA_FACTOR = 4.0


SOURCES = (
    "police", "municipal_security", "field_group", "social_services",
    "housing_company", "public_transport", "citizen_tip",
)  # fmt: skip
CATEGORIES = (
    "observed_dealing", "suspected_dealing", "public_use", "paraphernalia", "seizure", "arrest", "loitering",
)  # fmt: skip
SOURCE_ID_PREFIX = ("P", "KS", "FG", "SOC", "BB", "KT", "MT")
#: Who reports at a hotspot and who reports the background (rows: SOURCES order).
SOURCE_SHARE_HOTSPOT = np.array([0.35, 0.15, 0.12, 0.03, 0.10, 0.08, 0.17])
SOURCE_SHARE_BACKGROUND = np.array([0.20, 0.10, 0.08, 0.05, 0.17, 0.10, 0.30])
#: What each source reports (rows: SOURCES, columns: CATEGORIES). Only the police seize and arrest.
CATEGORY_GIVEN_SOURCE = np.array(
    [
        [0.35, 0.05, 0.10, 0.02, 0.22, 0.22, 0.04],
        [0.25, 0.15, 0.20, 0.10, 0.00, 0.00, 0.30],
        [0.20, 0.20, 0.25, 0.10, 0.00, 0.00, 0.25],
        [0.05, 0.30, 0.40, 0.10, 0.00, 0.00, 0.15],
        [0.05, 0.15, 0.10, 0.35, 0.00, 0.00, 0.35],
        [0.10, 0.15, 0.20, 0.20, 0.00, 0.00, 0.35],
        [0.15, 0.60, 0.15, 0.05, 0.00, 0.00, 0.05],
    ]
)
#: Median delay from event to report, minutes (log-normal, sigma REPORT_DELAY_SIGMA).
REPORT_DELAY_MEDIAN_MIN = np.array([30, 60, 240, 2880, 1440, 120, 360], dtype=float)
REPORT_DELAY_SIGMA = 1.0
#: Share of citizen tips given half weight (vague, unconfirmed).
LOW_WEIGHT_TIP_SHARE = 0.4


class DemoFiles(NamedTuple):
    """What ``write`` produced."""

    reports: Path
    truth: Path
    truth_json: Path
    rows: int
    first: str
    last: str
    hotspots: int


def _check_taxonomy(taxonomy: Taxonomy) -> None:
    """The demo mixes name fixed ids; fail clearly if the configured taxonomy lacks one."""
    missing = (set(SOURCES) - {t.id for t in taxonomy.sources}) | (
        set(CATEGORIES) - {t.id for t in taxonomy.categories}
    )
    if missing:
        raise ConfigError(f"demo data needs taxonomy ids that are not configured: {sorted(missing)}")


def _categorical(
    rng: np.random.Generator, probabilities: npt.NDArray[np.float64], rows: npt.NDArray[np.int64]
) -> npt.NDArray:
    """One draw per element from ``probabilities[rows[i]]`` (inverse CDF on each row, vectorised)."""
    cdf = np.cumsum(probabilities / probabilities.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(rows.size)
    return np.minimum((u[:, None] >= cdf[rows]).sum(axis=1), probabilities.shape[1] - 1)


def _background_points(
    rng: np.random.Generator, urban: pd.DataFrame, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """n background points (metric x, y) and the urban area each lies in.

    Each point picks an area (partnership areas and the city centre ``BUSY_AREA_FACTOR`` times as
    often as the others), then a uniform position inside it: rejection sampling in the area's
    bounding box, one vectorised batch per area.
    """
    busy = (urban["kind"] == "partnership") | (urban["name"] == "Örebro city")
    share = np.where(busy, BUSY_AREA_FACTOR, 1.0)
    area_of_point = rng.choice(len(urban), size=n, p=share / share.sum())
    x, y = np.empty(n), np.empty(n)
    for i, polygon in enumerate(urban.geometry.to_numpy()):
        rows = np.flatnonzero(area_of_point == i)
        minx, miny, maxx, maxy = polygon.bounds
        fill = polygon.area / ((maxx - minx) * (maxy - miny))
        got_x, got_y = np.empty(0), np.empty(0)
        while got_x.size < rows.size:
            m = int((rows.size - got_x.size) / fill * 1.2) + 16
            cand_x, cand_y = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
            inside = shapely.contains_xy(polygon, cand_x, cand_y)
            got_x, got_y = np.concatenate([got_x, cand_x[inside]]), np.concatenate([got_y, cand_y[inside]])
        x[rows], y[rows] = got_x[: rows.size], got_y[: rows.size]
    return x, y, area_of_point


def generate(
    weeks: int = 104,
    seed: int = 1,
    end: date | None = None,
    *,
    density: Density = Density.SPARSE,
    settings: Settings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Demo reports (import format, ``REPORT_COLUMNS``) and the planted truth (``TRUTH_COLUMNS``).

    Counts are Poisson per (hotspot or background) x day with mean peak x weekly profile x season x
    weekday; hours follow ``HOUR_WEIGHT``. Reports whose reporting delay would fall after ``end`` are
    not yet reported and so are left out, as they would be in a real export.
    """
    if weeks < 2:
        raise ValueError("weeks must be at least 2")
    settings = settings or get_settings()
    _check_taxonomy(settings.taxonomy)
    tz = ZoneInfo(settings.timezone)
    end = end or last_complete_day(settings)
    rng = np.random.default_rng(seed)
    cal = calendar(weeks, end)

    places = pd.read_csv(settings.places_file, encoding="utf-8").set_index("name")
    unknown = [h.place for h in PLANTED if h.place not in places.index]
    if unknown:
        raise ConfigError(f"places file {settings.places_file} lacks planted places {unknown}")
    frame = load_areas(settings).frame
    metric = frame.to_crs(SWEREF99TM)
    urban = metric[metric.area <= URBAN_MAX_KM2 * 1e6]
    to_metric = Transformer.from_crs("EPSG:4326", SWEREF99TM, always_xy=True)
    to_wgs84 = Transformer.from_crs(SWEREF99TM, "EPSG:4326", always_xy=True)

    # Expected reports per stream (planted hotspots, then background) and day.
    hotspot_places = places.loc[[h.place for h in PLANTED]]
    profiles = np.array([activity_profile(h.pattern, weeks, cal.week_mondays) for h in PLANTED])
    peaks = np.array([h.peak_per_week for h in PLANTED]) * PEAK_FACTOR[density]
    weekly = np.vstack([profiles * peaks[:, None], np.full((1, weeks), BACKGROUND_PER_WEEK[density])])
    counts = rng.poisson(weekly[:, cal.week] * cal.intensity / 7)
    stream, day = np.nonzero(counts)
    stream, day = np.repeat(stream, counts[stream, day]), np.repeat(day, counts[stream, day])
    n = stream.size
    is_background = stream == len(PLANTED)

    # Where: Gaussian around each hotspot's place; uniform inside a weighted urban area for the background.
    cx, cy = to_metric.transform(hotspot_places["lon"].to_numpy(), hotspot_places["lat"].to_numpy())
    sigma = np.array([h.sigma_m for h in PLANTED])
    x, y = np.empty(n), np.empty(n)
    hot = ~is_background
    x[hot] = cx[stream[hot]] + rng.normal(0, 1, hot.sum()) * sigma[stream[hot]]
    y[hot] = cy[stream[hot]] + rng.normal(0, 1, hot.sum()) * sigma[stream[hot]]
    x[is_background], y[is_background], area_of_row = _background_points(rng, urban, int(is_background.sum()))
    lon, lat = to_wgs84.transform(x, y)

    # When: local day + hour (HOUR_WEIGHT) + minute; report delay by source; unreported (after end) dropped.
    hour = rng.choice(24, size=n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    minute = rng.integers(0, 60, size=n)
    local = cal.days[day] + pd.to_timedelta(hour * 60 + minute, unit="min")
    occurred = pd.Series(local).dt.tz_localize(
        tz, ambiguous=np.zeros(n, dtype=bool), nonexistent="shift_forward"
    )
    source = np.where(
        is_background,
        rng.choice(len(SOURCES), size=n, p=SOURCE_SHARE_BACKGROUND),
        rng.choice(len(SOURCES), size=n, p=SOURCE_SHARE_HOTSPOT),
    )
    category = _categorical(rng, CATEGORY_GIVEN_SOURCE, source)
    delay_min = np.maximum(
        1, np.round(REPORT_DELAY_MEDIAN_MIN[source] * np.exp(rng.normal(0, REPORT_DELAY_SIGMA, n)))
    )
    reported = occurred + pd.to_timedelta(delay_min, unit="min")
    limit = pd.Timestamp(end + timedelta(days=1), tz=tz)
    keep = (reported < limit).to_numpy()
    weight = np.where(
        (source == SOURCES.index("citizen_tip")) & (rng.random(n) < LOW_WEIGHT_TIP_SHARE), 0.5, 1.0
    )

    area_name = np.empty(n, dtype=object)
    area_name[is_background] = urban["name"].to_numpy()[area_of_row]
    area_name[hot] = hotspot_places.index.to_numpy()[stream[hot]]
    where = np.where(is_background, " i ", " nära ")
    category_sv = np.array([settings.taxonomy.category(c).sv for c in CATEGORIES], dtype=object)

    rows = pd.DataFrame(
        {
            "source": np.array(SOURCES, dtype=object)[source],
            "occurred": occurred,
            "reported": reported,
            "category": np.array(CATEGORIES, dtype=object)[category],
            "lat": np.round(lat, 6),
            "lon": np.round(lon, 6),
            "weight": weight,
            "note": "Syntetisk demo: " + category_sv[category] + where + area_name + ".",
            "stream": stream,
        }
    )[keep]
    rows = rows.sort_values(["occurred", "source"], kind="stable").reset_index(drop=True)
    year = rows["occurred"].dt.year.astype(str)
    sequence = rows.groupby(["source", year], sort=False).cumcount() + 1
    prefix = rows["source"].map(dict(zip(SOURCES, SOURCE_ID_PREFIX, strict=True)))
    reports = pd.DataFrame(
        {
            "source": rows["source"],
            "source_id": prefix + "-" + year + "-" + sequence.astype(str).str.zfill(6),
            "occurred_at": iso_local(rows["occurred"]),
            "reported_at": iso_local(rows["reported"]),
            "category": rows["category"],
            "lat": rows["lat"],
            "lon": rows["lon"],
            "weight": rows["weight"],
            "note": rows["note"],
        }
    )
    n_reports = np.bincount(rows["stream"], minlength=len(PLANTED) + 1)
    truth = _truth(hotspot_places, profiles, cal, n_reports, PEAK_FACTOR[density])
    return reports, truth


def _truth(
    places: pd.DataFrame,
    profiles: npt.NDArray[np.float64],
    cal: Calendar,
    n_reports: npt.NDArray[np.int64],
    peak_factor: float,
) -> pd.DataFrame:
    """One row per hotspot active in the window, with the resolution-10 cells within ~2 sigma of its centre."""
    spacing_m = np.sqrt(3) * h3.average_hexagon_edge_length(TRUTH_RESOLUTION, unit="m")
    measure = measure_week_index(profiles.shape[1])
    records = []
    for i, h in enumerate(PLANTED):
        place = places.iloc[i]
        active = np.flatnonzero(profiles[i] > 0)
        if active.size == 0:  # e.g. the summer-only hotspot in a short winter window: nothing planted
            continue
        centre = h3grid.latlng_to_cells([place["lat"]], [place["lon"]], TRUTH_RESOLUTION)
        cells = h3grid.grid_disk(centre, max(1, round(2 * h.sigma_m / spacing_m)))
        moved = h.pattern.startswith("moved")
        records.append(
            {
                "hotspot_id": h.hotspot_id,
                "place": h.place,
                "area_id": place["area_id"],
                "lat": place["lat"],
                "lon": place["lon"],
                "sigma_m": h.sigma_m,
                "pattern": h.pattern,
                "first_week": cal.week_labels[active[0]],
                "last_week": cal.week_labels[active[-1]],
                "peak_per_week": round(h.peak_per_week * peak_factor, 2),
                "active_weeks": int(active.size),
                "n_reports": int(n_reports[i]),
                "measure_type": MEASURE_TYPE if moved else "",
                "measure_week": cal.week_labels[measure] if moved else "",
                "cells_res10": " ".join(f"{c:x}" for c in cells),
            }
        )
    return pd.DataFrame.from_records(records, columns=list(TRUTH_COLUMNS))


def write(
    out_dir: Path,
    weeks: int = 104,
    seed: int = 1,
    end: date | None = None,
    density: Density = Density.SPARSE,
) -> DemoFiles:
    """Generate and write reports.csv, truth.csv and truth.json (parameters, hotspots, the measure) to out_dir."""
    end = end or last_complete_day()
    reports, truth = generate(weeks=weeks, seed=seed, end=end, density=density)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "reports.csv", out_dir / "truth.csv", out_dir / "truth.json"
    reports.assign(weight=reports["weight"].astype(str)).to_csv(
        paths[0], index=False, encoding="utf-8", lineterminator="\n", float_format="%.6f"
    )
    truth.to_csv(paths[1], index=False, encoding="utf-8", lineterminator="\n")
    moved = truth[truth["pattern"].str.startswith("moved")].set_index("pattern")
    summary = {
        "parameters": {"weeks": weeks, "seed": seed, "end": end.isoformat(), "density": density.value},
        "hotspots": truth.drop(columns="cells_res10").to_dict(orient="records"),
        "measures": [
            {
                "type": MEASURE_TYPE,
                "organisation": MEASURE_ORGANISATION,
                "radius_m": MEASURE_RADIUS_M,
                "place": moved.at["moved_from", "place"],
                "lat": moved.at["moved_from", "lat"],
                "lon": moved.at["moved_from", "lon"],
                "area_id": moved.at["moved_from", "area_id"],
                "week": moved.at["moved_from", "measure_week"],
                "displaced_to": moved.at["moved_to", "place"],
            }
        ],
    }
    paths[2].write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return DemoFiles(
        *paths,
        rows=len(reports),
        first=reports["occurred_at"].iloc[0] if len(reports) else "",
        last=reports["occurred_at"].iloc[-1] if len(reports) else "",
        hotspots=len(truth),
    )


def record_measures(engine: Engine, truth_json: Path) -> list[Measure]:
    """Store the demo's planted measures (truth.json) as EST would have recorded them, from the Monday of
    their week, so the map's measures layer, the follow-up and the weekly report have one to show.
    Idempotent: a measure already stored (same type, place and start) is not added again."""
    planted = json.loads(truth_json.read_text(encoding="utf-8"))["measures"]
    stored = {(m.type, round(m.lat, 6), round(m.lon, 6), m.start) for m in list_measures(engine)}
    added = []
    for item in planted:
        start = date.fromisoformat(item["week"] + "-1")  # ISO week date: that week's Monday
        key = (item["type"], round(float(item["lat"]), 6), round(float(item["lon"]), 6), start)
        if key in stored:
            continue
        added.append(
            record_measure(
                engine,
                type=item["type"],
                organisation=item.get("organisation", MEASURE_ORGANISATION),
                start=start,
                lat=float(item["lat"]),
                lon=float(item["lon"]),
                radius_m=float(item.get("radius_m", MEASURE_RADIUS_M)),
                note=f"Syntetisk demo: insats vid {item['place']}.",
                created_by="demo",
            )
        )
    return added
