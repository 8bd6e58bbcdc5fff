"""Users, roles and API keys: who may use the service, with secrets stored only as hashes.

Passwords are hashed with scrypt (memory-hard, in the standard library); API keys are 32 random bytes, so
a plain SHA-256 of the key is enough to store (no dictionary to attack) and lets a key be looked up by hash.

Usage (needs a store, so not a doctest)::

    add_user(engine, "anna", Role.EST)
    key = create_key(engine, "anna")
    authenticate_key(engine, key).role  # Role.EST
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from hotspots.access.untrusted import clean_text
from hotspots.errors import HotspotsError
from hotspots.store.engine import ACCOUNTS_VERSION, bump_version
from hotspots.store.schema import api_keys, users

#: scrypt cost (n = 2**14, r = 8: ~16 MB and ~50 ms per check; OWASP's minimum for scrypt).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
KEY_PREFIX = "hs_"
MIN_PASSWORD_CHARS = 10


class Role(StrEnum):
    """Roles of DESIGN.md "Access and privacy"."""

    ADMIN = "admin"  # everything, including accounts and the audit log
    ANALYST = "analyst"  # imports and raw, report-level data
    EST = "est"  # map, statistics, lists, measures
    FIELD = "field"  # priority lists, optionally limited to some areas
    PLANNER = "planner"  # aggregated exports only


class AccountError(HotspotsError):
    """An account request that cannot be carried out (unknown user, duplicate name, weak password)."""


class User(NamedTuple):
    """An authenticated principal. ``areas`` is empty when the user is not limited to some areas.

    >>> User(1, "kim", Role.FIELD, ("vivalla",)).limited
    True
    """

    id: int
    name: str
    role: Role
    areas: tuple[str, ...] = ()

    @property
    def limited(self) -> bool:
        return bool(self.areas)


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt_hex$hash_hex``: the parameters travel with the hash so they can be raised later."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time check of ``password`` against a :func:`hash_password` string."""
    try:
        scheme, n, r, p, salt_hex, hash_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(digest.hex(), hash_hex)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _user(row: Any) -> User:
    areas = tuple(a for a in (row.areas or "").split(",") if a)
    return User(id=int(row.id), name=row.name, role=Role(row.role), areas=areas)


_USER_COLUMNS = (users.c.id, users.c.name, users.c.role, users.c.areas)


def add_user(
    engine: Engine,
    name: str,
    role: Role,
    *,
    areas: tuple[str, ...] = (),
    password: str | None = None,
) -> User:
    """Create a user. ``areas`` limits a field user to those area ids (other roles see every area)."""
    name = name.strip()
    if not name or len(name) > 128:
        raise AccountError("user name must be 1-128 characters")
    if clean_text(name, 128) != name:
        raise AccountError("user name must not contain control characters")
    if areas and role != Role.FIELD:
        raise AccountError("only field users can be limited to areas")
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first():
            raise AccountError(f"user {name!r} already exists")
        bump_version(conn, ACCOUNTS_VERSION)
        result = conn.execute(
            sa.insert(users).values(
                name=name,
                role=role.value,
                areas=",".join(areas) or None,
                password_hash=hash_password(password) if password else None,
                created_at=datetime.now(UTC),
            )
        )
        return User(int(result.inserted_primary_key[0]), name, role, tuple(areas))  # type: ignore[index]


def get_user(engine: Engine, name: str) -> User:
    """An enabled user by name; AccountError if there is none."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS).where(users.c.name == name, users.c.disabled == sa.false())
        ).first()
    if row is None:
        raise AccountError(f"no user {name!r}")
    return _user(row)


def user_by_session(engine: Engine, user_id: int, generation: int) -> User | None:
    """The enabled user a session cookie names, if the cookie's generation is still the user's: logout,
    a new password, a new role and disabling bump it (:func:`_end_sessions`), so older cookies fail even
    though their signature and age are fine, and enabling the user again does not revive them."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS).where(
                users.c.id == user_id,
                users.c.session_generation == generation,
                users.c.disabled == sa.false(),
            )
        ).first()
    return _user(row) if row else None


