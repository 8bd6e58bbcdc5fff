"""Derived answers say what they were computed from, may lag a write only within the staleness bound, and
a stale answer is never replayed after the fresh one exists."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import morecantile
import pytest

from hotspots.analysis.compute import Analysis
from hotspots.geo.areas import Areas
from maps import routes
from tests.api.conftest import CLUSTER, END, SPARSE, Api, api_settings, make_api, report_json

Q = {"end": END.isoformat(), "window": "28d"}


@pytest.fixture
def stale_api(tmp_path: Path, areas: Areas) -> Iterator[Api]:
    """The seeded app on SQLite with a generous staleness bound (the suite's default is 0)."""
    settings = api_settings(f"sqlite:///{tmp_path / 'store.db'}").model_copy(update={"max_staleness_s": 30.0})
    api = make_api(settings, areas)
    yield api
    api.engine.dispose()


def _summary(api: Api) -> tuple[int, dict[str, str]]:
    response = api.client.get("/statistics/summary", headers=api.auth("est"), params=Q)
    assert response.status_code == 200
    return int(response.json()["reports"]), dict(response.headers)


def test_a_derived_answer_names_its_version_and_age(stale_api: Api) -> None:
    reports, headers = _summary(stale_api)
    assert reports == CLUSTER + SPARSE
    as_of = datetime.fromisoformat(headers["x-data-as-of"])
    assert abs((datetime.now(UTC) - as_of).total_seconds()) < 120
    assert int(headers["age"]) >= 0
    version = stale_api.client.get("/statistics/summary", headers=stale_api.auth("est"), params=Q).json()
    assert int(headers["x-dataset-version"]) == version["dataset_version"]


def test_after_a_write_the_previous_answer_is_served_until_the_new_one_is_ready(stale_api: Api) -> None:
    before, first = _summary(stale_api)
    created = stale_api.client.post(
        "/reports", headers=stale_api.auth("analyst"), json=report_json(stale_api, "s1")
    )
    assert created.status_code == 201  # the write's own response is not delayed by any computation

    deadline = time.monotonic() + 60
    versions = []
    while True:
        reports, headers = _summary(stale_api)
        versions.append(int(headers["x-dataset-version"]))
        if reports == before + 1:
            break
        assert reports == before and headers["x-dataset-version"] == first["x-dataset-version"]
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.05)
    assert versions[-1] > int(first["x-dataset-version"])
    # the fresh answer stays: no replay of the stale one under the new version
    assert _summary(stale_api)[0] == before + 1


def test_concurrent_requests_for_a_new_body_build_it_once(
    stale_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a new version every client asks for the new body at once: one build, the others await it."""
    builds: list[int] = []
    real, gate = Analysis.summary, threading.Event()

    def slow(self: Analysis, *args: Any, **kwargs: Any) -> dict[str, Any]:
        builds.append(1)
        gate.wait(5)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Analysis, "summary", slow)
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(_summary(stale_api)[0])) for _ in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    gate.set()
    for thread in threads:
        thread.join(60)
    assert answers == [CLUSTER + SPARSE] * 6
    assert len(builds) == 1


def _write_then_answers_stay_old_while_built(
    api: Api,
    name: str,
    fetch: Callable[[], object],
    old: object,
    building: threading.Event,
    gate: threading.Event,
) -> float:
    """Write a report, then: ``fetch`` keeps answering ``old`` (at once) until the new answer is being
    built and three answers more; open ``gate`` to let the build finish. Returns the deadline."""
    created = api.client.post("/reports", headers=api.auth("analyst"), json=report_json(api, name))
    assert created.status_code == 201
    deadline, after_build_began = time.monotonic() + 60, 0
    while after_build_began < 3:
        began = time.monotonic()
        assert fetch() == old
        assert time.monotonic() - began < 1.0, "a request waited for the new answer's build"
        assert time.monotonic() < deadline, "the new analysis never landed"
        after_build_began += building.is_set()
        time.sleep(0.05)
    gate.set()
    return deadline


def test_a_new_body_is_built_in_the_background_while_the_previous_one_answers(
    stale_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the new analysis lands, nobody waits for its body: the previous body answers (with its own
    version) until the new one is built, then the new one does."""
    before, first = _summary(stale_api)
    real, gate, building = Analysis.summary, threading.Event(), threading.Event()

    def slow(self: Analysis, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if self.dataset_version > int(first["x-dataset-version"]):
            building.set()
            assert gate.wait(30)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Analysis, "summary", slow)

    def fetch() -> tuple[int, str]:
        reports, headers = _summary(stale_api)
        return reports, headers["x-dataset-version"]

    old = (before, first["x-dataset-version"])
    deadline = _write_then_answers_stay_old_while_built(stale_api, "bg", fetch, old, building, gate)
    while (reports := _summary(stale_api)[0]) == before:
        assert time.monotonic() < deadline, "the body built in the background never answered"
        time.sleep(0.05)
    assert reports == before + 1


def test_a_new_tile_is_built_in_the_background_while_the_previous_one_answers(
    stale_api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    point = stale_api.areas.frame.set_index("area_id").geometry["vivalla"].representative_point()
    tile = morecantile.tms.get("WebMercatorQuad").tile(point.x, point.y, 14)
    url = f"/tiles/cells/{tile.z}/{tile.x}/{tile.y}.mvt"

    def fetch() -> tuple[bytes, str]:
        response = stale_api.client.get(url, headers=stale_api.auth("est"), params=Q)
        assert response.status_code == 200
        return response.content, response.headers["etag"]

    first = fetch()
    real, gate, building = routes.layer_tile, threading.Event(), threading.Event()

    def slow(analysis: Analysis, *args: Any, **kwargs: Any) -> bytes:
        building.set()
        assert gate.wait(30)
        return real(analysis, *args, **kwargs)

    monkeypatch.setattr(routes, "layer_tile", slow)
    deadline = _write_then_answers_stay_old_while_built(stale_api, "tile", fetch, first, building, gate)
    while fetch()[1] == first[1]:
        assert time.monotonic() < deadline, "the tile built in the background never answered"
        time.sleep(0.05)
