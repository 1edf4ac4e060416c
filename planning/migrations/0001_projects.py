"""Planning projects, their layers and their documents.

Revision ID: planning_0001
Revises:
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "planning_0001"
down_revision = None
branch_labels = ("planning",)
depends_on = ("layers_0005", "reports_0001")


def upgrade() -> None:
    op.create_table(
        "planning_projects",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("decision_number", sa.Text),
        sa.Column("decision_date", sa.Date),
        sa.Column("approving_body", sa.Text),
        sa.Column("status", sa.String(16), nullable=False, server_default="draft"),
        sa.Column("area_codes", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("created_by", sa.Text, nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("status IN ('draft', 'consultation', 'approved', 'superseded', 'cancelled')",
                           name="status"),
        sa.CheckConstraint("code ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'", name="code"),
    )
    op.execute("CREATE INDEX ix_planning_projects_area_codes ON planning_projects USING gin (area_codes)")
    op.create_table(
        "planning_project_layers",
        sa.Column("project_id", sa.Integer, sa.ForeignKey("planning_projects.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
    )
    op.create_table(
        "planning_documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("project_id", sa.Integer, sa.ForeignKey("planning_projects.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("file_name", sa.Text, nullable=False),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("bytes", sa.BigInteger, nullable=False),
        sa.Column("pages", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("uploaded_by", sa.Text, nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("planning_documents")
    op.drop_table("planning_project_layers")
    op.drop_table("planning_projects")
