"""The typer application object and the options several commands share (declared once, as aliases).

Commands are listed in workflow order (:data:`COMMANDS`) and loaded lazily: ``hotspots --help`` reads the
one-line summaries here, and ``hotspots NAME`` imports only the module that registers NAME, so neither
waits for pandas, SQLAlchemy, scipy or WeasyPrint when it does not need them.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer
import typer.main
from rich.console import Console
from rich.text import Text
from typer._click import Command, Context, HelpFormatter  # typer vendors click; its group uses these
from typer.core import TyperGroup

from hotspots.access.untrusted import clean_text
from hotspots.words import Language

#: Every command in the order a user meets them: try the demo, import, look, act, follow up, serve, run.
#: name -> (module that registers it, its line in ``hotspots --help``).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo-data": ("hotspots.cli.demo", "Write synthetic demo reports with planted hotspots."),
    "demo-measures": ("hotspots.cli.demo", "Record the demo's planted measures in the store."),
    "demo-logins": ("hotspots.cli.demo", "Create one demo user per role for trying the map locally."),
    "import": ("hotspots.cli.ingest", "Import reports from CSV, GeoJSON or GeoPackage."),
    "status": ("hotspots.cli.ingest", "What the store holds, by area and category."),
    "compute": ("hotspots.cli.compute", "Compute the hotspot statistics, summarised per area."),
    "map": ("hotspots.cli.map", "Write a self-contained HTML map of the current picture."),
    "priorities": ("hotspots.cli.priorities", "Ranked places to act on, with reasons."),
    "report": ("hotspots.cli.report", "The weekly situation report (HTML or PDF)."),
    "measures": ("hotspots.cli.measures", "Measures: add, list, end, follow up."),
    "backtest": ("hotspots.cli.backtest", "How well each ranking predicted the next period."),
    "secret-key": ("hotspots.cli.serve", "Create the session signing key file once (0600)."),
    "serve": ("hotspots.cli.serve", "Serve the API, the login page and the map."),
    "users": ("hotspots.cli.accounts", "Users and roles."),
    "keys": ("hotspots.cli.accounts", "API keys."),
    "audit": ("hotspots.cli.accounts", "Who read or changed report-level data."),
    "backup": ("hotspots.cli.ops", "Copy the store while it runs."),
    "restore": ("hotspots.cli.ops", "Replace a store's contents with a backup."),
    "purge": ("hotspots.cli.ops", "Delete reports past the retention period."),
}


class WorkflowGroup(TyperGroup):
    """The command group: workflow order, summaries from :data:`COMMANDS`, modules imported on use."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in COMMANDS:
            return None
        importlib.import_module(COMMANDS[cmd_name][0])  # registers its commands on ``app``
        return typer.main.get_group(app).commands.get(cmd_name)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


app = typer.Typer(
    name="hotspots",
    cls=WorkflowGroup,
    rich_markup_mode=None,  # plain help: the rich formatter would import every command for its table
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def hotspots() -> None:
    """Open drug-trade hotspot mapping for EST Örebro: import reports, compute hotspots, serve the map."""


#: Human output (tables, summaries) goes to stdout; progress and errors to stderr.
console = Console()
err_console = Console(stderr=True)


def safe(value: object) -> Text:
    """Stored or user-given text as it may reach a terminal: no rich markup (``[link=…]`` from a login
    name rendered as a link) and no control characters (ESC sequences cleared the screen and set the
    window title). Every table cell and message that shows such text goes through here."""
    return Text(clean_text(str(value), 10_000))


def fail(exc: Exception) -> typer.Exit:
    """Say what went wrong on stderr and give the exit to raise: ``raise fail(exc) from exc``."""
    err_console.print(Text.assemble(("error:", "red"), " ", safe(exc)), highlight=False)
    return typer.Exit(1)


JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


LangOpt = Annotated[Language, typer.Option(help="Language of labels, reasons and text (sv or en).")]
