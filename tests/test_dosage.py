"""The dose each place got, against a plain loop over the visits; the measure follow-up's dose; places that
share a label merged into one stop."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import h3
import numpy as np

from hotspots.access.accounts import Role, User
from hotspots.config import Settings
from hotspots.field.dosage import dosage, dose_between
from hotspots.field.visits import Outcome, Place, VisitIn, record_visit
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.measures.follow_up import follow_up
from hotspots.measures.records import record_measure
from hotspots.ranking.priorities import PriorityEntry, PriorityList
from hotspots.ranking.priorities.merging import merge_same_label
from hotspots.store.engine import open_store
from hotspots.weekly import build_weekly

END = datetime(2026, 11, 16, tzinfo=UTC)
EST = User(1, "est", Role.EST)


def _store_with_visits(settings: Settings, areas: Areas, rng: np.random.Generator) -> tuple[object, list]:
    """Six places of one to three adjacent cells around Vivalla, and 60 visits at random places and
    times in the 40 days before END, some logged at a finer resolution (a phone's own cell)."""
    engine = open_store(settings)
    centre = h3.latlng_to_cell(59.2745, 15.1155, 10)
    ring = sorted(h3.grid_disk(centre, 3))
    places = [ring[i * 5 : i * 5 + 1 + i % 3] for i in range(6)]
    logged = []
    for n in range(60):
        cells = places[int(rng.integers(len(places)))]
        lat, lon = h3.cell_to_latlng(cells[-1])
        if n % 4 == 0:  # a visit placed by a finer cell inside the place: compared at the place's resolution
            cells = [h3.latlng_to_cell(lat, lon, 12)]
        ended = END - timedelta(days=float(rng.uniform(0, 40)))
        minutes = int(rng.integers(1, 60))
        visit = VisitIn(
            Place("p", tuple(cells), lat, lon), Outcome.NOTHING_OBSERVED, minutes=minutes, ended_at=ended
        )
        stored, created = record_visit(
            engine,
            visit,
            user=EST,
            areas=areas,
            settings=settings,
            key=f"visit-{n:04d}",
            now=END + timedelta(hours=1),
        )
        assert created
        logged.append((set(cells), stored.lat, stored.lon, stored.started_at, minutes))
    return engine, places, logged


def test_dosage_matches_a_loop_over_visits(sqlite_settings: Settings, areas: Areas) -> None:
    engine, places, logged = _store_with_visits(sqlite_settings, areas, np.random.default_rng(7))
    got = dosage(engine, places, end=END)
    for i, cells in enumerate(places):
        res = h3.get_resolution(cells[0])
        for span in (7, 28):
            since = END - timedelta(days=span)
            mine = [
                m
                for visit_cells, lat, lon, started, m in logged
                if since <= started < END
                and (
                    {h3.cell_to_parent(c, res) if h3.get_resolution(c) > res else c for c in visit_cells}
                    & set(cells)
                    or h3.latlng_to_cell(lat, lon, res) in cells
                )
            ]
            assert got[i][f"{span}d"] == {"visits": len(mine), "minutes": sum(mine)}, (i, span)
    assert sum(d["28d"]["visits"] for d in got) > sum(d["7d"]["visits"] for d in got) > 0
    assert dose_between(engine, places[0], END - timedelta(days=28), END)._asdict() == got[0]["28d"]


def test_follow_up_reports_the_visits_in_the_target(sqlite_settings: Settings, areas: Areas) -> None:
    engine, places, _ = _store_with_visits(sqlite_settings, areas, np.random.default_rng(3))
    start = (END - timedelta(days=14)).date()
    measure = record_measure(
        engine, type="patrullering", organisation="Polisen", start=start, cells=places[2], created_by="t"
    )
    result = follow_up(engine, measure, settings=sqlite_settings, days=14, today=END.date())
    expected = dose_between(engine, places[2], END - timedelta(days=14, hours=1), END - timedelta(hours=1))
    assert result["visits"]["after"]["visits"] == expected.visits > 0
    assert result["visits"]["after"]["minutes"] == expected.minutes


def _entry(rank: int, label: str, score: float, reports: int, cell: str, lat: float) -> PriorityEntry:
    return PriorityEntry(
        rank=rank, score=score, area_id="vivalla", area="Vivalla", label=label, lat=lat, lon=15.1,
        easting=500000.0, northing=6570000.0 + rank, cells=[cell], reports=reports,
        counts={"observed_dealing": reports}, previous_reports=1, previous_counts={"observed_dealing": 1},
        gi_bin=rank % 3, gi_z=float(rank), emerging="persistent_hot" if rank == 3 else "no_pattern",
        emerging_label="ihållande", hot_weeks=rank,
    )  # fmt: skip


def test_places_sharing_a_label_are_one_stop(sqlite_settings: Settings) -> None:
    entries = [
        _entry(1, "Vivalla centrum", 50.0, 20, "a", 59.0),
        _entry(2, "Vivalla norra delen", 9.0, 3, "b", 59.1),
        _entry(3, "Vivalla norra delen", 8.0, 1, "c", 59.3),
        _entry(4, "Vivalla södra delen", 12.0, 4, "d", 59.2),
    ]
    plist = PriorityList(entries, END - timedelta(days=28), END, 28, "Vivalla", "sv", 1, END)
    merged = merge_same_label(plist, taxonomy=sqlite_settings.taxonomy, emerging_order=("persistent_hot",))
    assert [(e.rank, e.label, e.score, e.reports) for e in merged] == [
        (1, "Vivalla centrum", 50.0, 20),
        (2, "Vivalla norra delen", 17.0, 4),  # 9 + 8 outranks södra's 12
        (3, "Vivalla södra delen", 12.0, 4),
    ]
    north = merged.entries[1]
    assert north.cells == ["b", "c"] and north.lat == round(59.1 * 0.75 + 59.3 * 0.25, 6)
    assert north.previous_reports == 2 and north.emerging == "persistent_hot" and north.hot_weeks == 3
    assert north.reasons[0].startswith("4 rapporter senaste 28 dagarna")
    unique = replace(plist, entries=[entries[0], entries[1], entries[3]])
    assert merge_same_label(unique, taxonomy=sqlite_settings.taxonomy, emerging_order=()) is unique


def test_weekly_report_lists_visits_per_priority_place(sqlite_settings: Settings, areas: Areas) -> None:
    """Planned (the report's priority list) against done (the week's visits), with minutes and outcomes."""
    from maps.report.weekly import render_html
    from tests.api.conftest import seed_rows

    settings = sqlite_settings.model_copy(update={"permutations": 99})
    engine = open_store(settings)
    ingest.import_frame(engine, seed_rows(areas), settings=settings, areas=areas, created_by="seed")
    top = build_weekly(engine, settings, areas, "2026-W46").priorities[0]
    in_week, after_week = datetime(2026, 11, 12, 18, tzinfo=UTC), datetime(2026, 11, 17, 18, tzinfo=UTC)
    logged = [
        (top.cells, top.lat, top.lon, in_week, 15, Outcome.DEALING_OBSERVED),
        (top.cells, top.lat, top.lon, in_week + timedelta(days=1), 10, Outcome.NOTHING_OBSERVED),
        (top.cells, top.lat, top.lon, after_week, 30, Outcome.NOTHING_OBSERVED),  # next week: not counted
        ([h3.latlng_to_cell(59.30, 15.25, 10)], 59.30, 15.25, in_week, 5, Outcome.OTHER),  # not on the list
    ]
    for n, (cells, lat, lon, ended, minutes, outcome) in enumerate(logged):
        visit = VisitIn(Place("p", tuple(cells), lat, lon), outcome, minutes=minutes, ended_at=ended)
        record_visit(
            engine,
            visit,
            user=EST,
            areas=areas,
            settings=settings,
            key=f"week-{n:04d}",
            now=END + timedelta(days=9),
        )
    record_measure(
        engine,
        type="patrullering",
        organisation="Polisen",
        start=in_week.date(),
        cells=top.cells,
        created_by="t",
    )
    report = build_weekly(engine, settings, areas, "2026-W46")
    assert report.visits[0] == (2, 25, {"dealing_observed": 1, "nothing_observed": 1})
    assert all(v.visits == 0 for v in report.visits[1:]) and report.visits_elsewhere == 1
    html = render_html(report, settings)
    section = html.split("Besök per prioriterad plats", 1)[1].split("</section>", 1)[0]
    assert "1 langning observerad, 1 inget observerat" in section
    assert f"1 av {len(report.priorities)} prioriterade platser besökta; 1 besök på andra platser." in section
    measures = html.split('<table class="measures">', 1)[1].split("</table>", 1)[0]
    assert "besök 0 → 2" in measures  # the measure's dose beside its reports before and after
