"""analysis snapshots: one computation per dataset version for the whole deployment

Revision ID: 0007_snapshots
Revises: 0006_visits
Create Date: 2026-11-30 22:00:00
"""

import sqlalchemy as sa
from alembic import op

import hotspots.store.schema

revision = "0007_snapshots"
down_revision = "0006_visits"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_snapshots",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("dataset_version", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", hotspots.store.schema.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analysis_snapshots")),
        sa.UniqueConstraint("slot", "dataset_version", name="uq_analysis_snapshots_slot_version"),
    )


def downgrade() -> None:
    op.drop_table("analysis_snapshots")
