"""The planners' workspace: layer metadata in Vietnamese and English (source, licence, contact, update frequency,
keywords), the base map flag (layers the city draws under every map when no external base map is set), and staged
imports (an uploaded file read into a staging table, with its progress and report, until it is published).

Revision ID: layers_0006
Revises: layers_0005
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "layers_0006"
down_revision = "layers_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("layers", sa.Column("metadata", JSONB, nullable=False, server_default="{}"))
    op.add_column("layers", sa.Column("basemap", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("layers", sa.Column("basemap_order", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "layer_imports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="created"),
        sa.Column("step", sa.String(16), nullable=False, server_default="upload"),
        sa.Column("steps", JSONB, nullable=False, server_default="[]"),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger),
        sa.Column("replace_layer", sa.String(63)),
        sa.Column("options", JSONB, nullable=False, server_default="{}"),
        sa.Column("report", JSONB, nullable=False, server_default="{}"),
        sa.Column("error", JSONB),
        sa.Column("staged_table", sa.String(63)),
        sa.Column("published_layer", sa.String(63)),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('created', 'reading', 'needs_choice', 'ready', 'failed', 'published', "
                           "'discarded')", name="status"),
        sa.CheckConstraint("staged_table ~ '^s[0-9]+$'", name="staged_table"),
    )


def downgrade() -> None:
    op.drop_table("layer_imports")
    op.drop_column("layers", "basemap_order")
    op.drop_column("layers", "basemap")
    op.drop_column("layers", "metadata")
