"""``hotspots users add``, ``hotspots keys create`` and ``hotspots audit``: the key printed once works on the
API, only its hash is stored, and what the API did shows up in the audit listing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import hotspots.cli.accounts  # noqa: F401  (registers users/keys/audit until hotspots.cli imports it)
from api.main import create_app
from hotspots.cli import app
from hotspots.config import get_settings
from hotspots.store.engine import open_store
from hotspots.store.schema import api_keys

runner = CliRunner()


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_users_keys_and_audit(store_env: str) -> None:
    added = runner.invoke(app, ["users", "add", "kim", "--role", "field", "--areas", "Vivalla,oxhagen"])
    assert added.exit_code == 0, added.output
    assert "limited to vivalla, oxhagen" in added.stdout
    assert runner.invoke(app, ["users", "add", "kim", "--role", "est"]).exit_code == 1  # duplicate
    assert runner.invoke(app, ["users", "add", "eva", "--role", "est", "--areas", "vivalla"]).exit_code == 1

    created = runner.invoke(app, ["keys", "create", "kim"])
    assert created.exit_code == 0
    key = created.stdout.strip()
    assert key.startswith("hs_") and "cannot be shown again" in created.stderr
    with open_store(get_settings()).connect() as conn:
        assert key not in {row.key_hash for row in conn.execute(sa.select(api_keys.c.key_hash))}

    client = TestClient(create_app())
    me = client.get("/me", headers={"X-API-Key": key}).json()
    assert me == {"name": "kim", "role": "field", "areas": ["vivalla", "oxhagen"]}
    client.post("/login", data={"name": "kim", "password": "gissning123"})

    listed = runner.invoke(app, ["audit", "--json"])
    entries = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(e["actor"], e["action"], e["detail"]) for e in entries] == [
        ("anonymous", "login.failed", {"attempted_name": "kim"})
    ]
    assert "gissning" not in listed.stdout
    assert runner.invoke(app, ["audit", "--since", "2999-01-01", "--json"]).stdout == ""

    assert "1 key(s) of kim revoked" in runner.invoke(app, ["keys", "revoke", "kim"]).stdout
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 401


def test_users_disable_ends_keys_at_once_and_enable_restores_them(store_env: str) -> None:
    runner.invoke(app, ["users", "add", "ola", "--role", "est"])
    key = runner.invoke(app, ["keys", "create", "ola"]).stdout.strip()
    client = TestClient(create_app())
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 200
    disabled = runner.invoke(app, ["users", "disable", "ola"])
    assert disabled.exit_code == 0 and "user ola disabled" in disabled.stdout
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 401
    assert "ola" not in runner.invoke(app, ["users", "list", "--json"]).stdout
    assert "ola" in runner.invoke(app, ["users", "list", "--disabled", "--json"]).stdout
    again = runner.invoke(app, ["users", "disable", "ola"])
    assert again.exit_code == 1 and "no user 'ola' that is not disabled already" in again.output
    assert runner.invoke(app, ["users", "enable", "ola"]).exit_code == 0
    assert client.get("/me", headers={"X-API-Key": key}).status_code == 200
