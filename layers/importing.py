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
from layers.reading import (
    PlainRead,
    ReadResult,
    plain_values,
    read_plain,
    read_vector_file,
)

__all__ = ["ImportOptions", "ImportResult", "ReadData", "describe", "import_layer", "publish_staged",
           "read_vector_file"]


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


def _keep_schema(old: list[dict], new: list[dict]) -> None:
    """New data keeps what planners said of an attribute (required, allowed values) while its name and type stay."""
    said = {a["name"]: a for a in old}
    for attribute in new:
        before = said.get(attribute["name"])
        if before is not None and before["type"] == attribute["type"]:
            attribute.update({k: before[k] for k in ("required", "values") if k in before})


@dataclass
class ReadData:
    """What a read file gives a layer, whether loaded at once or staged first (layers/uploads.py)."""

    geometry_type: str
    attributes: list[dict]
    extent: list[float]
    count: int
    source_crs: str
    counts: dict
    source_file: str


def describe(read: ReadResult, source_file: str) -> ReadData:
    if read.counts.stored == 0:
        raise Invalid("no usable feature in the file", {"counts": read.counts.as_dict()})
    # Known from the frame already: no second pass over the new table.
    return ReadData(geometry_type=read.geometry_type, attributes=storage.infer_attributes(read.frame),
                    extent=[float(v) for v in read.frame.total_bounds], count=len(read.frame),
                    source_crs=read.source_crs, counts=read.counts.as_dict(), source_file=source_file)


def _target(session: Session, options: ImportOptions) -> Layer | None:
    """The layer to replace (locked until commit), or None for a new one; checks the options first."""
    _check(options)
    existing = session.scalar(select(Layer).where(Layer.name == options.name).with_for_update())
    if existing is not None and not options.replace:
        raise Conflict(f"layer {options.name!r} exists; replace its data explicitly", {"field": "name"})
    if existing is None and options.replace:
        raise Invalid(f"there is no layer {options.name!r} to replace", {"field": "name"})
    return existing


def import_layer(session: Session, path: Path, options: ImportOptions) -> ImportResult:
    """Read *path* and store it as layer *options.name*; the caller commits."""
    started = time.perf_counter()
    plain = read_plain(Path(path), layer=options.layer, crs=options.crs, province=options.province)
    if plain is not None:
        try:
            with session.begin_nested():
                return _import_plain(session, plain, options, options.source_name or Path(path).name, started)
        except storage.NeedsCleaning:
            pass  # undone to the savepoint: the file goes the full way, which repairs or drops what needs it
    existing = _target(session, options)
    read: ReadResult = read_vector_file(Path(path), layer=options.layer, crs=options.crs, province=options.province,
                                        limits=options.limits)
    data = describe(read, options.source_name or Path(path).name)

    def load(table, change) -> None:
        storage.create_and_load(session.connection(), table, read.frame, data.attributes, valid_from=change.at,
                                change_id=change.id)

    return _attach(session, existing, data, options, load, started)


def _import_plain(session: Session, plain: PlainRead, options: ImportOptions, source_file: str,
                  started: float) -> ImportResult:
    """import_layer for a file stored as read: PostGIS checks its geometries as it stores them, and NeedsCleaning
    (one needs repair) undoes the load."""
    existing = _target(session, options)
    n = len(plain.wkb)
    counts = {"read": n, "stored": n, "repaired": 0, "dropped": 0, "dropped_reasons": {}}
    data = ReadData(geometry_type=plain.geometry_type, attributes=plain.attributes, extent=[], count=n,
                    source_crs=plain.source_crs, counts=counts, source_file=source_file)

    def load(table, change) -> None:
        values = [plain_values(plain.columns[a["name"]], a["type"]) for a in data.attributes]
        data.extent = storage.load_columns(session.connection(), table, plain.wkb, values, data.attributes,
                                           valid_from=change.at, change_id=change.id, as_read=True)

    return _attach(session, existing, data, options, load, started)


def publish_staged(session: Session, staged_table: str, data: ReadData, options: ImportOptions) -> ImportResult:
    """Make an upload read into the staging table *staged_table* a new layer or a layer's new data."""
    started = time.perf_counter()
    existing = _target(session, options)

    def load(table, change) -> None:
        staged = storage.build_table(staged_table, data.geometry_type, data.attributes)
        storage.publish_staged(session.connection(), staged, table.name, geometry_type=data.geometry_type,
                               attributes=data.attributes, valid_from=change.at, change_id=change.id)

    return _attach(session, existing, data, options, load, started)


def _attach(session: Session, existing: Layer | None, data: ReadData, options: ImportOptions, load,
            started: float) -> ImportResult:
    """The catalog's side of an import: the layer (new or locked), the change, its new data table, the periods."""
    attributes = data.attributes
    if existing is not None:
        _keep_schema(existing.attributes, attributes)
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
            geometry_type=data.geometry_type, attributes=attributes, created_by=options.actor,
            updated_by=options.actor, shown_by_default=options.shown_by_default, sort_order=options.sort_order,
        )
        session.add(layer)
        session.flush()
    else:
        layer = existing  # locked by _target
    old_table = existing.data_table if existing is not None else None
    version = layer.data_version + 1  # what begin_change moves it to
    table = storage.build_table(storage.table_name(layer.id, version), data.geometry_type, attributes)
    change = history.begin_change(session, layer, "replace" if existing is not None else "import",
                                  actor=options.actor, comment=options.comment, data_table=table.name,
                                  details={"source_file": data.source_file, "counts": data.counts})
    load(table, change)
    layer.data_table = table.name
    layer.geometry_type = data.geometry_type
    layer.attributes = attributes
    layer.feature_count = data.count
    layer.extent = data.extent
    layer.source_crs = data.source_crs
    layer.source_file = data.source_file
    if existing is not None:
        if options.title:
            layer.title = options.title
        if options.style:
            layer.style = options.style
        history.close_table(session, old_table, change.at)
    history.open_table(session, layer, table, change.at)
    session.flush()
    return ImportResult(name=layer.name, layer_id=layer.id, data_version=version, geometry_type=data.geometry_type,
                        source_crs=data.source_crs, replaced=existing is not None, counts=data.counts,
                        seconds=time.perf_counter() - started)
