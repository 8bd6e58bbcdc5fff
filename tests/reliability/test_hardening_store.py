"""Issue 15, store side: a restore under a running server, and the store epoch that makes the server see it.

Before the epoch, ``hotspots restore`` of an older backup brought the dataset and accounts versions back
to numbers the server had cached under: after a few writes it served the pre-restore summary, and a key
created after the backup (absent from the restored store) was accepted again. On SQLite the server now
notices the restore at its next request; on PostgreSQL the restore refuses while a server is connected,
and a client's ETag from before the restore still never matches after it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.main import create_app
from hotspots.access import accounts
from hotspots.access.accounts import Role
from hotspots.geo.areas import Areas
from hotspots.store import backup
from hotspots.store.engine import VersionReader, Versions, migrate, open_store
from tests.api.conftest import END, Api, api_settings, make_api, report_json


def test_a_server_sees_a_restore_at_its_next_request(store_url: str, areas: Areas, tmp_path: Path) -> None:
    if store_url.startswith("postgresql") and not backup.shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on PATH")
    api = make_api(api_settings(store_url), areas)
    est, params = api.auth("est"), {"end": END.isoformat()}
    dest = tmp_path / ("backup.dump" if store_url.startswith("postgresql") else "backup.db")
    backup.backup(api.settings, dest)
    restored_reports = api.client.get("/statistics/summary", headers=est, params=params).json()["reports"]

    accounts.add_user(api.engine, "late", Role.ADMIN)
    late_key = accounts.create_key(api.engine, "late")
    writes = 3
    for i in range(writes):
        added = api.client.post("/reports", headers=api.auth("analyst"), json=report_json(api, f"late{i}"))
        assert added.status_code == 201, added.text
    before = api.client.get("/statistics/summary", headers=est, params=params)
    assert before.json()["reports"] == restored_reports + writes
    assert api.client.get("/me", headers={"X-API-Key": late_key}).status_code == 200  # cached now

    if store_url.startswith("postgresql"):
        with pytest.raises(backup.BackupError, match="stop the API server"):
            backup.restore(api.settings, dest)
        api.engine.dispose()  # the server stops ...
        backup.restore(api.settings, dest)
        api = make_server(api)  # ... and starts again on the restored store
    else:
        backup.restore(api.settings, dest)  # under the running server
    # The same writes again: before the epoch they brought the versions back to what the server cached.
    for i in range(writes):
        again = api.client.post("/reports", headers=api.auth("analyst"), json=report_json(api, f"again{i}"))
        assert again.status_code == 201, again.text
    after = api.client.get(
        "/statistics/summary", headers={**est, "If-None-Match": before.headers["etag"]}, params=params
    )
    assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
    assert after.json()["reports"] == restored_reports + writes  # the restored store's, plus the new ones
    assert api.client.get("/me", headers={"X-API-Key": late_key}).status_code == 401
    api.engine.dispose()


def test_every_restore_and_migration_starts_a_new_epoch(store_url: str, areas: Areas, tmp_path: Path) -> None:
    if store_url.startswith("postgresql") and not backup.shutil.which("pg_dump"):
        pytest.skip("pg_dump is not on PATH")
    api = make_api(api_settings(store_url), areas)
    first = _versions(api.engine)
    migrate(api.engine)  # nothing to migrate: same epoch, same versions
    assert _versions(api.engine) == first
    dest = tmp_path / ("b.dump" if store_url.startswith("postgresql") else "b.db")
    backup.backup(api.settings, dest)
    api.engine.dispose()
    seen: set[Versions] = {first}
    for _ in range(3):
        backup.restore(api.settings, dest)
        now = _versions(api.engine)
        api.engine.dispose()
        assert now.dataset >= first.dataset + 2**20 and now.accounts >= first.accounts + 2**20
        assert now not in seen
        seen.add(now)


def _versions(engine: Engine) -> Versions:
    reader = VersionReader(engine)
    try:
        return reader.read()
    finally:
        reader.close()


def make_server(old: Api) -> Api:
    """A new app on the same store and keys, as after a restart."""
    engine = open_store(old.settings)
    return Api(TestClient(create_app(old.settings, engine)), engine, old.settings, old.areas, old.keys)
