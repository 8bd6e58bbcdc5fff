"""security: session generations, the login throttle, the store epoch

Revision ID: 0004_security
Revises: 0003_measures
Create Date: 2026-11-30 21:30:00
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004_security"
down_revision = "0003_measures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_us", sa.BigInteger(), nullable=False),
        sa.Column("next_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    # The first epoch (hotspots.store.engine.new_epoch writes a new one after every migration and restore).
    op.execute(
        sa.text("INSERT INTO store_meta (key, value) VALUES ('store_epoch', :v)").bindparams(
            v=secrets.randbits(62)
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM store_meta WHERE key = 'store_epoch'")
    op.drop_table("login_throttle")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