def session_generation(engine: Engine, user_id: int) -> int:
    """The generation a new session cookie of ``user_id`` is signed with."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(users.c.session_generation).where(users.c.id == user_id)).scalar()
    return int(value or 0)


def _end_sessions(conn: Connection, user_id: int) -> None:
    """Invalidate every session cookie of ``user_id`` (in the caller's transaction); the accounts version
    changes with it, so no worker's credential cache keeps one."""
    conn.execute(
        sa.update(users)
        .where(users.c.id == user_id)
        .values(session_generation=users.c.session_generation + 1)
    )
    bump_version(conn, ACCOUNTS_VERSION)


def end_sessions(engine: Engine, user_id: int) -> None:
    """Log ``user_id`` out everywhere (``POST /logout``: a copied cookie dies with the browser's)."""
    with engine.begin() as conn:
        _end_sessions(conn, user_id)


def set_password(engine: Engine, name: str, password: str) -> None:
    """A new password; it ends every session of the user."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    user = get_user(engine, name)
    with engine.begin() as conn:
        conn.execute(
            sa.update(users).where(users.c.id == user.id).values(password_hash=hash_password(password))
        )
        _end_sessions(conn, user.id)


def set_role(engine: Engine, name: str, role: Role) -> User:
    """Give user ``name`` another role; it ends every session (a cookie must not keep the old rights).
    A field user's area limit goes with the field role."""
    user = get_user(engine, name)
    areas = user.areas if role is Role.FIELD else ()
    with engine.begin() as conn:
        conn.execute(
            sa.update(users)
            .where(users.c.id == user.id)
            .values(role=role.value, areas=",".join(areas) or None)
        )
        _end_sessions(conn, user.id)
    return User(user.id, user.name, role, areas)


def create_key(engine: Engine, name: str) -> str:
    """A new API key for user ``name``. Returned once; only its hash is stored."""
    user = get_user(engine, name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(api_keys).values(
                user_id=user.id, prefix=key[:10], key_hash=_key_hash(key), created_at=datetime.now(UTC)
            )
        )
        bump_version(conn, ACCOUNTS_VERSION)
    return key


def revoke_keys(engine: Engine, name: str) -> int:
    """Revoke every active key of user ``name``; returns how many."""
    user = get_user(engine, name)
    with engine.begin() as conn:
        revoked = conn.execute(
            sa.update(api_keys)
            .where(api_keys.c.user_id == user.id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        ).rowcount
        bump_version(conn, ACCOUNTS_VERSION)
    return revoked


def set_disabled(engine: Engine, name: str, disabled: bool) -> None:
    """Disable (or enable again) user ``name``. Disabling stops their keys and sessions at once, in every
    worker (the accounts version changes, so no cached credential outlives it); the row stays for the
    audit log. Enabling restores the keys that were not revoked, but no session: disabling ended them."""
    with engine.begin() as conn:
        changed = conn.execute(
            sa.update(users)
            .where(users.c.name == name, users.c.disabled != disabled)
            .values(disabled=disabled, session_generation=users.c.session_generation + 1)
        ).rowcount
        if not changed:
            state = "disabled" if disabled else "enabled"
            raise AccountError(f"no user {name!r} that is not {state} already")
        bump_version(conn, ACCOUNTS_VERSION)


def authenticate_key(engine: Engine, key: str) -> User | None:
    """The enabled user owning an active ``key``, else None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS)
            .join(api_keys, api_keys.c.user_id == users.c.id)
            .where(
                api_keys.c.key_hash == _key_hash(key),
                api_keys.c.revoked_at.is_(None),
                users.c.disabled == sa.false(),
            )
        ).first()
    return _user(row) if row else None


def authenticate_password(engine: Engine, name: str, password: str) -> User | None:
    """The enabled user ``name`` if ``password`` matches, else None (also for users without a password,
    and for a name with control characters or NUL, which no user has and PostgreSQL cannot compare)."""
    if clean_text(name, 128) != name:
        hash_password(password)
        return None
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(*_USER_COLUMNS, users.c.password_hash).where(
                users.c.name == name, users.c.disabled == sa.false()
            )
        ).first()
    if row is None or not row.password_hash:
        hash_password(password)  # same work either way: response time does not reveal which names exist
        return None
    return _user(row) if verify_password(password, row.password_hash) else None


def list_users(engine: Engine, *, disabled: bool = False) -> list[User]:
    """Enabled users by name (``disabled=True``: the disabled ones)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(*_USER_COLUMNS).where(users.c.disabled == disabled).order_by(users.c.name)
        ).all()
    return [_user(r) for r in rows]
