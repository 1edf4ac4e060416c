"""AI events from cameras and the alerts they raise.

Revision ID: reports_0004
Revises: reports_0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY

revision = "reports_0004"
down_revision = "reports_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("camera_id", sa.Integer, sa.ForeignKey("cameras.id"), nullable=False, index=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("unit_ids", ARRAY(sa.Integer), nullable=False, server_default="{}"),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("max_confidence", sa.Float, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("linked_report_id", sa.Integer, sa.ForeignKey("reports.id")),
        sa.Column("note", sa.Text),
        sa.CheckConstraint(
            "status IN ('new', 'acknowledged', 'in_progress', 'resolved', 'rejected')", name="status"
        ),
    )
    op.create_index("ix_alerts_geom", "alerts", ["geom"], postgresql_using="gist")
    op.create_index("ix_alerts_camera_type_open", "alerts", ["camera_id", "type", "last_at"])
    op.create_table(
        "ai_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("camera_id", sa.Integer, sa.ForeignKey("cameras.id"), nullable=False, index=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("snapshot_path", sa.Text),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("ai_events")
    op.drop_table("alerts")
