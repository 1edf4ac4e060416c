"""Importing a file as a new layer, or as new data for an existing one, in one transaction.

The data goes into a fresh table l<id>_v<version>; the catalog points at it only when it is complete,
so readers see the old data until the caller commits, and a failure leaves nothing behind. A replaced table is
kept, closed at the instant of the replacement: it is the layer's past (layers/history.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Conflict, Invalid
from layers import history, storage
from layers.archives import ArchiveLimits
from layers.catalog import (
    carry_attribute_meta,
    check_attribute_meta,
    check_category,
    check_name,
    check_style,
    check_visibility,
    default_style,
)
from layers.models import Layer
from layers.reading import ReadResult, read_vector_file

__all__ = ["ImportOptions", "ImportResult", "import_layer", "read_vector_file"]


@dataclass
class ImportOptions:
    """What the planner says about the file; only *name* is required."""

    name: str
    title: str | None = None
    category: str = "other"
    group: str | None = None
    description: str = ""
    layer: str | None = None  # layer inside a GeoPackage/KML
    crs: str | None = None  # source CRS when the file has none (or a wrong one)
    province: str | None = None  # VN-2000 TM-3 zone of a province, e.g. "hue"
    visibility: str = "public"
    style: dict | None = None
    replace: bool = False  # give an existing layer new data
    actor: str = "system"
    limits: ArchiveLimits = field(default_factory=ArchiveLimits)
    source_name: str | None = None  # the uploaded file's name, for the catalog
    shown_by_default: bool = True  # on when the planner's map opens
    sort_order: int = 0  # place in the catalog
    attribute_meta: list[dict] | None = None  # aliases, formats and units, as catalog.check_attribute_meta takes
    comment: str = ""  # why, for the layer's history


@dataclass
class ImportResult:
    name: str
    layer_id: int
    data_version: int
    geometry_type: str
    source_crs: str
    replaced: bool
    counts: dict
    seconds: float

    def as_dict(self) -> dict:
        return self.__dict__ | {"seconds": round(self.seconds, 2)}


def _check(options: ImportOptions) -> None:
    check_name(options.name)
    check_category(options.category)
    check_visibility(options.visibility)
    if options.style is not None:
        check_style(options.style)


def import_layer(session: Session, path: Path, options: ImportOptions) -> ImportResult:
    """Read *path* and store it as layer *options.name*; the caller commits."""
    started = time.perf_counter()
    _check(options)
    existing = session.scalar(select(Layer).where(Layer.name == options.name).with_for_update())
    if existing is not None and not options.replace:
        raise Conflict(f"layer {options.name!r} exists; replace its data explicitly", {"field": "name"})
    if existing is None and options.replace:
        raise Invalid(f"there is no layer {options.name!r} to replace", {"field": "name"})
    read: ReadResult = read_vector_file(Path(path), layer=options.layer, crs=options.crs, province=options.province,
                                        limits=options.limits)
    if read.counts.stored == 0:
        raise Invalid("no usable feature in the file", {"counts": read.counts.as_dict()})
    attributes = storage.infer_attributes(read.frame)
    if options.style and "by" in options.style:
        check_style(options.style, attributes)
    if existing is not None:
        attributes = carry_attribute_meta(existing.attributes, attributes)
    if options.attribute_meta:
        attributes = check_attribute_meta(options.attribute_meta, attributes)
    if existing is None:
        layer = Layer(
            name=options.name, title=(options.title or options.name).strip(), description=options.description,
            category=options.category, group_name=options.group, visibility=options.visibility,
            style=options.style or default_style(options.category), data_version=0, data_table="l0_v0",
            geometry_type=read.geometry_type, attributes=attributes, created_by=options.actor,
            updated_by=options.actor, shown_by_default=options.shown_by_default, sort_order=options.sort_order,
        )
        session.add(layer)
        session.flush()
    else:
        layer = existing  # locked above
    old_table = existing.data_table if existing is not None else None
    version = layer.data_version + 1  # what begin_change moves it to
    table = storage.build_table(storage.table_name(layer.id, version), read.geometry_type, attributes)
    change = history.begin_change(session, layer, "replace" if existing is not None else "import",
                                  actor=options.actor, comment=options.comment, data_table=table.name,
                                  details={"source_file": options.source_name or Path(path).name,
                                           "counts": read.counts.as_dict()})
    conn = session.connection()
    storage.create_and_load(conn, table, read.frame, attributes, valid_from=change.at, change_id=change.id)
    # Known from the frame already: no second pass over the new table.
    extent, count = [float(v) for v in read.frame.total_bounds], len(read.frame)
    layer.data_table = table.name
    layer.geometry_type = read.geometry_type
    layer.attributes = attributes
    layer.feature_count = count
    layer.extent = extent
    layer.source_crs = read.source_crs
    layer.source_file = options.source_name or Path(path).name
    if existing is not None:
        if options.title:
            layer.title = options.title
        if options.style:
            layer.style = options.style
        history.close_table(session, old_table, change.at)
    history.open_table(session, layer, table, change.at)
    session.flush()
    return ImportResult(name=layer.name, layer_id=layer.id, data_version=version, geometry_type=read.geometry_type,
                        source_crs=read.source_crs, replaced=existing is not None, counts=read.counts.as_dict(),
                        seconds=time.perf_counter() - started)
