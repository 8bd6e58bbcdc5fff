"""Login throttling, counted in the store so every worker shares it and no race gets past it.

Three counters per attempt, each a row of ``login_throttle``:

- **name and client**: strict: after ``login_rate_limit`` failures, one try a minute. It stops a guesser
  without touching the real user, who logs in from another address.
- **name** (any client): exponential backoff: after ``login_account_free`` failures each try waits
  1, 2, 4 … s, at most 5 minutes. A guesser with many addresses slows down; the real user is delayed,
  never locked out.
- **client** (any name): after ``login_client_limit`` failures, one try a minute: spraying many names.

An attempt is *counted before the password is checked*, in one transaction that reads and raises the
counters under a lock (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL): a hundred
concurrent guesses cannot all pass a check made before any of them was recorded. A blocked attempt
counts nothing (so waiting it out works) and costs no scrypt. A success clears the name's counters.
A counter idle for 15 minutes starts again from zero.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from hotspots.access.untrusted import clean_text
from hotspots.config import Settings
from hotspots.store.engine import transaction
from hotspots.store.schema import login_throttle

_US = 1_000_000
IDLE_RESET_US = 15 * 60 * _US
MAX_NAME = 128


class Rule(NamedTuple):
    """``free`` failures cost nothing; each further one makes the next try wait ``base_s * 2**excess``
    seconds, at most ``cap_s``."""

    free: int
    base_s: float
    cap_s: float

    def delay_us(self, failures: int) -> int:
        if failures < self.free:
            return 0
        return int(min(self.base_s * 2.0 ** min(failures - self.free, 30), self.cap_s) * _US)


def _now_us() -> int:
    return int(datetime.now(UTC).timestamp() * _US)


def login_keys(settings: Settings, name: str, client: str) -> dict[str, Rule]:
    """The three counters an attempt by ``name`` from ``client`` is counted against (control characters
    and NUL dropped: no user name holds them, and PostgreSQL text cannot)."""
    name, client = clean_text(name, MAX_NAME), clean_text(client, MAX_NAME)
    return {
        f"pair\x1f{name}\x1f{client}": Rule(settings.login_rate_limit, 60.0, 60.0),
        f"name\x1f{name}": Rule(settings.login_account_free, 1.0, 300.0),
        f"client\x1f{client}": Rule(settings.login_client_limit, 60.0, 60.0),
    }


def reserve(engine: Engine, rules: dict[str, Rule]) -> float:
    """Count one attempt against every key, atomically; 0.0 when the attempt may go ahead, else the
    seconds to wait (and nothing is counted)."""
    keys = sorted(rules)  # one lock order: concurrent reservations cannot deadlock
    insert = sqlite_insert if engine.dialect.name == "sqlite" else postgresql_insert
    with transaction(engine) as conn:
        conn.execute(
            insert(login_throttle)
            .values([{"key": k, "failures": 0, "last_us": 0, "next_us": 0} for k in keys])
            .on_conflict_do_nothing()
        )
        select = (
            sa.select(login_throttle).where(login_throttle.c.key.in_(keys)).order_by(login_throttle.c.key)
        )
        if conn.dialect.name != "sqlite":
            select = select.with_for_update()
        rows = {r.key: r for r in conn.execute(select)}
        now = (
            _now_us()
        )  # taken holding the locks: a reservation that waited for them sees the time it got them
        failures = {k: 0 if now - rows[k].last_us > IDLE_RESET_US else int(rows[k].failures) for k in keys}
        wait = max((rows[k].next_us - now for k in keys if failures[k]), default=0)
        if wait > 0:
            return wait / _US
        for key in keys:
            count = failures[key] + 1
            conn.execute(
                sa.update(login_throttle)
                .where(login_throttle.c.key == key)
                .values(failures=count, last_us=now, next_us=now + rules[key].delay_us(count))
            )
    return 0.0


def succeeded(engine: Engine, rules: dict[str, Rule]) -> None:
    """The attempt was the right password: the name's counters start again; the client's reservation is
    given back (a client that also holds a valid account cannot reset its spraying count by logging in)."""
    with transaction(engine) as conn:
        named = [k for k in rules if not k.startswith("client\x1f")]
        conn.execute(sa.delete(login_throttle).where(login_throttle.c.key.in_(named)))
        conn.execute(
            sa.update(login_throttle)
            .where(
                login_throttle.c.key.in_([k for k in rules if k not in named]), login_throttle.c.failures > 0
            )
            .values(failures=login_throttle.c.failures - 1)
        )
