"""``hotspots measures``: record what EST decided where, list and end measures, and follow them up.

    hotspots measures add --type kamerabevakning --org Polisen --lat 59.2712 --lon 15.2133 --radius 150 \\
        --start 2026-05-18
    hotspots measures list --active
    hotspots measures end 3 --date 2026-09-30
    hotspots measures delete 3
    hotspots measures follow-up 3 --days 56 --json
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from hotspots.cli.app import JsonOpt, LangOpt, app, console, fail, safe
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.store.engine import open_store
from hotspots.words import CLI, Language

measures_app = typer.Typer(
    help="Measures (insatser): add, list, end, delete, follow up.", no_args_is_help=True
)
app.add_typer(measures_app, name="measures")

DateOpt = Annotated[datetime, typer.Option(formats=["%Y-%m-%d"])]


@measures_app.command("add")
def add_command(
    type_: Annotated[
        str,
        typer.Option("--type", help="What is done, e.g. patrullering, kamerabevakning, belysning, städning."),
    ],
    organisation: Annotated[str, typer.Option("--org", "--organisation", help="Responsible organisation.")],
    start: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="First day.")],
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last day (open if left out).")
    ] = None,
    lat: Annotated[float | None, typer.Option(help="Point (WGS84) with --lon and --radius.")] = None,
    lon: Annotated[float | None, typer.Option()] = None,
    radius: Annotated[
        float | None, typer.Option("--radius", "--radius-m", help="Metres around the point (default 100).")
    ] = None,
    cell: Annotated[list[str] | None, typer.Option("--cell", help="H3 cell id; repeatable.")] = None,
    polygon: Annotated[
        Path | None, typer.Option(help="GeoJSON file with the (Multi)Polygon (WGS84).")
    ] = None,
    note: Annotated[str, typer.Option(help="Free text.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Record a measure placed by a point and radius, H3 cells, or a polygon."""
    from hotspots.measures.records import record_measure

    try:
        geometry = None
        if polygon is not None:
            raw = json.loads(polygon.read_text(encoding="utf-8"))
            feature = raw["features"][0] if raw.get("type") == "FeatureCollection" else raw
            geometry = feature.get("geometry", feature)
        measure = record_measure(
            open_store(get_settings()),
            type=type_,
            organisation=organisation,
            start=start.date(),
            end=end.date() if end else None,
            lat=lat,
            lon=lon,
            radius_m=radius,
            cells=cell,
            polygon=geometry,
            note=note,
        )
    except (HotspotsError, OSError, ValueError, KeyError, IndexError) as exc:
        raise fail(exc) from exc
    if as_json:
        print(json.dumps(measure.to_dict(), ensure_ascii=False))
    else:
        console.print(
            safe(
                f"measure {measure.id} recorded: {measure.type} ({measure.organisation}) from {measure.start}"
            )
        )


@measures_app.command("list")
def list_command(
    active: Annotated[bool, typer.Option("--active", help="Only measures in force today.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The recorded measures, oldest first."""
    from hotspots.measures.records import list_measures

    found = list_measures(
        open_store(get_settings()), active_on=date.today() if active else None, invalid=True
    )
    if as_json:
        print(json.dumps([m.to_dict() for m in found], ensure_ascii=False))
        return
    table = Table(title="Insatser")
    for column in ("id", "typ", "ansvarig", "plats", "start", "slut", "notering"):
        table.add_column(column)
    for m in found:
        where = f"{m.lat:.5f}, {m.lon:.5f}" + (
            f" r {m.radius_m:.0f} m" if m.radius_m else f" ({m.place_kind})"
        )
        note = f"UNUSABLE ({m.problem}) {m.note}" if m.problem else m.note
        table.add_row(str(m.id), safe(m.type), safe(m.organisation), where, str(m.start), str(m.end or "–"),
                      safe(note))  # fmt: skip
    console.print(table)


@measures_app.command("end")
def end_command(
    measure_id: Annotated[int, typer.Argument(help="The measure's id.")],
    day: Annotated[datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="Last day.")],
) -> None:
    """Set a measure's last day."""
    from hotspots.measures.records import end_measure

    try:
        measure = end_measure(open_store(get_settings()), measure_id, day.date())
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(f"measure {measure.id} ends {measure.end}")


@measures_app.command("delete")
def delete_command(measure_id: Annotated[int, typer.Argument(min=1, help="The measure's id.")]) -> None:
    """Delete a measure (also one whose stored row is unusable); written to the audit log."""
    from hotspots.measures.records import delete_measure

    try:
        measure = delete_measure(open_store(get_settings()), measure_id, actor="cli")
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(safe(f"measure {measure.id} deleted: {measure.type} ({measure.organisation})"))


@measures_app.command("follow-up")
def follow_up_command(
    measure_id: Annotated[int, typer.Argument(help="The measure's id.")],
    days: Annotated[
        int | None, typer.Option(min=1, help="Length of each period (default: since start).")
    ] = None,
    buffer: Annotated[
        float | None, typer.Option(help="Buffer ring in metres (default from settings).")
    ] = None,
    control_area: Annotated[
        list[str] | None, typer.Option("--control-area", help="Control = these area ids; repeatable.")
    ] = None,
    as_json: JsonOpt = False,
    lang: LangOpt = Language.sv,
) -> None:
    """Before/after counts in target, buffer and control, and the Weighted Displacement Quotient."""
    from hotspots.measures.follow_up import follow_up

    settings = get_settings()
    try:
        result = follow_up(
            open_store(settings), measure_id, settings=settings, days=days, buffer_m=buffer,
            control_areas=control_area,
        )  # fmt: skip
    except HotspotsError as exc:
        raise fail(exc) from exc
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    m, t = result["measure"], CLI[lang]
    table = Table(
        title=safe(
            t["follow_up_title"].format(
                type=m["type"], org=m["organisation"], days=result["days"], start=m["start"]
            )
        )
    )
    for column in ("zone", "before", "after"):
        table.add_column(t[column])
    for zone, label in (
        ("target", t["target"]),
        ("buffer", t["buffer"].format(m=f"{result['buffer_m']:.0f}")),
        ("control", t["control"]),
    ):
        table.add_row(label, str(result["counts"][zone]["before"]), str(result["counts"][zone]["after"]))
    console.print(table)
    wdq = result["wdq"]
    console.print(f"WDQ: {'–' if wdq is None else f'{wdq:.2f}'} – {result['reading'][lang]}")
    if result["total_net_effect"] is not None:
        console.print(t["net_effect"].format(n=f"{result['total_net_effect']:.1f}"))
    if not result["complete"]:
        console.print(f"[yellow]{t['incomplete']}[/]")
