"""Tables of the workflow: categories, routing rules, citizen reports, their history and photos."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gisserver.core.db import Base
from reports.areas.models import Area, Unit

REPORT_STATUSES = ("new", "acknowledged", "in_progress", "resolved", "rejected")
OPEN_STATUSES = ("new", "acknowledged", "in_progress")
CHANNELS = ("qr_web", "api", "open311", "phone", "officer")


class Category(Base):
    """A kind of report, routed to a unit type and due within a number of hours."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_vi: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    domain: Mapped[str] = mapped_column(String(32))
    unit_type: Mapped[str] = mapped_column(String(32))
    deadline_hours: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RoutingRule(Base):
    """An override of the default routing: this category (or any), or this alert type, in this area (or
    anywhere) goes to this unit."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    # A rule for AI alerts of a type instead of a report category (never both).
    alert_type: Mapped[str | None] = mapped_column(
        ForeignKey("alert_types.code", ondelete="CASCADE", onupdate="CASCADE"))
    note: Mapped[str] = mapped_column(Text, default="")


class Report(Base):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    description: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    address: Mapped[str | None] = mapped_column(Text)
    area_filed_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    area_current_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    channel: Mapped[str] = mapped_column(String(16))
    reporter_name: Mapped[str | None] = mapped_column(Text)
    reporter_phone: Mapped[str | None] = mapped_column(Text)
    outside_city: Mapped[bool] = mapped_column(Boolean, default=False)
    possible_duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)  # the answer the resident reads when it is closed
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The staff member who filed it (a phone call taken on the map), by username: it stays in their view.
    filed_by: Mapped[str | None] = mapped_column(Text)

    category: Mapped[Category] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")
    area_current: Mapped[Area | None] = relationship(foreign_keys=[area_current_id], lazy="joined")


class HistoryEntry:
    """The columns every history table shares (reports', alerts'): when, who, what, and the status it moved."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")


class ReportEvent(HistoryEntry, Base):
    """One change of a report; the table is append-only in the database."""

    __tablename__ = "report_events"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    # What the system did, as data (the channel, a move's distance and direction, the unit it went to), so that
    # each reader reads it in their language; *note* keeps what a person wrote.
    details: Mapped[dict | None] = mapped_column(JSONB)


PHOTO_KINDS = ("report", "fix")


class ReportPhoto(Base):
    __tablename__ = "report_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="report")  # the resident's, or the officers' fix
    path: Mapped[str] = mapped_column(Text)  # relative to the photos directory
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
