"""The package installs and runs outside the checkout: a wheel carries every package, the shipped data and
the migrations, and `hotspots demo-data` and `hotspots import` work from another directory."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
IGNORED = (
    ".git",
    ".venv",
    "var",
    "node_modules",
    "build",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    "artifacts",
)


def test_every_package_folder_is_listed_in_pyproject() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("hotspots", "api", "maps")
        for init in (ROOT / top).rglob("__init__.py")
    }
    found |= {"hotspots.data", "hotspots.store.migrations", "hotspots.store.migrations.versions"}
    assert found == listed


@pytest.mark.slow
def test_a_wheel_installed_elsewhere_imports_demo_data(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy: a build writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*IGNORED))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)], check=True
    )
    site = tmp_path / "site"
    (wheel,) = wheels.glob("hotspots-*.whl")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        cwd=tmp_path,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    # the installed copy, not the checkout: dependencies come from this interpreter's environment
    env = {
        **os.environ,
        "PYTHONPATH": str(site),
        "HOTSPOTS_DATABASE_URL": f"sqlite:///{work / 'store.db'}",
        "HOTSPOTS_ANALYSIS_PROCESS": "0",
    }
    env.pop("HOTSPOTS_AREAS_FILE", None)
    where = subprocess.run(
        [sys.executable, "-c", "import hotspots.config as c; print(c.__file__); print(c.DATA_DIR)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
    ).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in where), where
    cli = [sys.executable, "-c", "from hotspots.cli import main; main()"]
    subprocess.run([*cli, "demo-data", "--out", "demo", "--weeks", "8"], check=True, cwd=work, env=env)
    done = subprocess.run(
        [*cli, "import", "demo/reports.csv"], check=True, cwd=work, env=env, capture_output=True, text=True
    )
    assert "added" in done.stdout + done.stderr
