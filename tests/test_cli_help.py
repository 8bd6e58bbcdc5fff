"""``hotspots --help``: every command, in workflow order, in English, without importing the heavy stacks;
and every listed command is the one its module registers."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from hotspots.cli.app import COMMANDS, app

PROBE = """
import sys
sys.argv = ["hotspots", "--help"]
from hotspots.cli import main
try:
    main()
except SystemExit:
    pass
print("LOADED", sorted({"pandas", "sqlalchemy", "scipy", "weasyprint", "folium"} & set(sys.modules)))
"""


def test_help_lists_every_command_in_workflow_order_without_loading_pandas() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    commands, loaded = out.split("Commands:")[1].split("LOADED")
    assert [line.split()[0] for line in commands.splitlines() if line.strip()] == list(COMMANDS)
    assert loaded.strip() == "[]"  # nothing heavy was imported for the help
    assert not any(word in out for word in ("Användare", "nycklar", "insatser"))  # one language


def test_every_listed_command_runs_its_own_help() -> None:
    runner = CliRunner()
    for name in COMMANDS:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output and name in result.output
