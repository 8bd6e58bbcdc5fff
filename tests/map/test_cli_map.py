"""``hotspots map --out``: one self-contained HTML file of the current picture."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hotspots.cli.map  # noqa: F401  (registers the command until hotspots/cli/__init__.py imports it)
from hotspots.cli.app import app
from hotspots.config import get_settings
from tests.conftest import DemoStore
from tests.map.conftest import MapServer


@pytest.fixture
def demo_env(demo_store: DemoStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", demo_store.settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_map_command_writes_a_self_contained_page(
    demo_env: None, map_server: MapServer, tmp_path: Path
) -> None:
    out = tmp_path / "v46" / "lagesbild.html"
    result = CliRunner().invoke(
        app, ["map", "--out", str(out), "--end", str(map_server.demo.end), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert not re.findall(r'<script[^>]* src=|<link[^>]* rel="stylesheet"', html)
    analysis = map_server.analysis(window="28d")
    hot = int((analysis.gi.gi_bin > 0).sum())
    assert len(re.findall(r'"gi_bin": [123],', html)) == hot
    assert "Hot spot analysis (Gi*)" in html and "L.vectorGrid" in html


def test_map_command_rejects_a_bad_window(demo_env: None, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["map", "--out", str(tmp_path / "x.html"), "--window", "soon"])
    assert result.exit_code == 1
    assert not (tmp_path / "x.html").exists()
