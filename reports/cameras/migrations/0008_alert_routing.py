"""Alert types as a configurable routing table, routing rules for alerts, alert history, hotspot cameras.

Revision ID: reports_0008
Revises: reports_0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "reports_0008"
down_revision = "reports_0006"
branch_labels = None
depends_on = None

# The defaults of reports.cameras.alert_types.DEFAULT_ALERT_TYPES at the time of this migration, so that a
# database already holding AI alerts keeps routing them.
_DEFAULTS = [
    ("fire", "Cháy", "Fire", ["ward_committee", "fire_police"], 1, ["dot_rom_ra", "an_ninh_trat_tu"]),
    ("straw_burning", "Đốt rơm rạ", "Straw burning", ["ward_committee"], 4, ["dot_rom_ra"]),
    ("flood", "Ngập úng", "Flooding", ["ward_committee"], 2, ["cap_thoat_nuoc_ngap_ung"]),
    ("traffic", "Vi phạm giao thông", "Traffic violation", ["ward_police"], 4, ["vi_pham_giao_thong"]),
    ("crowd", "Tụ tập đông người", "Crowd", ["ward_police"], 2, ["tu_tap_dong_nguoi", "gay_roi"]),
    ("encroachment", "Lấn chiếm lòng đường", "Road encroachment", ["ward_police"], 24, ["vi_pham_giao_thong"]),
]


def upgrade() -> None:
    alert_types = op.create_table(
        "alert_types",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name_vi", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("unit_types", ARRAY(sa.Text), nullable=False),
        sa.Column("deadline_hours", sa.Float, nullable=False),
        sa.Column("report_categories", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.CheckConstraint("deadline_hours > 0", name="deadline"),
        sa.CheckConstraint("cardinality(unit_types) > 0", name="unit_types"),
    )
    op.bulk_insert(alert_types, [
        {"code": c, "name_vi": vi, "name_en": en, "unit_types": units, "deadline_hours": hours,
         "report_categories": cats, "active": True}
        for c, vi, en, units, hours, cats in _DEFAULTS
    ])
    op.add_column("routing_rules", sa.Column(
        "alert_type", sa.String(32),
        sa.ForeignKey("alert_types.code", ondelete="CASCADE", onupdate="CASCADE")))
    op.execute("ALTER TABLE routing_rules ADD CONSTRAINT ck_routing_rules_one_subject "
               "CHECK (category_id IS NULL OR alert_type IS NULL)")

    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16)),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
    )
    op.execute("""
        INSERT INTO alert_events (alert_id, at, actor, action, to_status, note)
        SELECT id, first_at, 'system', 'created', 'new', 'recorded before alert history existed' FROM alerts;
        CREATE FUNCTION alert_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'alert_events is append-only';
        END $$;
        CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events
            FOR EACH ROW EXECUTE FUNCTION alert_events_append_only();
    """)

    op.create_table(
        "hotspot_cameras",
        sa.Column("hotspot_id", sa.Integer, sa.ForeignKey("flood_hotspots.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("camera_id", sa.Integer, sa.ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True,
                  index=True),
    )
    op.execute("INSERT INTO hotspot_cameras SELECT id, camera_id FROM flood_hotspots WHERE camera_id IS NOT NULL")
    op.drop_column("flood_hotspots", "camera_id")


def downgrade() -> None:
    op.add_column("flood_hotspots", sa.Column("camera_id", sa.Integer,
                                              sa.ForeignKey("cameras.id", ondelete="SET NULL")))
    op.execute("""
        UPDATE flood_hotspots h SET camera_id = l.camera_id
        FROM (SELECT hotspot_id, min(camera_id) AS camera_id FROM hotspot_cameras GROUP BY hotspot_id) l
        WHERE l.hotspot_id = h.id
    """)
    op.drop_table("hotspot_cameras")
    op.execute("DROP TRIGGER IF EXISTS alert_events_append_only ON alert_events")
    op.execute("DROP FUNCTION IF EXISTS alert_events_append_only()")
    op.drop_table("alert_events")
    op.execute("ALTER TABLE routing_rules DROP CONSTRAINT ck_routing_rules_one_subject")
    op.drop_column("routing_rules", "alert_type")
    op.drop_table("alert_types")
