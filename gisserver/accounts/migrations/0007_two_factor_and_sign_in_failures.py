"""Two-factor sign-in (TOTP secret, the last time step used, hashed recovery codes), failed sign-ins for the
throttle, and notices to account owners.

Revision ID: base_0007
Revises: base_0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "base_0007"
down_revision = "base_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("totp_secret", sa.Text))
    op.add_column("users", sa.Column("totp_enabled_at", sa.DateTime(timezone=True)))
    op.add_column("users", sa.Column("totp_last_step", sa.BigInteger))
    op.create_table(
        "user_recovery_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("used_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("username", sa.Text, nullable=False),
        sa.Column("remote_addr", sa.Text, nullable=False),
        sa.Column("device", sa.Text),
        sa.Column("step", sa.Text, nullable=False),
    )
    op.create_index("ix_sign_in_failures_username_at", "sign_in_failures", ["username", "at"])
    op.create_index("ix_sign_in_failures_remote_addr_at", "sign_in_failures", ["remote_addr", "at"])
    op.create_table(
        "account_notices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
        sa.Column("read_at", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("account_notices")
    op.drop_table("sign_in_failures")
    op.drop_table("user_recovery_codes")
    for column in ("totp_last_step", "totp_enabled_at", "totp_secret"):
        op.drop_column("users", column)
