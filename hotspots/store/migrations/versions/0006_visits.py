"""visits (besök): field teams' visits to priority places, with an idempotency key per submission

Revision ID: 0006_visits
Revises: 0005_ranking
Create Date: 2026-11-30 21:15:00
"""

import sqlalchemy as sa
from alembic import op

import hotspots.store.schema

revision = "0006_visits"
down_revision = "0005_ranking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("place_key", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("area_id", sa.String(length=64), nullable=True),
        sa.Column("user_name", sa.String(length=128), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("started_at", hotspots.store.schema.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("ended_at", hotspots.store.schema.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", hotspots.store.schema.UtcTimestamp(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_visits_idempotency_key")),
    )
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visits_place_key"), ["place_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_visits_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visits_started_at"))
        batch_op.drop_index(batch_op.f("ix_visits_place_key"))
    op.drop_table("visits")
