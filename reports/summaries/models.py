"""Tables of the summaries: administrative dossiers, areas' former parents, and the daily rollups.

The rollups are written by database triggers only (see migration reports_0007); they are mapped
here so that the tests' truncation and the metadata know them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base

DOSSIER_STATUSES = ("in_progress", "finished", "rejected", "withdrawn")
DOSSIER_CHANNELS = ("online", "offline")


class Dossier(Base):
    """An administrative procedure file handled by a one-stop shop, as exported by its system."""

    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    procedure: Mapped[str] = mapped_column(Text)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReportDaily(Base):
    """Reports created on a local day in an area's current subtree, by dimension (all, category, ...)."""

    __tablename__ = "report_daily"

    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dim: Mapped[str] = mapped_column(String(8), primary_key=True)
    span: Mapped[str] = mapped_column(String(1), primary_key=True)  # d: a day, m: the month starting on day
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)


class DossierDaily(Base):
    __tablename__ = "dossier_daily"

    area_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    span: Mapped[str] = mapped_column(String(1), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    received: Mapped[int] = mapped_column(Integer)
    finished: Mapped[int] = mapped_column(Integer)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    returned: Mapped[int] = mapped_column(Integer)
    online: Mapped[int] = mapped_column(Integer)
