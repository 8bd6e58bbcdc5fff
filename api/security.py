"""Credentials and transport safety: signed session cookies, the login rate limit, security headers.

Nothing here keeps state in the process: a session is a signed cookie naming the user id and the user's
session generation (checked against the store, so logout, a new password or role, and disabling end every
session), and login attempts are counted in the store (:mod:`hotspots.access.throttle`), which every worker shares.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar
from urllib.parse import parse_qsl

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, ErrorDetail, error_response
from hotspots.access.untrusted import clean_text
from hotspots.config import Settings
from hotspots.errors import ConfigError
from hotspots.words import both

SESSION_COOKIE = "hotspots_session"
API_KEY_HEADER = "X-API-Key"
_SESSION_SALT = "hotspots.session.v1"
T = TypeVar("T")

_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


#: The shipped placeholder key: anyone can read it in the source, so it signs nothing.
DEV_SECRET = Settings.model_fields["secret_key"].default
MIN_SECRET_BYTES = 32


def check_secret_key(settings: Settings) -> None:
    """ConfigError unless the session key is a real one: whoever knows the key can sign an admin session,
    and loopback behind a reverse proxy is the recommended deployment, so no host is exempt."""
    key = settings.secret_key
    if key == DEV_SECRET or len(key.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            "HOTSPOTS_SECRET_KEY must be set to at least 32 random bytes (not the built-in value): "
            "`hotspots secret-key var/secret.key` creates one; point HOTSPOTS_SECRET_KEY_FILE at it"
        )


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SESSION_SALT)


def sign_session(settings: Settings, user_id: int, generation: int = 0) -> str:
    """The session cookie's value: the user id and the user's session generation
    (``hotspots.access.accounts.user_by_session``), signed and time-stamped with the secret key."""
    return _serializer(settings).dumps({"uid": user_id, "gen": generation})


def read_session(settings: Settings, token: str) -> tuple[int, int] | None:
    """(user id, generation) of a validly signed, unexpired session cookie; None for anything else."""
    try:
        data = _serializer(settings).loads(token, max_age=settings.session_max_age)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    uid, gen = data.get("uid"), data.get("gen")
    if type(uid) is not int or type(gen) is not int or not (0 <= uid < 2**63 and 0 <= gen < 2**31):
        return None
    return uid, gen


#: What a request authenticates with: ("key", the API key) or ("session", (user id, generation)).
Credential = tuple[str, str | tuple[int, int]]


def presented_credential(settings: Settings, key: str | None, session: str | None) -> Credential | None:
    """The credential a request presents: its API key if it sends one, else a validly signed, unexpired
    session cookie; None without either. The one rule the app and the response cache both apply."""
    if key:
        return ("key", key)
    if session and (signed := read_session(settings, session)) is not None:
        return ("session", signed)
    return None


class PasswordChecks:
    """Password checks (scrypt: ~50 ms of CPU and 16 MB each) on a few threads of their own, with a
    bounded queue: 300 logins at once used to fill the shared request thread pool and queue an analyst's
    request for 10 s; now they queue here, and past ``queue`` waiting ones the login answers 503."""

    def __init__(self, workers: int, queue: int = 64) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="password-check")
        self._slots = threading.BoundedSemaphore(workers + queue)

    async def run(self, check: Callable[[], T]) -> T:
        if not self._slots.acquire(blocking=False):
            raise ApiError(503, both("too_many_logins"))
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, check)
        finally:
            self._slots.release()


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, and ``Cache-Control: no-store`` unless a route chose
    its own caching (derived responses with an ETag say ``private, no-cache``): safe by default."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class NulQueryMiddleware:
    """422 naming the parameter for a query value with a NUL byte (``%00``): PostgreSQL text cannot hold
    one, so a filter like ``/reports?category=%00`` failed in the database with a 500 and its SQL
    parameters in the log. A byte search of the raw query string keeps this free for every other request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw: bytes = scope.get("query_string", b"") if scope["type"] == "http" else b""
        if b"%00" in raw or b"\x00" in raw:
            names = sorted(
                {
                    k
                    for k, v in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
                    if "\x00" in k + v
                }
            )
            if names:
                details = [
                    ErrorDetail(field=f"query.{clean_text(n, 64)}", reason="contains a NUL byte")
                    for n in names
                ]
                await error_response(
                    422, "validation_error", "NUL i frågan / NUL byte in the query", details
                )(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    """Raised from ``receive`` once a request body passes the limit."""


class BodyLimitMiddleware:
    """413 for request bodies over ``max_bytes``: at once when Content-Length says so, otherwise as soon
    as the streamed bytes pass the limit (chunked uploads carry no Content-Length). Whatever the app had
    made of the cut-off body (a parse error) is replaced by the 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = both("body_too_large", limit=self.max_bytes)
        await error_response(413, "payload_too_large", message)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await self._reject(scope, receive, send)
            return
        received = 0
        exceeded = answered = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal answered
            if not exceeded:
                await send(message)
            elif message["type"] == "http.response.start" and not answered:
                answered = True
                await self._reject(scope, receive, send)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not answered:
                await self._reject(scope, receive, send)
