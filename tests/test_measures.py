"""Measures: stored on both back ends, followed up with before/after counts and the WDQ (Bowers & Johnson)."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from pyproj import Transformer

from hotspots.config import Settings
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.measures.follow_up import follow_up, wdq_from_counts
from hotspots.measures.measure import Measure
from hotspots.measures.records import MeasureError, end_measure, list_measures, record_measure
from hotspots.store.engine import open_store
from tests.conftest import DemoStore

STORTORGET = (59.2712, 15.2133)
VIVALLA = (59.2985, 15.1875)


def north_of(lat: float, lon: float, metres: float) -> tuple[float, float]:
    to_metric = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
    x, y = to_metric.transform(lon, lat)
    new_lon, new_lat = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True).transform(x, y + metres)
    return new_lat, new_lon


@pytest.mark.parametrize(
    ("target", "buffer", "control", "expected"),
    [
        # SM = 50/1000 - 100/1000 = -0.05; BDM = 60/1000 - 40/1000 = 0.02; WDQ = -0.4; TNE = 50 - 20 = 30
        ((100, 50), (40, 60), (1000, 1000), (-0.05, 0.02, -0.4, 30.0, "displacement_smaller")),
        # control doubled: SM = 50/2000 - 0.1 = -0.075; BDM = 0.03 - 0.04 = -0.01; WDQ = 2/15;
        # TNE = (100*2 - 50) - (60 - 40*2) = 170
        ((100, 50), (40, 60), (1000, 2000), (-0.075, -0.01, 2 / 15, 170.0, "diffusion")),
        # buffer rose more than the target fell: SM = -0.01, BDM = 0.03, WDQ = -3 (net harm)
        ((20, 10), (10, 40), (1000, 1000), (-0.01, 0.03, -3.0, -20.0, "displacement_larger")),
        # diffusion larger than the direct effect: SM = -0.01, BDM = -0.02, WDQ = 2
        ((20, 10), (30, 10), (1000, 1000), (-0.01, -0.02, 2.0, 30.0, "diffusion_larger")),
    ],
)
def test_wdq_matches_hand_computed_values(
    target: tuple[int, int], buffer: tuple[int, int], control: tuple[int, int], expected: tuple
) -> None:
    result = wdq_from_counts(target=target, buffer=buffer, control=control)
    success, buffer_measure, wdq, net, reading = expected
    assert result["success_measure"] == pytest.approx(success)
    assert result["buffer_measure"] == pytest.approx(buffer_measure)
    assert result["wdq"] == pytest.approx(wdq, abs=1e-6)
    assert result["total_net_effect"] == pytest.approx(net)
    assert result["reading"]["code"] == reading


def test_wdq_is_not_read_without_a_reduction_or_without_control_reports() -> None:
    rose = wdq_from_counts(target=(10, 30), buffer=(5, 1), control=(100, 100))
    assert rose["wdq"] is None and rose["reading"]["code"] == "no_reduction"
    empty = wdq_from_counts(target=(10, 3), buffer=(5, 1), control=(0, 100))
    assert empty["success_measure"] is None and empty["reading"]["code"] == "no_control"


def test_measures_are_stored_listed_and_ended(store_url: str) -> None:
    engine = open_store(Settings(database_url=store_url))
    camera = record_measure(
        engine, type="kamerabevakning", organisation="Polisen", start=date(2026, 3, 2), lat=59.2712, lon=15.2133,
        radius_m=150, note="Stortorget",
    )  # fmt: skip
    cells = record_measure(
        engine, type="belysning", organisation="Örebro kommun", start=date(2026, 4, 1), end=date(2026, 4, 30),
        cells=["8a08b11a860ffff"],
    )  # fmt: skip
    square = {
        "type": "Polygon",
        "coordinates": [[[15.15, 59.29], [15.16, 59.29], [15.16, 59.30], [15.15, 59.29]]],
    }
    polygon = record_measure(
        engine, type="städning", organisation="ÖBO", start=date(2026, 5, 1), polygon=square
    )
    assert [m.id for m in list_measures(engine)] == [camera.id, cells.id, polygon.id]
    assert (camera.place_kind, cells.place_kind, polygon.place_kind) == ("point", "cells", "polygon")
    assert camera.note == "Stortorget" and camera.radius_m == 150
    assert [m.id for m in list_measures(engine, active_on=date(2026, 4, 15))] == [camera.id, cells.id]
    end_measure(engine, camera.id, date(2026, 4, 10))
    assert [m.id for m in list_measures(engine, active_on=date(2026, 4, 15))] == [cells.id]
    assert polygon.target_cells(10).size > 3
    assert cells.target_cells(10).tolist() == [int("8a08b11a860ffff", 16)]


@pytest.mark.parametrize(
    "place",
    [{}, {"lat": 59.27, "lon": 15.21, "cells": ["8a08b11a860ffff"]}, {"cells": ["not-a-cell"]}],
    ids=["none", "two", "bad-cell"],
)
def test_a_measure_needs_exactly_one_valid_place(sqlite_settings: Settings, place: dict) -> None:
    engine = open_store(sqlite_settings)
    with pytest.raises(MeasureError):
        record_measure(engine, type="patrullering", organisation="Polisen", start=date(2026, 3, 2), **place)
    assert list_measures(engine) == []


def test_follow_up_counts_target_buffer_and_control(store_url: str, areas: Areas) -> None:
    settings = Settings(database_url=store_url)
    engine = open_store(settings)
    buffer_point = north_of(*STORTORGET, 300)
    plan = [  # (point, reports before, reports after)
        (STORTORGET, 10, 4),
        (buffer_point, 2, 6),
        (VIVALLA, 20, 20),
    ]
    rows = []
    for (lat, lon), before, after in plan:
        for n, day in [(before, "2026-02-15"), (after, "2026-03-15")]:
            rows += [{"source": "police", "source_id": f"{lat}-{day}-{i}", "occurred_at": f"{day}T21:00:00+01:00",
                      "category": "observed_dealing", "lat": lat, "lon": lon} for i in range(n)]  # fmt: skip
    ingest.import_frame(engine, pd.DataFrame(rows), settings=settings, areas=areas)
    measure = record_measure(
        engine, type="kamerabevakning", organisation="Polisen", start=date(2026, 3, 2), lat=STORTORGET[0],
        lon=STORTORGET[1], radius_m=100,
    )  # fmt: skip
    result = follow_up(engine, measure.id, settings=settings, days=28, buffer_m=400, today=date(2026, 4, 30))
    assert result["counts"] == {
        "target": {"before": 10, "after": 4},
        "buffer": {"before": 2, "after": 6},
        "control": {"before": 20, "after": 20},
    }
    assert result["before"] == {"start": "2026-02-02", "end": "2026-03-01"}
    assert result["after"] == {"start": "2026-03-02", "end": "2026-03-29"}
    # SM = 4/20 - 10/20 = -0.3; BDM = 6/20 - 2/20 = 0.2; WDQ = -2/3
    assert result["wdq"] == pytest.approx(-2 / 3, abs=1e-6)
    assert result["reading"]["code"] == "displacement_smaller"


def test_planted_displacement_after_the_demo_measure_reads_as_displacement(demo_store: DemoStore) -> None:
    """The demo's hotspot at Stortorget stops when the camera starts and reappears ~450 m away."""
    moved_from = demo_store.truth.set_index("pattern").loc["moved_from"].to_dict()
    week = moved_from["measure_week"]  # e.g. "2026-W21"
    start = date.fromisocalendar(int(week[:4]), int(week[-2:]), 1)
    measure = Measure(  # not stored: the demo store is shared by the session
        id=0, type="kamerabevakning", organisation="Polisen", lat=float(moved_from["lat"]),
        lon=float(moved_from["lon"]), radius_m=150, cells=(), polygon=None, start=start, end=None,
        note="", created_by="test",
    )  # fmt: skip
    result = follow_up(demo_store.engine, measure, settings=demo_store.settings, days=56, buffer_m=600)
    counts = result["counts"]
    assert counts["target"]["after"] < 0.3 * counts["target"]["before"]
    assert counts["buffer"]["after"] > counts["buffer"]["before"]
    assert result["wdq"] < 0
    assert result["reading"]["code"].startswith("displacement")
