"""Leaders' dashboards and the display tokens of wall screens.

Revision ID: reports_0011
Revises: reports_0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "reports_0011"
down_revision = "reports_0010"
branch_labels = None
depends_on = "base_0002"  # dashboards belong to users


def upgrade() -> None:
    op.create_table(
        "dashboards",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("template", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id")),
        sa.Column("panels", JSONB, nullable=False, server_default="[]"),
        sa.Column("filters", JSONB, nullable=False, server_default="{}"),
        sa.Column("shared_roles", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("shared_area_ids", ARRAY(sa.Integer), nullable=False, server_default="{}"),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("length(title) BETWEEN 1 AND 200", name="title"),
    )
    op.create_table(
        "dashboard_displays",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("dashboard_ids", ARRAY(sa.Integer), nullable=False),
        sa.Column("refresh_seconds", sa.Integer, nullable=False, server_default="60"),
        sa.Column("rotate_seconds", sa.Integer, nullable=False, server_default="30"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("cardinality(dashboard_ids) > 0", name="dashboards"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_displays")
    op.drop_table("dashboards")
