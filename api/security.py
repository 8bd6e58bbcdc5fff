"""Credentials and transport safety: signed session cookies, the login rate limit, security headers.

Nothing here keeps state in the process: a session is a signed cookie naming the user id (checked against
the store on every request, so disabling a user ends their sessions), and failed logins are counted from
the audit log, which every worker shares.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.engine import Engine
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from hotspots import audit
from hotspots.config import Settings

SESSION_COOKIE = "hotspots_session"
API_KEY_HEADER = "X-API-Key"
_SESSION_SALT = "hotspots.session.v1"
LOGIN_WINDOW = timedelta(minutes=1)

#: Swagger UI and ReDoc load their scripts from jsDelivr; every other page gets ``default-src 'self'``.
_DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
_HEADERS = {
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
}


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt=_SESSION_SALT)


def sign_session(settings: Settings, user_id: int) -> str:
    """The session cookie's value: the user id, signed and time-stamped with the secret key."""
    return _serializer(settings).dumps({"uid": user_id})


def read_session(settings: Settings, token: str) -> int | None:
    """The user id of a valid, unexpired session cookie; None for anything else."""
    try:
        data = _serializer(settings).loads(token, max_age=settings.session_max_age)
    except BadSignature:
        return None
    uid = data.get("uid") if isinstance(data, dict) else None
    return uid if isinstance(uid, int) else None


#: What a request authenticates with: ("key", the API key) or ("session", the user id of a valid cookie).
Credential = tuple[str, str | int]


def presented_credential(settings: Settings, key: str | None, session: str | None) -> Credential | None:
    """The credential a request presents: its API key if it sends one, else a validly signed, unexpired
    session cookie; None without either. The one rule the app and the response cache both apply."""
    if key:
        return ("key", key)
    if session and (uid := read_session(settings, session)) is not None:
        return ("session", uid)
    return None


def login_blocked(engine: Engine, settings: Settings, name: str, client: str) -> bool:
    """True when ``name`` from ``client`` failed to log in ``login_rate_limit`` times within a minute."""
    failures = audit.count_since(
        engine,
        action=audit.LOGIN_FAILED,
        actor=name,
        resource=f"login {client}",
        since=datetime.now(UTC) - LOGIN_WINDOW,
    )
    return failures >= settings.login_rate_limit


class SecurityHeadersMiddleware:
    """Adds the security headers to every response, and ``Cache-Control: no-store`` unless a route chose
    its own caching (derived responses with an ETag say ``private, no-cache``): safe by default."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] in DOCS_PATHS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    headers.setdefault(name, value)
                if docs:
                    headers["content-security-policy"] = _DOCS_CSP
                headers.setdefault("cache-control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
        message = f"Förfrågan är större än {self.max_bytes} byte / request body too large"
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
