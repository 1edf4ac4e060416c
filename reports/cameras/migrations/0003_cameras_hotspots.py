"""Cameras with view cones kept by a trigger, flood hotspots and readings.

Revision ID: reports_0003
Revises: reports_0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY

revision = "reports_0003"
down_revision = "reports_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("direction", sa.Float),
        sa.Column("fov", sa.Float, nullable=False, server_default="90"),
        sa.Column("range_m", sa.Float, nullable=False, server_default="60"),
        sa.Column("coverage", Geometry("POLYGON", srid=4326, spatial_index=False)),
        sa.Column("owner_unit_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("state", sa.String(16), nullable=False, server_default="active"),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
        sa.Column("ai_capabilities", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("stream_url", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("state IN ('active', 'maintenance')", name="state"),
        sa.CheckConstraint("fov > 0 AND fov <= 360", name="fov"),
        sa.CheckConstraint("range_m > 0 AND range_m <= 2000", name="range"),
        sa.CheckConstraint("direction IS NULL OR (direction >= 0 AND direction < 360)", name="direction"),
        sa.CheckConstraint("fov >= 360 OR direction IS NOT NULL", name="aimed"),
    )
    op.create_index("ix_cameras_geom", "cameras", ["geom"], postgresql_using="gist")
    op.create_index("ix_cameras_coverage", "cameras", ["coverage"], postgresql_using="gist")
    # The view cone: an arc of ST_Project points on the geography, closed at the camera; a circle for domes.
    op.execute("""
        CREATE FUNCTION camera_view_cone(pos geometry, direction float8, fov float8, range_m float8)
        RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE WHEN fov >= 360 THEN
                ST_Buffer(pos::geography, range_m, 'quad_segs=16')::geometry
            ELSE (
                SELECT ST_MakePolygon(ST_MakeLine(ARRAY[pos] || array_agg(p ORDER BY i) || ARRAY[pos]))
                FROM (
                    SELECT i, ST_Project(pos::geography, range_m,
                                         radians(direction - fov / 2 + fov * i / 24.0))::geometry AS p
                    FROM generate_series(0, 24) AS i
                ) arc
            ) END
        $$;
        CREATE FUNCTION cameras_coverage() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.coverage := camera_view_cone(NEW.geom, NEW.direction, NEW.fov, NEW.range_m);
            RETURN NEW;
        END $$;
        CREATE TRIGGER cameras_coverage BEFORE INSERT OR UPDATE OF geom, direction, fov, range_m ON cameras
            FOR EACH ROW EXECUTE FUNCTION cameras_coverage();
    """)
    op.create_table(
        "flood_hotspots",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id"), index=True),
        sa.Column("watch_cm", sa.Float, nullable=False),
        sa.Column("warning_cm", sa.Float, nullable=False),
        sa.Column("danger_cm", sa.Float, nullable=False),
        sa.Column("camera_id", sa.Integer, sa.ForeignKey("cameras.id", ondelete="SET NULL")),
        sa.Column("last_level_cm", sa.Float),
        sa.Column("last_reading_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("0 <= watch_cm AND watch_cm < warning_cm AND warning_cm < danger_cm", name="thresholds"),
    )
    op.create_index("ix_flood_hotspots_geom", "flood_hotspots", ["geom"], postgresql_using="gist")
    op.create_table(
        "hotspot_readings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("hotspot_id", sa.Integer, sa.ForeignKey("flood_hotspots.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level_cm", sa.Float, nullable=False),
        sa.Column("reading_id", sa.String(100)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("hotspot_id", "at"),
        sa.UniqueConstraint("hotspot_id", "reading_id"),
    )


def downgrade() -> None:
    op.drop_table("hotspot_readings")
    op.drop_table("flood_hotspots")
    op.execute("DROP TRIGGER IF EXISTS cameras_coverage ON cameras")
    op.execute("DROP FUNCTION IF EXISTS cameras_coverage()")
    op.drop_table("cameras")
    op.execute("DROP FUNCTION IF EXISTS camera_view_cone(geometry, float8, float8, float8)")
