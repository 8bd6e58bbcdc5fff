"""The ranking is re-chosen after imports through the API too (issue 13 item 2), after the answer and never
twice at once."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.reselection import Reselection
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.ingest import pipeline as ingest
from hotspots.ranking import choice
from hotspots.ranking.backtest import study_lattice
from hotspots.store.engine import open_store
from tests.test_ranking_choice import _weeks
from tests.towns import square_town


def test_api_imports_advance_the_choice_in_force(tmp_path: Path) -> None:
    settings, areas, to_wgs84, centre = square_town(tmp_path, "Centrum", 1500)
    engine = open_store(settings)
    ingest.import_frame(
        engine, _weeks("2024-06-03", "2025-11-30", to_wgs84, centre, seed=2), settings=settings, areas=areas
    )
    first = choice.select(engine, settings, lambda r: study_lattice(r, settings, areas))
    accounts.add_user(engine, "analytiker", Role.ANALYST, password="analytikerlösen-1234")
    key = {"X-API-Key": accounts.create_key(engine, "analytiker")}
    client = TestClient(create_app(settings, engine))

    week = _weeks("2025-12-01", "2025-12-07", to_wgs84, centre, seed=9).to_csv(index=False).encode()
    answer = client.post("/reports/import", files={"file": ("week.csv", week, "text/csv")}, headers=key)
    assert answer.status_code == 201, answer.text
    after_import = choice.in_force(engine)
    assert after_import is not None
    assert after_import.chosen_at > first.chosen_at and after_import.evidence["last"] > first.evidence["last"]
    assert after_import.dataset_version > first.dataset_version

    week = _weeks("2025-12-08", "2025-12-14", to_wgs84, centre, seed=10).to_csv(index=False).encode()
    page = client.post("/reports/upload", files={"file": ("week2.csv", week, "text/csv")}, headers=key)
    assert page.status_code == 200, page.text
    after_upload = choice.in_force(engine)
    assert after_upload is not None
    assert after_upload.evidence["last"] > after_import.evidence["last"]

    # The same file again adds nothing: no new evidence, no new choice.
    again = client.post("/reports/import", files={"file": ("week2.csv", week, "text/csv")}, headers=key)
    assert again.status_code == 201 and again.json()["rows_added"] == 0
    assert choice.in_force(engine).chosen_at == after_upload.chosen_at  # type: ignore[union-attr]
    engine.dispose()


def test_one_run_at_a_time_and_imports_during_a_run_coalesce(monkeypatch: pytest.MonkeyPatch) -> None:
    running, overlap, calls = [0], [0], [0]
    lock = threading.Lock()

    def slow(*_: Any) -> None:
        with lock:
            running[0] += 1
            calls[0] += 1
            overlap[0] = max(overlap[0], running[0])
        time.sleep(0.3)
        with lock:
            running[0] -= 1

    monkeypatch.setattr("hotspots.ranking.choice.reselect_after_import", slow)
    reselection = Reselection()
    first = threading.Thread(target=reselection.run, args=(None, None, None))
    first.start()
    time.sleep(0.1)  # the first run is under way: three more imports arrive
    others = [threading.Thread(target=reselection.run, args=(None, None, None)) for _ in range(3)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join()
    assert overlap[0] == 1  # never two at once
    assert calls[0] == reselection.runs == 2  # the three later imports: one more run, after the first
