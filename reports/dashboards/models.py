"""Tables of the dashboards: the dashboards leaders compose (and the ward templates admins publish), the display
tokens of wall screens, and leaders' weekly mails of a dashboard."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Boolean, DateTime, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base


class Dashboard(Base):
    """A grid of panels. Private to its owner unless shared with roles and/or areas; a template (admins only)
    is shown to every ward's leaders for their own ward."""

    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    template: Mapped[bool] = mapped_column(Boolean, default=False)
    # The area the filter starts on (None: the viewer's own area; a template's is always the viewer's ward).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    panels: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    filters: Mapped[dict] = mapped_column(JSONB, default=dict)  # {"period": {...}, "category": code}
    shared_roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    shared_area_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every change: stale edits get a 409
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text, default="")


class DashboardDisplay(Base):
    """A wall screen's read-only key to some dashboards: it sees them as their owner would, except what only
    people may see (internal layers), and does not time out; only its SHA-256 is stored."""

    __tablename__ = "dashboard_displays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    dashboard_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    refresh_seconds: Mapped[int] = mapped_column(Integer, default=60)
    rotate_seconds: Mapped[int] = mapped_column(Integer, default=30)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DashboardMail(Base):
    """A leader's weekly mail of a dashboard's PDF: on their *weekday* (ISO, 1 = Monday) at their *hour*, city
    time, to the email of their notification choices, through the notifications' outbox (once per week)."""

    __tablename__ = "dashboard_mails"
    __table_args__ = (UniqueConstraint("dashboard_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dashboard_id: Mapped[int] = mapped_column(ForeignKey("dashboards.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    hour: Mapped[int] = mapped_column(SmallInteger)
    # Chosen (or changed) at: a week's slot before it is not sent (subscribing on a Thursday for Mondays starts
    # next Monday, not at once).
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
