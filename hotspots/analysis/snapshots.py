"""Analysis snapshots: each (slot, dataset version) computed once for the whole deployment.

Without them every worker on every host recomputes the analysis after each write (N workers × M hosts
computations per write, 0.45 s each). With them the first worker that needs a version takes the slot's
computation lock, computes, stores the result in the store (:data:`hotspots.store.schema.analysis_snapshots`:
an npz payload from :mod:`hotspots.analysis.codec` and its sha256) and lets go; every other worker waiting
on the lock, or arriving later, loads the snapshot (~30 ms) instead.

The lock is one the processes share and that dies with its holder:

- PostgreSQL: a session-level advisory lock on the slot's hash, held on a connection of its own; a
  worker killed mid-job drops its connection and with it the lock, and the next waiter takes over;
- SQLite: ``flock`` on a file per slot beside the database (released by the kernel when the process dies);
- an in-memory SQLite store is one process's own: no snapshots, the in-process cache is enough.

Each stored snapshot bumps the store's ``analysis_computations`` counter, which is how a test (or an
operator) sees that a write cost the deployment one computation, not one per worker.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import shapely
import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.engine import Engine

from hotspots.analysis import codec as analysis_codec
from hotspots.analysis.compute import Analysis
from hotspots.analysis.params import AnalysisParams
from hotspots.geo.areas import Areas
from hotspots.store.engine import bump_version, lock_folder, transaction
from hotspots.store.schema import analysis_snapshots, store_meta

logger = logging.getLogger(__name__)

#: The store_meta counter of analyses computed and stored (one per slot and version, deployment-wide).
COMPUTATIONS = "analysis_computations"
#: Versions kept per slot: the newest and the one before (a reader may still be loading it).
KEEP_PER_SLOT = 2


@lru_cache(maxsize=4)
def areas_fingerprint(areas: Areas) -> str:
    """sha256 of the areas' ids and shapes: equal areas files on two hosts share snapshots."""
    digest = hashlib.sha256()
    digest.update("\0".join(map(str, areas.frame["area_id"])).encode())
    for wkb in shapely.to_wkb(areas.frame.geometry.to_numpy(), hex=False):
        digest.update(wkb)
    return digest.hexdigest()


def slot_hash(areas: Areas, params: AnalysisParams) -> str:
    """The snapshot key of an analysis apart from the data: areas and resolved parameters."""
    return hashlib.sha256(f"{areas_fingerprint(areas)}\0{params!r}".encode()).hexdigest()


class SnapshotSlot:
    """Snapshots of one slot in one store: load the newest, or compute under the shared lock and store."""

    def __init__(self, engine: Engine, areas: Areas, params: AnalysisParams) -> None:
        self.engine = engine
        self.areas = areas
        self.params = params
        self.key = slot_hash(areas, params)

    def obtain(self, version: int, held: int | None, compute: Callable[[int], bytes]) -> Analysis:
        """The analysis at ``version`` or newer: a stored snapshot, else computed (``compute`` returns it
        encoded) while this worker holds the slot's lock, waiting for another worker's computation first.

        ``held`` (bounded staleness: the version the caller serves meanwhile): a snapshot newer than it
        that another worker stored while this one waited for the lock is taken even if older than
        ``version``. Under a stream of writes every waiter would otherwise find it already out of date and
        compute again, back to back."""
        if (found := self.load(version)) is not None:
            return found
        with self.lock():
            if (found := self.load(version if held is None else min(version, held + 1))) is not None:
                return found
            payload = compute(version)
            result = analysis_codec.decode(payload, self.areas)
            self.store(payload, result.dataset_version)
            return result

    def load(self, at_least: int) -> Analysis | None:
        """The newest snapshot of this slot at ``at_least`` or later whose checksum holds."""
        table = analysis_snapshots
        stmt = (
            sa.select(table.c.dataset_version, table.c.sha256, table.c.payload)
            .where(table.c.slot == self.key, table.c.dataset_version >= at_least)
            .order_by(table.c.dataset_version.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        payload = bytes(row.payload)
        if hashlib.sha256(payload).hexdigest() != row.sha256:
            logger.warning("analysis snapshot %s@%s failed its sha256; recomputing", self.key[:12], row[0])
            return None
        try:
            return analysis_codec.decode(payload, self.areas)
        except Exception:  # written by another release of the codec: computed again, not a failed read
            logger.warning("analysis snapshot %s@%s does not decode; recomputing", self.key[:12], row[0])
            return None

    def store(self, payload: bytes, version: int) -> None:
        """Keep an encoded analysis of ``version`` for the deployment, count the computation and drop this
        slot's older versions."""
        table = analysis_snapshots
        # On PostgreSQL a snapshot touches no row a report write does: it need not queue behind them
        # (SQLite has one writer at a time whatever the rows).
        sqlite = self.engine.dialect.name == "sqlite"
        with transaction(self.engine) if sqlite else self.engine.begin() as conn:
            # a row already there failed its checksum (else this worker would have loaded it): replace it
            conn.execute(sa.delete(table).where(table.c.slot == self.key, table.c.dataset_version == version))
            conn.execute(
                sa.insert(table).values(
                    slot=self.key,
                    dataset_version=version,
                    params=repr(self.params),
                    created_at=datetime.now(UTC),
                    sha256=hashlib.sha256(payload).hexdigest(),
                    payload=payload,
                )
            )
            bump_version(conn, COMPUTATIONS)
            newest = (
                sa.select(table.c.dataset_version)
                .where(table.c.slot == self.key)
                .order_by(table.c.dataset_version.desc())
                .limit(KEEP_PER_SLOT)
            )
            kept = [version for (version,) in conn.execute(newest)]
            conn.execute(
                sa.delete(table).where(table.c.slot == self.key, table.c.dataset_version < min(kept))
            )

    @contextmanager
    def lock(self) -> Iterator[None]:
        """The slot's computation lock, shared by every process on the store and dying with its holder."""
        if self.engine.dialect.name == "postgresql":
            with self._advisory_lock():
                yield
        else:
            with self._file_lock():
                yield

    @contextmanager
    def _advisory_lock(self) -> Iterator[None]:
        key = int.from_bytes(bytes.fromhex(self.key[:16]), "big", signed=True)
        with self.engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:key)"), {"key": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                conn.commit()

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        with FileLock(lock_folder(Path(str(self.engine.url.database))) / f"{self.key[:32]}.lock"):
            yield


def computations(engine: Engine) -> int:
    """Analyses computed and stored so far by the whole deployment."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(store_meta.c.value).where(store_meta.c.key == COMPUTATIONS)).scalar()
    return int(value or 0)
