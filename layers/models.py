"""The layer catalog. Each layer's features live in their own table in schema layer_data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, Float, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base

DATA_SCHEMA = "layer_data"
CATEGORIES = ("planning", "infrastructure", "flood", "environment", "disaster", "administrative", "other")
VISIBILITIES = ("public", "internal")
UPDATE_FREQUENCIES = ("continual", "daily", "weekly", "monthly", "quarterly", "annually", "as_needed", "irregular",
                      "not_planned")
GEOMETRY_TYPES = ("Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon", "Geometry")
ATTRIBUTE_TYPES = ("text", "integer", "bigint", "double", "boolean", "date", "timestamp")
# How an attribute's values read: "number" (1.234,5), "plain" (years and codes: 2027), "percent" (0.35 -> 35%).
ATTRIBUTE_FORMATS = ("number", "plain", "percent")


class Layer(Base):
    __tablename__ = "layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32))
    group_name: Mapped[str | None] = mapped_column(Text)
    geometry_type: Mapped[str] = mapped_column(String(32))
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    extent: Mapped[list[float] | None] = mapped_column(ARRAY(Float))
    source_crs: Mapped[str | None] = mapped_column(Text)
    source_file: Mapped[str | None] = mapped_column(Text)
    # [{"name": original attribute name, "column": "a0", "type": one of ATTRIBUTE_TYPES}], and what readers see:
    # "alias" ("Năm hoàn thành" for nam_hoan_thanh), "format" (ATTRIBUTE_FORMATS), "unit" ("m²"), "decimals".
    attributes: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    style: Mapped[dict] = mapped_column(JSONB, default=dict)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    # The planner's map opens with the layers shown by default, in the catalog's order (lowest first).
    shown_by_default: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    data_table: Mapped[str] = mapped_column(String(63))
    data_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str] = mapped_column(Text, default="")
    # English title/description, keywords in both languages, source, licence, contact, update frequency
    # (catalog.check_metadata); title and description above are the Vietnamese ones.
    metadata_: Mapped[dict] = mapped_column("metadata", JSONB, default=dict)
    # Drawn under every map as the city's own base map (when no external base map is set), lowest order first.
    basemap: Mapped[bool] = mapped_column(Boolean, default=False)
    basemap_order: Mapped[int] = mapped_column(Integer, default=0)


CHANGE_KINDS = ("import", "replace", "create", "update", "delete", "restore", "restore_layer")


class LayerChange(Base):
    """One change of a layer's data: who, when, why, and (for a single feature) which one.

    The rows a change ended are kept in the history table of the data table they were in (storage.history_table),
    marked with the change that created them and the one that closed them.
    """

    __tablename__ = "layer_changes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(Text)
    comment: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    fid: Mapped[int | None] = mapped_column(BigInteger)
    data_table: Mapped[str] = mapped_column(String(63))
    data_version: Mapped[int] = mapped_column(Integer)  # the layer's data version after the change
    details: Mapped[dict] = mapped_column(JSONB, default=dict)


class LayerTable(Base):
    """A data table a layer has had, with the period it was the layer's data (open-ended for the current one)."""

    __tablename__ = "layer_data_tables"

    data_table: Mapped[str] = mapped_column(String(63), primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id", ondelete="CASCADE"))
    geometry_type: Mapped[str] = mapped_column(String(32))
    attributes: Mapped[list[dict]] = mapped_column(JSONB)
    valid: Mapped[object] = mapped_column(TSTZRANGE)
    # The latest instant `layers history prune` forgot this table's earlier states before (None: never pruned).
    pruned_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


IMPORT_STATUSES = ("created", "reading", "needs_choice", "ready", "failed", "published", "discarded")


class LayerImport(Base):
    """An uploaded file on its way to a layer: read into a staging table (layer_data.s<id>), reported, and published
    (the staging table becomes the layer's data) or discarded. Progress steps are written as they happen."""

    __tablename__ = "layer_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="created")
    step: Mapped[str] = mapped_column(String(16), default="upload")
    steps: Mapped[list[dict]] = mapped_column(JSONB, default=list)
    file_name: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    replace_layer: Mapped[str | None] = mapped_column(String(63))
    options: Mapped[dict] = mapped_column(JSONB, default=dict)  # layer inside the file, crs, province
    report: Mapped[dict] = mapped_column(JSONB, default=dict)
    error: Mapped[dict | None] = mapped_column(JSONB)
    staged_table: Mapped[str | None] = mapped_column(String(63))
    published_layer: Mapped[str | None] = mapped_column(String(63))
    created_by: Mapped[str] = mapped_column(Text, default="")
    # The person who uploaded it: only they (and admins) may read, publish or discard it.
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
