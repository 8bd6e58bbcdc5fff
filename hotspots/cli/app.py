"""The typer application object and the options several commands share (declared once, as aliases)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from hotspots.audit import clean_text
from hotspots.words import Language

app = typer.Typer(
    name="hotspots",
    help="Open drug-trade hotspot mapping for EST Örebro: import reports, compute hotspots, serve the map.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

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
