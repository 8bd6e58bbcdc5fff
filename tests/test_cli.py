"""The ``hotspots`` command line as an analyst uses it: demo-data, import, status, compute."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hotspots.cli import app
from hotspots.config import get_settings

runner = CliRunner()


@pytest.fixture
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh SQLite store selected through HOTSPOTS_DATABASE_URL, as a user would configure it."""
    monkeypatch.setenv("HOTSPOTS_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_demo_import_status_compute(store_env: Path) -> None:
    code, out, _ = invoke(
        "demo-data", "--out", str(store_env / "demo"), "--weeks", "8", "--end", "2026-11-15"
    )
    assert code == 0, out
    csv = store_env / "demo" / "reports.csv"
    rows = sum(1 for _ in csv.open(encoding="utf-8")) - 1

    code, out, err = invoke("import", str(csv), "--quiet")
    assert code == 0, err
    assert f"{rows} added" in out

    code, out, _ = invoke("import", str(csv), "--quiet")
    assert code == 0 and "nothing added" in out

    code, out, _ = invoke("status", "--json")
    status = json.loads(out)
    assert status["reports"] == rows and isinstance(status["reports"], int)
    assert sum(status["by_area"].values()) == rows
    assert sum(status["by_category"].values()) == rows
    assert status["first"] < status["last"]
    assert "Vivalla" in status["by_area"]

    code, out, _ = invoke("compute", "--end", "2026-11-15", "--area", "Vivalla", "--json")
    assert code == 0
    summary = json.loads(out)
    assert list(summary["areas"]) == ["vivalla"]
    assert summary["areas"]["vivalla"]["reports"] == summary["reports"] > 0


def test_rejected_import_exits_non_zero_and_names_the_row(store_env: Path) -> None:
    bad = store_env / "bad.csv"
    bad.write_text(
        "source,source_id,occurred_at,category,lat,lon\n"
        "police,1,2026-03-10T21:00:00+01:00,seizure,59.2985,15.1875\n"
        "police,2,2026-03-10T21:00:00+01:00,seizure,59.2985,north\n",
        encoding="utf-8",
    )
    code, _, err = invoke("import", str(bad), "--quiet")
    assert code == 1
    assert "row 3" in err and "lat/lon" in err
    code, out, _ = invoke("status", "--json")
    assert json.loads(out)["reports"] == 0


def test_skip_invalid_writes_rejects_file(store_env: Path) -> None:
    bad = store_env / "mixed.csv"
    bad.write_text(
        "source,source_id,occurred_at,category,lat,lon\n"
        "police,1,2026-03-10T21:00:00+01:00,seizure,59.2985,15.1875\n"
        "police,2,2026-03-10T21:00:00+01:00,knitting,59.2985,15.1875\n",
        encoding="utf-8",
    )
    rejects = store_env / "rejects.csv"
    code, out, _ = invoke("import", str(bad), "--skip-invalid", "--rejects", str(rejects), "--quiet")
    assert code == 0 and "1 added" in out and "1 rejected" in out
    assert "3;category;knitting" in rejects.read_text(encoding="utf-8-sig")  # Excel: the header is row 1


def test_unknown_area_is_a_clear_error(store_env: Path) -> None:
    code, _, err = invoke("compute", "--area", "Atlantis")
    assert code != 0
    assert "unknown area" in err.lower() or "Atlantis" in err


def test_the_cli_starts_without_the_statistics_map_and_report_stacks() -> None:
    """Every command, ``--help`` included, used to pay for importing scipy.stats, matplotlib, folium and
    WeasyPrint (~3 s here) before doing anything; the commands that need them import them when run."""
    heavy = ("scipy.stats", "matplotlib", "folium", "weasyprint", "hotspots.analysis.compute", "maps.page")
    probe = f"import sys, hotspots.cli; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
