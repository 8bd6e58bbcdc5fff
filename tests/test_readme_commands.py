"""The README's command examples run as written (offline ones: everything but ``serve``), in order, in a
fresh folder and store: optional ``[...]`` parts are left out, files the examples name are provided."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
from pyproj import Transformer

README = Path(__file__).resolve().parent.parent / "README.md"
HOTSPOTS = str(Path(sys.executable).with_name("hotspots"))


def readme_commands() -> list[str]:
    """``hotspots ...`` lines of the README's bash blocks, without comments and optional parts."""
    blocks = re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    commands = [re.sub(r"\s*\[[^\]]*\]", "", line) for line in lines if line.startswith("hotspots ")]
    return [c for c in commands if not c.startswith("hotspots serve")]


def _export_csv(reports: Path, target: Path) -> None:
    """export.csv as the README's SWEREF 99 TM example reads it: E and N columns in metres."""
    frame = pd.read_csv(reports, dtype=str).head(50)
    east, north = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True).transform(
        frame["lon"].astype(float), frame["lat"].astype(float)
    )
    frame = frame.drop(columns=["lat", "lon"]).assign(E=east.round(2), N=north.round(2))
    frame.assign(source_id="X" + frame["source_id"]).to_csv(target, index=False)


def test_every_offline_readme_command_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) >= 10 and any(c.startswith("hotspots measures add") for c in commands)
    env = os.environ | {"HOTSPOTS_DATABASE_URL": f"sqlite:///{tmp_path / 'readme.db'}", "COLUMNS": "200"}
    for command in commands:
        if command.startswith("hotspots import reports.csv") and not (tmp_path / "reports.csv").exists():
            shutil.copy(tmp_path / "var" / "demo" / "reports.csv", tmp_path / "reports.csv")
            _export_csv(tmp_path / "reports.csv", tmp_path / "export.csv")
        argv = [HOTSPOTS, *shlex.split(command)[1:]]
        done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])
