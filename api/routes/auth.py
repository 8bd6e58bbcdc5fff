"""Browser login and logout: a Swedish HTML form that issues a signed, HttpOnly, SameSite=Lax session cookie.

Programs use API keys (``X-API-Key``) instead. Attempts are throttled per name and client, per name and
per client (:mod:`hotspots.access.throttle`: 429 with Retry-After); failures are written to the audit log.
Logging out ends every session of the user, not just this browser's cookie.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Cookie, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import ANY_ROLE, PUBLIC, CurrentUser, EngineDep, SettingsDep
from api.errors import responses
from api.security import SESSION_COOKIE, PasswordChecks, read_session, sign_session
from api.templating import templates
from hotspots.access import accounts, audit, throttle
from hotspots.access.accounts import Role, User

router = APIRouter(tags=["auth"])

_BAD_LOGIN = "Fel användarnamn eller lösenord."
_TOO_MANY = "För många misslyckade försök. Vänta en stund och försök igen."


class Me(BaseModel):
    """The authenticated user."""

    name: str = Field(examples=["anna"])
    role: accounts.Role
    areas: list[str] = Field(description="Områden användaren är begränsad till (tom: alla) / limited to")


def _safe_next(target: str) -> str:
    """Only same-site paths: ``next`` must not turn the login form into an open redirect."""
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _form(
    request: Request, *, status: int = 200, message: str = "", name: str = "", next_: str = "/"
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"message": message, "name": name, "next": _safe_next(next_)},
        status_code=status,
    )


@router.get(
    "/login",
    dependencies=[PUBLIC],
    response_class=HTMLResponse,
    summary="Inloggningssida / login page",
)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return _form(request, next_=next)


@router.post(
    "/login",
    dependencies=[PUBLIC],
    response_class=HTMLResponse,
    status_code=303,
    response_model=None,
    summary="Logga in / log in (sets the session cookie)",
    responses={
        401: {"description": "wrong name or password"},
        429: {"description": "too many failures"},
        503: {"description": "too many logins at once"},
    },
)
async def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    name: Annotated[str, Form(min_length=1, max_length=128)],
    password: Annotated[str, Form(min_length=1, max_length=1024)],
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Count the attempt (:mod:`hotspots.access.throttle`), then check the password on the app's own scrypt
    threads (:class:`api.security.PasswordChecks`): a burst of logins never queues other requests."""
    client = request.client.host if request.client else "unknown"
    counters = throttle.login_keys(settings, name, client)
    wait = await run_in_threadpool(throttle.reserve, engine, counters)
    if wait > 0:
        blocked = _form(request, status=429, message=_TOO_MANY, name=name, next_=next)
        blocked.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return blocked
    checks: PasswordChecks = request.app.state.password_checks
    user = await checks.run(partial(accounts.authenticate_password, engine, name, password))
    if user is None:
        await run_in_threadpool(audit.record_login_failure, engine, name, client)
        return _form(request, status=401, message=_BAD_LOGIN, name=name, next_=next)
    generation = await run_in_threadpool(_logged_in, engine, counters, user, client)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sign_session(settings, user.id, generation),
        max_age=settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
        path="/",
    )
    return response


def _logged_in(engine: Engine, counters: dict[str, throttle.Rule], user: User, client: str) -> int:
    """Clear the name's throttle, audit the login; the session generation to sign."""
    throttle.succeeded(engine, counters)
    audit.record(engine, actor=user.name, action="login", resource=f"login {client}")
    return accounts.session_generation(engine, user.id)


#: What a logout clears in the browser: HTTP cache and every storage (Cache Storage, service workers,
#: localStorage). Browsers honour it on secure origins, which include http://127.0.0.1 and localhost.
CLEAR_ON_LOGOUT = '"cache", "storage"'


@router.post(
    "/logout",
    dependencies=[PUBLIC],
    status_code=303,
    response_class=RedirectResponse,
    summary="Logga ut / log out (ends every session of the user, clears the cookie)",
)
def logout(
    engine: EngineDep,
    settings: SettingsDep,
    session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None,
) -> RedirectResponse:
    """Ends the session server-side too: a copy of the cookie (saved, stolen) stops working with it."""
    signed = read_session(settings, session) if session else None
    if signed is not None and accounts.user_by_session(engine, *signed) is not None:
        accounts.end_sessions(engine, signed[0])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    # The phone list's offline copy (service worker cache) and its queue of visits and observations
    # (localStorage) are the user's: the next person on a shared phone must neither read nor send them.
    response.headers["Clear-Site-Data"] = CLEAR_ON_LOGOUT
    return response


@router.get(
    "/me", dependencies=[ANY_ROLE], summary="Inloggad användare / current user", responses=responses(401)
)
def me(user: CurrentUser) -> Me:
    return Me(name=user.name, role=user.role, areas=list(user.areas))


#: What each role opens from the start page, in the order they use it (admin sees every link).
START_LINKS: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("/map", "Karta", frozenset({Role.EST, Role.ANALYST})),
    (
        "/priorities?format=html",
        "Prioriterade platser (mobil)",
        frozenset({Role.EST, Role.ANALYST, Role.FIELD}),
    ),
    ("/report/weekly", "Veckans lägesbild", frozenset({Role.EST, Role.ANALYST})),
    ("/exports/cells.geojson", "Export: GeoJSON (QGIS)", frozenset({Role.EST, Role.ANALYST, Role.PLANNER})),
    ("/exports/cells.gpkg", "Export: GeoPackage", frozenset({Role.EST, Role.ANALYST, Role.PLANNER})),
    ("/exports/cells.csv", "Export: CSV (Excel)", frozenset({Role.EST, Role.ANALYST, Role.PLANNER})),
    ("/reports/upload", "Importera rapporter", frozenset({Role.ANALYST})),
    ("/reports", "Rapporter (JSON)", frozenset({Role.ANALYST})),
    ("/audit", "Granskningslogg (JSON)", frozenset()),
)


@router.get(
    "/",
    dependencies=[ANY_ROLE],
    response_class=HTMLResponse,
    summary="Startsida med det rollen använder / start page with the role's links",
    # The page is HTML; its 401 is the service's JSON error body (a browser is sent to /login instead).
    responses={
        401: {"description": "authentication required", "content": {"application/json": {}}},
        303: {"description": "a browser without a session: to /login and back"},
    },
)
def start(request: Request, user: CurrentUser) -> HTMLResponse:
    """Where the login form lands: links to what this user's role may open (unauthenticated: to /login)."""
    links = [
        {"href": href, "label": label}
        for href, label, roles in START_LINKS
        if user.role is Role.ADMIN or user.role in roles
    ]
    return templates.TemplateResponse(request, "start.html", {"user": user, "links": links})
