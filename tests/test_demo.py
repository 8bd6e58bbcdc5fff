"""Demo data: reproducible, valid import rows, and the planted signal is really there."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from typer.testing import CliRunner

import hotspots.cli.demo  # noqa: F401  (registers the command)
from hotspots.cli.app import app
from hotspots.config import get_settings
from hotspots.demo import generate as demo
from hotspots.geo import h3grid
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest

END = date(2026, 3, 15)
TZ = "Europe/Stockholm"


@pytest.fixture(scope="module")
def two_years() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo.generate(weeks=104, seed=1, end=END, density=demo.Density.DENSE)


@pytest.fixture(scope="module")
def occurred(two_years: tuple[pd.DataFrame, pd.DataFrame]) -> pd.Series:
    return pd.to_datetime(two_years[0]["occurred_at"], format="ISO8601", utc=True).dt.tz_convert(TZ)


def _metres_from(reports: pd.DataFrame, lat: object, lon: object) -> np.ndarray:
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    x, y = to_metric.transform(reports["lon"].to_numpy(), reports["lat"].to_numpy())
    cx, cy = to_metric.transform(float(str(lon)), float(str(lat)))
    return np.hypot(x - cx, y - cy)


def _iso_week(ts: pd.Series) -> pd.Series:
    iso = ts.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)


def test_same_seed_same_bytes_other_seed_other_rows(tmp_path: Path) -> None:
    first = demo.write(tmp_path / "a", weeks=6, seed=7, end=END)
    demo.write(tmp_path / "b", weeks=6, seed=7, end=END)
    other = demo.write(tmp_path / "c", weeks=6, seed=8, end=END)
    for name in ("reports.csv", "truth.csv", "truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.reports.read_bytes() != other.reports.read_bytes()
    header = first.reports.read_text(encoding="utf-8").splitlines()[0]
    assert header == "source,source_id,occurred_at,reported_at,category,lat,lon,weight,note"


def test_two_years_hold_at_least_100k_reports(two_years: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert len(two_years[0]) >= 100_000


def test_every_row_is_valid(
    two_years: tuple[pd.DataFrame, pd.DataFrame], occurred: pd.Series, areas: Areas
) -> None:
    reports, _ = two_years
    taxonomy = get_settings().taxonomy
    assert set(reports["source"]) <= {t.id for t in taxonomy.sources}
    assert set(reports["category"]) <= {t.id for t in taxonomy.categories}
    assert not reports.duplicated(["source", "source_id"]).any()
    pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\+0[12]:00$"
    assert reports["occurred_at"].str.match(pattern).all() and reports["reported_at"].str.match(pattern).all()
    reported = pd.to_datetime(reports["reported_at"], format="ISO8601", utc=True)
    assert (reported >= occurred).all()
    day_after_end = pd.Timestamp("2026-03-16", tz=TZ)
    assert (reported < day_after_end).all() and (occurred < day_after_end).all()
    assert occurred.min() >= pd.Timestamp("2024-03-18", tz=TZ)  # Monday of the first of 104 ISO weeks
    municipality = shapely.union_all(areas.frame.geometry.to_numpy())
    assert shapely.contains_xy(municipality, reports["lon"], reports["lat"]).all()
    assert set(reports["weight"]) == {0.5, 1.0}
    assert (reports.loc[reports["weight"] == 0.5, "source"] == "citizen_tip").all()
    assert reports["note"].str.startswith("Syntetisk demo: ").all()


def test_only_the_police_seize_and_arrest(two_years: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    reports, _ = two_years
    assert (reports.loc[reports["category"].isin(["seizure", "arrest"]), "source"] == "police").all()
    assert reports.loc[reports["source"] == "citizen_tip", "category"].value_counts().idxmax() == (
        "suspected_dealing"
    )


def test_the_importer_accepts_every_row(tmp_path: Path, areas: Areas) -> None:
    files = demo.write(tmp_path, weeks=4, seed=3, end=END)
    raw = ingest.read_table(files.reports.read_bytes(), "reports.csv")
    prepared = ingest.prepare(raw, settings=get_settings(), areas=areas)
    assert prepared.errors == [] and len(prepared.rows) == files.rows


def test_planted_cells_hold_far_more_reports_than_background_cells(
    two_years: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    reports, truth = two_years
    cells = h3grid.latlng_to_cells(reports["lat"], reports["lon"], demo.TRUTH_RESOLUTION)
    per_cell = pd.Series(cells).value_counts()
    planted = {int(c, 16) for text in truth["cells_res10"] for c in text.split()}
    background = per_cell[~per_cell.index.isin(list(planted))]
    for row in truth[truth["pattern"] == "persistent"].itertuples():
        ids = [int(c, 16) for c in str(row.cells_res10).split()]
        assert per_cell.reindex(ids, fill_value=0).mean() > 10 * background.mean(), row.place
    # ...and every planted centre cell tops the 99th percentile of the background cells.
    centres = h3grid.latlng_to_cells(truth["lat"], truth["lon"], demo.TRUTH_RESOLUTION)
    steady = truth["pattern"].isin(["persistent", "fading", "moved_from"]).to_numpy()
    assert (per_cell.reindex(centres[steady], fill_value=0) > background.quantile(0.99)).all()


def test_truth_places_lie_in_their_areas_and_weeks_are_iso(
    two_years: tuple[pd.DataFrame, pd.DataFrame], areas: Areas
) -> None:
    _, truth = two_years
    assert list(truth.columns) == list(demo.TRUTH_COLUMNS)
    assert areas.assign(truth["lat"], truth["lon"]).tolist() == truth["area_id"].tolist()
    assert set(areas.partnership_ids) <= set(truth["area_id"])
    assert truth["first_week"].str.match(r"^\d{4}-W\d{2}$").all()
    assert (truth["first_week"] <= truth["last_week"]).all()
    assert truth["n_reports"].sum() > 0.2 * len(two_years[0])


def test_evening_and_weekend_rhythm(occurred: pd.Series) -> None:
    evening_share = (occurred.dt.hour >= 18).mean()
    assert evening_share > 0.45  # 6 of 24 hours: 0.25 if reports were spread evenly
    per_weekday = occurred.dt.day_of_week.value_counts().sort_index()
    assert per_weekday[[4, 5]].mean() > 1.3 * per_weekday[[0, 1, 2, 3]].mean()
    july, january = (occurred.dt.month == 7).sum(), (occurred.dt.month == 1).sum()
    assert july > 1.4 * january


def test_the_hotspot_moves_after_the_measure(
    two_years: tuple[pd.DataFrame, pd.DataFrame], occurred: pd.Series
) -> None:
    reports, truth = two_years
    moved = truth.set_index("pattern")
    a, b = moved.loc["moved_from"], moved.loc["moved_to"]
    assert a["measure_type"] == "kamerabevakning" and a["measure_week"] == b["first_week"]
    gap = _metres_from(pd.DataFrame({"lat": [b["lat"]], "lon": [b["lon"]]}), a["lat"], a["lon"])[0]
    assert 300 < gap < 500
    after = (_iso_week(occurred) >= a["measure_week"]).to_numpy()
    weeks_after = b["active_weeks"]
    weeks_before = 104 - weeks_after
    for place, busy_after in ((a, False), (b, True)):
        near = _metres_from(reports, place["lat"], place["lon"]) < 100
        rate_before = (near & ~after).sum() / weeks_before
        rate_after = (near & after).sum() / weeks_after
        assert (rate_after > 5 * rate_before) if busy_after else (rate_before > 5 * rate_after), place[
            "place"
        ]


def test_emerging_hotspot_grows_at_the_end(
    two_years: tuple[pd.DataFrame, pd.DataFrame], occurred: pd.Series
) -> None:
    reports, truth = two_years
    row = truth.set_index("place").loc["Oxhagens centrum"]
    assert row["pattern"] == "emerging"
    near = _metres_from(reports, row["lat"], row["lon"]) < 100
    week = _iso_week(occurred)
    recent = (week >= row["first_week"]).to_numpy()
    assert (near & recent).sum() / row["active_weeks"] > 5 * (near & ~recent).sum() / (
        104 - row["active_weeks"]
    )


def test_cli_writes_the_files_and_a_one_line_summary(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["demo-data", "--out", str(tmp_path), "--weeks", "3", "--seed", "2", "--end", "2026-03-15"]
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in tmp_path.iterdir()} == {"reports.csv", "truth.csv", "truth.json"}
    assert "reports" in result.output and "2026-03-15" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_default_end_imports_cleanly_right_now(areas: Areas) -> None:
    """`make run` generates the demo without --end and imports it at once: nothing may lie in the future."""
    reports, _ = demo.generate(weeks=2, seed=3)
    prepared = ingest.prepare(
        ingest.read_table(reports.to_csv(index=False).encode(), "demo.csv"),
        settings=get_settings(),
        areas=areas,
    )
    assert prepared.errors == []
    assert len(prepared.rows) == len(reports) > 0


def test_default_demo_is_as_sparse_as_real_data_and_its_hotspots_still_stand_out() -> None:
    """A few thousand reports a year from every source (Örebro's police alone averaged ~160 drug offences a
    month); planted hot spots of a few to a few dozen reports a month, still well above the background."""
    reports, truth = demo.generate(weeks=104, seed=1, end=END)
    assert 2_000 <= len(reports) / 2 <= 6_000
    per_month = truth["peak_per_week"] * 52 / 12
    assert per_month.between(2, 40).all()
    cells = h3grid.latlng_to_cells(reports["lat"], reports["lon"], demo.TRUTH_RESOLUTION)
    per_cell = pd.Series(cells).value_counts()
    for row in truth[truth["pattern"] == "persistent"].itertuples():
        centre = h3grid.latlng_to_cells([row.lat], [row.lon], demo.TRUTH_RESOLUTION)[0]
        assert per_cell.get(centre, 0) > 5 * per_cell.median(), row.place


def test_demo_measures_are_recorded_once(tmp_path: Path, areas: Areas) -> None:
    from hotspots.config import Settings
    from hotspots.measures.records import list_measures
    from hotspots.store.engine import open_store

    files = demo.write(tmp_path, weeks=30, seed=2, end=END)
    engine = open_store(Settings(database_url=f"sqlite:///{tmp_path / 'm.db'}"))
    added = demo.record_measures(engine, files.truth_json)
    assert demo.record_measures(engine, files.truth_json) == []  # idempotent
    (measure,) = list_measures(engine)
    assert added == [measure] and measure.type == demo.MEASURE_TYPE and measure.organisation == "Polisen"
    planted = pd.read_csv(files.truth).set_index("pattern").loc["moved_from"]
    assert measure.start.isocalendar()[:2] == tuple(int(p) for p in planted["measure_week"].split("-W"))
    assert (round(measure.lat, 4), round(measure.lon, 4)) == (
        round(planted["lat"], 4),
        round(planted["lon"], 4),
    )
