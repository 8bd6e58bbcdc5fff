"""``hotspots users``, ``hotspots keys`` and ``hotspots audit``: accounts and the audit log.

hotspots users add anna --role est --password        # prompts for the password
hotspots users add kim --role field --areas vivalla,baronbackarna
hotspots users list
hotspots users disable anna                          # keys and sessions stop working at once
hotspots users list --disabled; hotspots users enable anna   # keys again; old sessions stay ended
hotspots users role anna analyst                     # ends anna's sessions
hotspots keys create anna                            # prints the key once; only its hash is stored
hotspots keys revoke anna
hotspots audit --since 2026-11-01
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from hotspots.access import accounts, audit
from hotspots.access.accounts import Role
from hotspots.cli.app import JsonOpt, app, console, err_console, fail, safe
from hotspots.config import get_settings
from hotspots.errors import HotspotsError
from hotspots.geo.areas import load_areas
from hotspots.store.engine import open_store

users_app = typer.Typer(help="Användare och roller / users and roles.", no_args_is_help=True)
keys_app = typer.Typer(help="API-nycklar / API keys.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")

NameArg = Annotated[str, typer.Argument(help="User name.")]


@users_app.command("add")
def users_add(
    name: NameArg,
    role: Annotated[Role, typer.Option(help="admin, analyst, est, field or planner.")],
    areas: Annotated[
        str | None, typer.Option(help="Field users only: comma-separated area ids or names they may see.")
    ] = None,
    password: Annotated[
        bool, typer.Option("--password", help="Prompt for a password (for the browser login).")
    ] = False,
) -> None:
    """Add a user (API keys are created separately with ``hotspots keys create``)."""
    settings = get_settings()
    secret = typer.prompt("Password", hide_input=True, confirmation_prompt=True) if password else None
    try:
        wanted = [a.strip() for a in (areas or "").split(",") if a.strip()]
        area_ids = tuple(load_areas(settings).resolve(wanted) or ())
        user = accounts.add_user(open_store(settings), name, role, areas=area_ids, password=secret)
    except HotspotsError as exc:
        raise fail(exc) from exc
    limited = f", limited to {', '.join(user.areas)}" if user.areas else ""
    console.print(safe(f"user {user.name} added with role {user.role.value}{limited}"))


@users_app.command("list")
def users_list(
    as_json: JsonOpt = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="List the disabled users instead.")] = False,
) -> None:
    """List users and their roles."""
    users = accounts.list_users(open_store(get_settings()), disabled=disabled)
    if as_json:
        print(json.dumps([{"name": u.name, "role": u.role.value, "areas": list(u.areas)} for u in users]))
        return
    table = Table("name", "role", "areas")
    for u in users:
        table.add_row(safe(u.name), u.role.value, safe(", ".join(u.areas) or "alla"))
    console.print(table)


@users_app.command("disable")
def users_disable(name: NameArg) -> None:
    """Disable a user: their keys and browser sessions stop working at once (the audit log keeps the name)."""
    _set_disabled(name, True)


@users_app.command("enable")
def users_enable(name: NameArg) -> None:
    """Enable a disabled user again (their keys that were not revoked work again; sessions do not)."""
    _set_disabled(name, False)


def _set_disabled(name: str, disabled: bool) -> None:
    try:
        accounts.set_disabled(open_store(get_settings()), name, disabled)
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(safe(f"user {name} {'disabled' if disabled else 'enabled'}"))


@users_app.command("role")
def users_role(name: NameArg, role: Annotated[Role, typer.Argument(help="The new role.")]) -> None:
    """Give a user another role; their sessions end (keys keep working, with the new role)."""
    try:
        user = accounts.set_role(open_store(get_settings()), name, role)
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(safe(f"user {user.name} now has role {user.role.value}; their sessions were ended"))


@keys_app.command("create")
def keys_create(name: NameArg) -> None:
    """Create an API key for a user and print it once (send it as the ``X-API-Key`` header)."""
    try:
        key = accounts.create_key(open_store(get_settings()), name)
    except HotspotsError as exc:
        raise fail(exc) from exc
    err_console.print("Store this key now; it cannot be shown again.")
    print(key)


@keys_app.command("revoke")
def keys_revoke(name: NameArg) -> None:
    """Revoke every active key of a user."""
    try:
        count = accounts.revoke_keys(open_store(get_settings()), name)
    except HotspotsError as exc:
        raise fail(exc) from exc
    console.print(safe(f"{count} key(s) of {name} revoked"))


@app.command("audit")
def audit_command(
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M"], help="From this UTC date/time.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Only this user.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many entries.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Who read or changed report-level data, when, with which filter (newest first)."""
    entries = audit.query(
        open_store(get_settings()),
        since=since.replace(tzinfo=UTC) if since else None,
        actor=actor,
        limit=limit,
    )
    if as_json:
        for e in entries:
            print(json.dumps({**e._asdict(), "at": e.at.isoformat()}))  # ASCII: no raw control bytes
        return
    table = Table("time (UTC)", "actor", "action", "resource", "rows", "filter")
    for e in entries:
        table.add_row(
            e.at.strftime("%Y-%m-%d %H:%M:%S"),
            safe(e.actor),
            safe(e.action),
            safe(e.resource),
            "" if e.rows is None else str(e.rows),
            safe(json.dumps(e.detail, ensure_ascii=False)) if e.detail else "",
        )
    console.print(table)
