"""SQLAlchemy Core schema: one metadata for the whole store (reports, imports, accounts, audit, version).

The H3 cell at the stored resolution is an indexed BIGINT: it is the spatial index, so the same schema runs
on SQLite and PostgreSQL with no spatial extension. Coarser cells are derived with bit arithmetic
(``hotspots.geo.h3grid.cell_to_parent``), never stored.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Columns a batch carries into the report table, in insert order.
REPORT_COLUMNS = (
    "source",
    "source_id",
    "occurred_at",
    "reported_at",
    "category",
    "lat",
    "lon",
    "cell",
    "area_id",
    "weight",
    "note",
    "import_id",
    "created_by",
    "created_at",
)
TIME_COLUMNS = ("occurred_at", "reported_at", "created_at")


class UtcTimestamp(sa.types.TypeDecorator[datetime]):
    """A tz-aware instant: TIMESTAMPTZ on PostgreSQL, integer microseconds since the epoch (UTC) on SQLite.

    SQLite has no time zone type; integers keep the order, compare and bulk-convert with numpy in one step
    (``datetime64[us]``), which is what the statistics read path does with millions of rows.
    """

    impl = sa.types.DateTime
    cache_ok = True

    def __init__(self, timezone: bool = True) -> None:
        super().__init__(timezone=True)

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UtcTimestamp column")
        if dialect.name == "sqlite":
            delta = value - _EPOCH
            return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            from datetime import timedelta

            return _EPOCH + timedelta(microseconds=int(value))
        return value if value.tzinfo else value.replace(tzinfo=UTC)


# BIGINT primary keys autoincrement on both back ends (SQLite only autoincrements INTEGER PRIMARY KEY).
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Indexed: time (every window query), the H3 cell (the spatial index) and the idempotency key. Category and
# area filters run on the time-window subset; indexing them cost ~30 % of bulk-import time for no query gain.
reports = sa.Table(
    "reports",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("source_id", sa.String(128), nullable=False),
    sa.Column("occurred_at", UtcTimestamp(), nullable=False, index=True),
    sa.Column("reported_at", UtcTimestamp(), nullable=True),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("lat", sa.Float(), nullable=False),
    sa.Column("lon", sa.Float(), nullable=False),
    sa.Column("cell", sa.BigInteger(), nullable=False, index=True),
    sa.Column("area_id", sa.String(64), nullable=True),
    sa.Column("weight", sa.Float(), nullable=False, server_default="1"),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("import_id", sa.BigInteger(), nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcTimestamp(), nullable=False),
    sa.UniqueConstraint("source", "source_id", name="uq_reports_source_source_id"),
)

imports = sa.Table(
    "imports",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("filename", sa.String(512), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("rows_read", sa.Integer(), nullable=False),
    sa.Column("rows_added", sa.Integer(), nullable=False),
    sa.Column("rows_present", sa.Integer(), nullable=False),
    sa.Column("rows_rejected", sa.Integer(), nullable=False),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcTimestamp(), nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("areas", sa.Text(), nullable=True),  # comma-separated area ids a field user is limited to
    sa.Column("password_hash", sa.String(256), nullable=True),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcTimestamp(), nullable=False),
    # Signed into every session cookie; logout, password change, disable and role change bump it, which
    # ends every session issued before (hotspots.access.accounts.end_sessions).
    sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("prefix", sa.String(16), nullable=False, index=True),
    sa.Column("key_hash", sa.String(128), nullable=False, unique=True),
    sa.Column("created_at", UtcTimestamp(), nullable=False),
    sa.Column("revoked_at", UtcTimestamp(), nullable=True),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", UtcTimestamp(), nullable=False, index=True),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("resource", sa.String(256), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),  # JSON: the filter used, never report contents
    sa.Column("rows", sa.Integer(), nullable=True),
)

# Login attempts per throttle key (user name, client address, or both): counted atomically in the store so
# every worker sees them and concurrent guesses cannot race past the limit (hotspots.access.throttle).
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("key", sa.String(400), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_us", sa.BigInteger(), nullable=False),  # microseconds since the epoch, UTC
    sa.Column("next_us", sa.BigInteger(), nullable=False),  # no attempt is checked before this instant
)

# One row per key; "dataset_version" changes with every write so derived results can be cached by it.
store_meta = sa.Table(
    "store_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger(), nullable=False),
)

# Measures (insatser) EST decided: where (a point and radius, H3 cells, or a GeoJSON polygon), what, who,
# when. Follow-up compares reports before and after around the target (hotspots.measures.records).
measures = sa.Table(
    "measures",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("organisation", sa.String(128), nullable=False),
    sa.Column("lat", sa.Float(), nullable=False),  # the point, or a representative point of cells/polygon
    sa.Column("lon", sa.Float(), nullable=False),
    sa.Column("radius_m", sa.Float(), nullable=True),
    sa.Column("cells", sa.Text(), nullable=True),  # space-separated H3 cell ids (hex), any resolution
    sa.Column("polygon", sa.Text(), nullable=True),  # GeoJSON geometry, WGS84
    sa.Column("start_date", sa.Date(), nullable=False, index=True),
    sa.Column("end_date", sa.Date(), nullable=True),
    sa.Column("note", sa.Text(), nullable=True),
    sa.Column("created_by", sa.String(128), nullable=False),
    sa.Column("created_at", UtcTimestamp(), nullable=False),
)

# The ranking the priority list uses, chosen by backtesting on the store's own data (hotspots.ranking.choice):
# the newest row is in force; older rows are the history of choices and their evidence.
ranking_choices = sa.Table(
    "ranking_choices",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("chosen_at", UtcTimestamp(), nullable=False),
    sa.Column("step", sa.String(8), nullable=False),  # week | month
    sa.Column("method", sa.String(64), nullable=False),  # a candidate name (hotspots.ranking)
    sa.Column("dataset_version", sa.BigInteger(), nullable=False),
    sa.Column("evidence", sa.Text(), nullable=False),  # JSON: merit per candidate, steps, lookback
)

# Field visits (besök) to priority places: who went where, for how long and what they saw. Report-level data
# (audited, purged with the reports, never exported). ``idempotency_key`` makes a phone's retry harmless;
# ``request_hash`` tells a retry (same request) from a key reused for another request.
visits = sa.Table(
    "visits",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("place_key", sa.String(32), nullable=False, index=True),  # the place's centre cell (hex)
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("cells", sa.Text(), nullable=False),  # space-separated H3 cell ids (hex) of the place
    sa.Column("lat", sa.Float(), nullable=False),  # the place's centroid
    sa.Column("lon", sa.Float(), nullable=False),
    sa.Column("area_id", sa.String(64), nullable=True),
    sa.Column("user_name", sa.String(128), nullable=False),
    sa.Column("organisation", sa.String(64), nullable=False),  # a source id of the taxonomy
    sa.Column("started_at", UtcTimestamp(), nullable=False, index=True),
    sa.Column("ended_at", UtcTimestamp(), nullable=False),
    sa.Column("minutes", sa.Integer(), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),  # shown to est and analysts only
    sa.Column("created_at", UtcTimestamp(), nullable=False),
)

# Finished analyses, one per (slot, dataset version): computed once for the deployment, loaded by every
# other worker and host (hotspots.analysis.snapshots). The payload is an npz of arrays (never a pickle) with its
# sha256; a row failing it is ignored and recomputed.
analysis_snapshots = sa.Table(
    "analysis_snapshots",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("slot", sa.String(64), nullable=False),  # sha256 of (areas, resolved parameters)
    sa.Column("dataset_version", sa.BigInteger(), nullable=False),
    sa.Column("params", sa.Text(), nullable=False),  # the parameters' repr, for people
    sa.Column("created_at", UtcTimestamp(), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("payload", sa.LargeBinary(), nullable=False),
    sa.UniqueConstraint("slot", "dataset_version", name="uq_analysis_snapshots_slot_version"),
)
