"""Layer catalog and the schema holding one table per layer version.

Revision ID: layers_0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "layers_0001"
down_revision = None
branch_labels = ("layers",)
depends_on = "base_0001"


def upgrade() -> None:
    op.execute("CREATE SCHEMA IF NOT EXISTS layer_data")
    op.create_table(
        "layers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("category", sa.String(32), nullable=False, index=True),
        sa.Column("group_name", sa.Text),
        sa.Column("geometry_type", sa.String(32), nullable=False),
        sa.Column("feature_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("extent", ARRAY(sa.Float)),
        sa.Column("source_crs", sa.Text),
        sa.Column("source_file", sa.Text),
        sa.Column("attributes", JSONB, nullable=False, server_default="[]"),
        sa.Column("style", JSONB, nullable=False, server_default="{}"),
        sa.Column("visibility", sa.String(16), nullable=False, server_default="public"),
        sa.Column("data_table", sa.String(63), nullable=False),
        sa.Column("data_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'", name="name_slug"),
        sa.CheckConstraint("visibility IN ('public', 'internal')", name="visibility"),
        sa.CheckConstraint("data_table ~ '^l[0-9]+_v[0-9]+$'", name="data_table"),
    )


def downgrade() -> None:
    op.drop_table("layers")
    op.execute("DROP SCHEMA IF EXISTS layer_data CASCADE")
