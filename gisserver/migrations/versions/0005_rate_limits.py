"""Rate-limit counters shared by all server workers.

Revision ID: base_0005
Revises: base_0004
Create Date: 2026-11-24
"""

from alembic import op

revision = "base_0005"
down_revision = "base_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # UNLOGGED: counters need no crash safety, and skipping the WAL keeps each request cheap.
    op.execute("""
        CREATE UNLOGGED TABLE rate_limits (
            key text PRIMARY KEY,
            count integer NOT NULL,
            expires_at timestamptz NOT NULL
        )
    """)


def downgrade() -> None:
    op.drop_table("rate_limits")
