"""Planning projects: a project groups layers and documents (decisions, maps, reports as PDFs)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base

STATUSES = ("draft", "consultation", "approved", "superseded", "cancelled")


class Project(Base):
    __tablename__ = "planning_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    decision_number: Mapped[str | None] = mapped_column(Text)  # e.g. 1234/QĐ-UBND
    decision_date: Mapped[date | None] = mapped_column(Date)
    approving_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    area_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)  # the administrative areas it covers
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text, default="")


class ProjectLayer(Base):
    """A layer belongs to zero or more projects."""

    __tablename__ = "planning_project_layers"

    project_id: Mapped[int] = mapped_column(ForeignKey("planning_projects.id", ondelete="CASCADE"), primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), primary_key=True, index=True)


class ProjectDocument(Base):
    """A PDF attached to a project, stored under <data_dir>/documents; the row points at the file."""

    __tablename__ = "planning_documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("planning_projects.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str] = mapped_column(Text)  # as uploaded (cleaned), for the download
    path: Mapped[str] = mapped_column(Text)  # relative to the documents directory
    bytes: Mapped[int] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    uploaded_by: Mapped[str] = mapped_column(Text, default="")
