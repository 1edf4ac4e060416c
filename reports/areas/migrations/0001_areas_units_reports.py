"""Areas, units, categories, routing rules, reports and their append-only history.

Revision ID: reports_0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "reports_0001"
down_revision = None
branch_labels = ("reports",)
depends_on = "base_0001"


def upgrade() -> None:
    op.create_table(
        "areas",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False, server_default=sa.func.current_date()),
        sa.Column("valid_to", sa.Date),
        sa.CheckConstraint("level IN ('city', 'ward', 'group')", name="level"),
        sa.CheckConstraint("valid_to IS NULL OR valid_to > valid_from", name="validity"),
    )
    op.create_index("ix_areas_geom", "areas", ["geom"], postgresql_using="gist")
    op.create_table(
        "area_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.CheckConstraint("kind IN ('merge', 'split', 'rename')", name="kind"),
    )
    op.create_table(
        "area_change_links",
        sa.Column("change_id", sa.Integer, sa.ForeignKey("area_changes.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("old_area_id", sa.Integer, sa.ForeignKey("areas.id"), primary_key=True),
        sa.Column("new_area_id", sa.Integer, sa.ForeignKey("areas.id"), primary_key=True),
    )
    op.create_table(
        "units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("unit_type", sa.String(32), nullable=False, index=True),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("phone", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name_vi", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("domain", sa.String(32), nullable=False),
        sa.Column("unit_type", sa.String(32), nullable=False),
        sa.Column("deadline_hours", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint("deadline_hours > 0", name="deadline"),
        sa.CheckConstraint("domain IN ('security_order', 'socio_economic')", name="domain"),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id", ondelete="CASCADE")),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id", ondelete="CASCADE")),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
        sa.Column("category_id", sa.Integer, sa.ForeignKey("categories.id"), nullable=False, index=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("address", sa.Text),
        sa.Column("area_filed_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("area_current_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("reporter_name", sa.Text),
        sa.Column("reporter_phone", sa.Text),
        sa.Column("outside_city", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("possible_duplicate_of_id", sa.Integer, sa.ForeignKey("reports.id")),
        sa.Column("merged_into_id", sa.Integer, sa.ForeignKey("reports.id"), index=True),
        sa.Column("idempotency_key", sa.String(128), unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("resolution", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')", name="status"
        ),
        sa.CheckConstraint("geom IS NOT NULL OR address IS NOT NULL", name="located"),
    )
    op.create_index("ix_reports_geom", "reports", ["geom"], postgresql_using="gist")
    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    # History is evidence of how a report was handled: nobody may rewrite it.
    op.execute("""
        CREATE FUNCTION report_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'report_events is append-only';
        END $$;
        CREATE TRIGGER report_events_append_only BEFORE UPDATE OR DELETE ON report_events
            FOR EACH ROW EXECUTE FUNCTION report_events_append_only();
    """)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS report_events_append_only ON report_events")
    op.execute("DROP FUNCTION IF EXISTS report_events_append_only()")
    for table in ("report_events", "reports", "routing_rules", "categories", "units", "area_change_links",
                  "area_changes", "areas"):
        op.drop_table(table)
