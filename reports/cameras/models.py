"""Tables of the cameras domain: cameras (with their view cones), flood hotspots and their readings, AI events,
alert types, alerts and their history."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base
from reports.workflow.models import HistoryEntry

CAMERA_STATES = ("active", "maintenance")


class Camera(Base):
    __tablename__ = "cameras"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    direction: Mapped[float | None] = mapped_column(Float)  # degrees clockwise from north
    fov: Mapped[float] = mapped_column(Float, default=90.0)  # field of view, degrees; 360 = dome camera
    range_m: Mapped[float] = mapped_column(Float, default=60.0)
    # Maintained by a database trigger from geom/direction/fov/range_m.
    coverage = mapped_column(Geometry("POLYGON", srid=4326, spatial_index=False))
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    state: Mapped[str] = mapped_column(String(16), default="active")
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ai_capabilities: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    stream_url: Mapped[str | None] = mapped_column(Text)  # staff only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Hotspot(Base):
    """A place that floods, watched with thresholds on the water level."""

    __tablename__ = "flood_hotspots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    watch_cm: Mapped[float] = mapped_column(Float)
    warning_cm: Mapped[float] = mapped_column(Float)
    danger_cm: Mapped[float] = mapped_column(Float)
    last_level_cm: Mapped[float | None] = mapped_column(Float)
    last_reading_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# The cameras that watch a hotspot (operators look at them when the water rises).
hotspot_cameras = Table(
    "hotspot_cameras",
    Base.metadata,
    Column("hotspot_id", ForeignKey("flood_hotspots.id", ondelete="CASCADE"), primary_key=True),
    Column("camera_id", ForeignKey("cameras.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class HotspotReading(Base):
    __tablename__ = "hotspot_readings"
    __table_args__ = (UniqueConstraint("hotspot_id", "at"), UniqueConstraint("hotspot_id", "reading_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotspot_id: Mapped[int] = mapped_column(ForeignKey("flood_hotspots.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    level_cm: Mapped[float] = mapped_column(Float)
    reading_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertType(Base):
    """A kind of AI detection and how its alerts are routed: the units told (first one leads), the deadline,
    and the citizen-report categories about the same thing."""

    __tablename__ = "alert_types"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    unit_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    deadline_hours: Mapped[float] = mapped_column(Float)
    report_categories: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Alert(Base):
    """What AI events become: one alert per camera and type while events keep coming, routed to units."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    unit_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    status: Mapped[str] = mapped_column(String(16), default="new")
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    event_count: Mapped[int] = mapped_column(Integer, default=1)
    max_confidence: Mapped[float] = mapped_column(Float)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    linked_report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    note: Mapped[str | None] = mapped_column(Text)


class AiEvent(Base):
    __tablename__ = "ai_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    camera_id: Mapped[int] = mapped_column(ForeignKey("cameras.id"), index=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
    snapshot_path: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AlertEvent(HistoryEntry, Base):
    """One change of an alert; the table is append-only in the database."""

    __tablename__ = "alert_events"

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
