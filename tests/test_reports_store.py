"""Report-level queries (hotspots.store.reports) on SQLite and PostgreSQL: area limits hold in the query,
pages are newest first with the right total, and a refused delete writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Connection

from hotspots.config import Settings
from hotspots.errors import NotFound
from hotspots.geo.areas import Areas
from hotspots.ingest import pipeline as ingest
from hotspots.store.engine import dataset_version, open_store
from hotspots.store.reports import ReportFilter, delete_report, get_report, list_reports
from tests.api.conftest import CLUSTER, SPARSE, seed_rows


def test_pages_area_limits_and_deletes(settings: Settings, areas: Areas) -> None:
    engine = open_store(settings)
    ingest.import_frame(engine, seed_rows(areas), settings=settings, areas=areas, created_by="seed")

    everything = list_reports(engine, ReportFilter(), limit=1000)
    assert everything.total == len(everything.frame) == CLUSTER + SPARSE
    occurred = everything.frame["occurred_at"].tolist()
    assert occurred == sorted(occurred, reverse=True)  # newest first

    page = list_reports(engine, ReportFilter(areas=("baronbackarna",)), limit=2, offset=1)
    assert page.total == SPARSE and len(page.frame) == 2
    assert set(page.frame["area_id"]) == {"baronbackarna"}
    assert (
        page.frame["id"].tolist()
        == everything.frame.loc[everything.frame["area_id"] == "baronbackarna", "id"].tolist()[1:3]
    )

    vivalla = int(everything.frame.loc[everything.frame["area_id"] == "vivalla", "id"].iloc[0])
    assert get_report(engine, vivalla)["source_id"].iloc[0].startswith("V")
    with pytest.raises(NotFound):
        get_report(engine, vivalla, areas=("baronbackarna",))

    version = dataset_version(engine)
    with pytest.raises(NotFound):  # a reader limited to another area: nothing deleted, no version bump
        delete_report(engine, vivalla, areas=("baronbackarna",))
    assert dataset_version(engine) == version
    assert len(get_report(engine, vivalla)) == 1

    audited: list[Connection] = []
    delete_report(engine, vivalla, areas=("vivalla",), on_delete=audited.append)
    assert len(audited) == 1  # ran inside the deleting transaction
    assert dataset_version(engine) == version + 1
    with pytest.raises(NotFound):
        get_report(engine, vivalla)
    engine.dispose()
