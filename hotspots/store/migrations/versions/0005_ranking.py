"""ranking_choices: the ranking chosen by backtesting, its evidence and date

Revision ID: 0005_ranking
Revises: 0004_security
Create Date: 2026-11-30 21:30:00
"""

import sqlalchemy as sa
from alembic import op

import hotspots.store.schema

revision = "0005_ranking"
down_revision = "0004_security"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ranking_choices",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("chosen_at", hotspots.store.schema.UtcTimestamp(timezone=True), nullable=False),
        sa.Column("step", sa.String(length=8), nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("dataset_version", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_choices")),
    )


def downgrade() -> None:
    op.drop_table("ranking_choices")
