"""Tables of the areas domain: administrative areas and their changes over time, units, the gazetteer."""

from __future__ import annotations

from datetime import date

from geoalchemy2 import Geometry
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base

AREA_LEVELS = ("city", "ward", "group")


class Area(Base):
    """A city, ward/commune or residential group; boundaries carry validity dates across mergers."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False)
    valid_from: Mapped[date] = mapped_column(Date, server_default=func.current_date())
    valid_to: Mapped[date | None] = mapped_column(Date)


class AreaChange(Base):
    """A merger, split or rename that took effect on a date."""

    __tablename__ = "area_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    effective_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")


class AreaChangeLink(Base):
    __tablename__ = "area_change_links"

    change_id: Mapped[int] = mapped_column(ForeignKey("area_changes.id", ondelete="CASCADE"), primary_key=True)
    old_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    new_area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class AreaParentHistory(Base):
    """An area's parent before a boundary change: *parent_id* until *valid_until* (exclusive)."""

    __tablename__ = "area_parent_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    valid_until: Mapped[date] = mapped_column(Date)


class Unit(Base):
    """A responsible unit: ward police, ward People's Committee, a city department..."""

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(Text)
    unit_type: Mapped[str] = mapped_column(String(32), index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    phone: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class GazetteerEntry(Base):
    __tablename__ = "gazetteer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(Text)
    search_text: Mapped[str] = mapped_column(Text)  # lower(unaccent(label)), indexed with trigrams
    geom = mapped_column(Geometry("POINT", srid=4326, spatial_index=False), nullable=False)
