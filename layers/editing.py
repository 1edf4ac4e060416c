"""Editing single features (OGC API - Features Part 4 and the browser's editor), checked first, kept in history.

Every write locks the layer, checks the edit (the geometry by PostGIS: parsed, reprojected from the body's CRS, of
the layer's type, inside lon/lat, valid by ST_IsValid with the reason when not; the properties against the layer's
attribute schema: names, types, required, allowed values), records the change, keeps the row's previous state in
the history table, writes the row, and moves the layer's data version on, which the tiles' ETags follow.
A refused edit raises before anything is written.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from geoalchemy2 import WKBElement
from sqlalchemy import Text, cast, delete, func, insert, literal, select, update
from sqlalchemy.exc import DataError, InternalError, ProgrammingError
from sqlalchemy.orm import Session

from gisserver.core import audit
from gisserver.core.exceptions import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from layers import history
from layers.crs import ServedCrs
from layers.features import feature_json
from layers.models import Layer, LayerChange
from layers.storage import attribute_columns, data_table, history_table

MAX_FEATURE_BYTES = 5 * 1024 * 1024  # one planning feature, even a detailed boundary, is far below this
MAX_TEXT = 10_000
FAMILIES = {"Point": {"Point"}, "LineString": {"LineString"}, "Polygon": {"Polygon"},
            "MultiPoint": {"Point", "MultiPoint"}, "MultiLineString": {"LineString", "MultiLineString"},
            "MultiPolygon": {"Polygon", "MultiPolygon"},
            "Geometry": {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}}
POSTGIS_NAMES = {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
                 "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon",
                 "GEOMETRYCOLLECTION": "GeometryCollection"}
INT_RANGES = {"integer": (-(2**31), 2**31 - 1), "bigint": (-(2**63), 2**63 - 1)}


@dataclass
class Edit:
    """What a client sends for one feature: a GeoJSON geometry and/or properties (None: not given)."""

    geometry: dict | None = None
    properties: dict | None = None
    given_id: object = None  # the body's "id", which must name the feature being replaced


@dataclass
class EditResult:
    fid: int
    change: LayerChange
    deleted: bool = False

    @property
    def etag(self) -> str:
        return etag_of(self.change.id)


def etag_of(change_id: int) -> str:
    """A feature's entity tag: the change that made its current state (unique across all layers)."""
    return f'"{change_id}"'


# -- reading bodies -------------------------------------------------------------------------------------------


def edit_from_feature(body, *, partial: bool = False) -> Edit:
    """An Edit from a GeoJSON Feature (create, replace) or a merge patch of one (*partial*)."""
    if not isinstance(body, dict):
        raise Invalid("send a GeoJSON Feature object", {"field": "body"})
    if not partial and body.get("type") != "Feature":
        raise Invalid('the body must be a GeoJSON Feature ("type": "Feature")', {"field": "type"})
    if partial and "type" in body and body["type"] != "Feature":
        raise Invalid('a patch is a partial Feature ("type": "Feature" or none)', {"field": "type"})
    geometry = body.get("geometry")
    if not partial and not isinstance(geometry, dict):
        raise Invalid("a feature needs a geometry object", {"field": "geometry"})
    if partial and "geometry" in body and not isinstance(geometry, dict):
        raise Invalid("geometry must be a GeoJSON geometry object", {"field": "geometry"})
    properties = body.get("properties")
    if properties is not None and not isinstance(properties, dict):
        raise Invalid("properties must be an object", {"field": "properties"})
    unknown = set(body) - {"type", "id", "geometry", "properties", "bbox", "links"}
    if unknown:
        raise Invalid(f"unknown member(s) of the feature: {', '.join(sorted(unknown))}", {"field": "body"})
    return Edit(geometry=geometry, properties=properties if properties is not None else ({} if not partial else None),
                given_id=body.get("id"))


# -- checks ---------------------------------------------------------------------------------------------------


@dataclass
class CheckedGeometry:
    wkb: bytes  # EPSG:4326
    bounds: tuple[float, float, float, float]


def check_geometry(session: Session, layer: Layer, geometry: dict, crs: ServedCrs) -> CheckedGeometry:
    """Parse, reproject and check a GeoJSON geometry in PostGIS; a 400 saying what is wrong, else WKB in 4326."""
    text = json.dumps(geometry)
    parsed = func.ST_Force2D(func.ST_GeomFromGeoJSON(literal(text, Text)))
    inner = select(crs.to_storage(parsed).label("g")).subquery()
    g = inner.c.g
    statement = select(func.GeometryType(g), func.ST_IsEmpty(g), func.ST_XMin(g), func.ST_YMin(g), func.ST_XMax(g),
                       func.ST_YMax(g), func.ST_IsValidReason(g), func.ST_AsBinary(g))
    try:
        with session.begin_nested():
            kind, empty, *bounds, reason, wkb = session.execute(statement).one()
    except (DataError, InternalError, ProgrammingError) as exc:
        message = str(exc.orig).splitlines()[0] if exc.orig else "unreadable"
        raise Invalid(f"the geometry is not valid GeoJSON: {message}", {"field": "geometry"}) from None
    kind = POSTGIS_NAMES.get(kind, kind)
    if kind not in FAMILIES["Geometry"]:
        raise Invalid(f"a {kind} cannot be stored; send a Point, LineString or Polygon (or Multi-)",
                      {"field": "geometry", "reason": "geometry_type"})
    if kind not in FAMILIES[layer.geometry_type]:
        raise Invalid(f"this layer holds {layer.geometry_type} features, not {kind}",
                      {"field": "geometry", "reason": "geometry_type", "expected": layer.geometry_type})
    if empty:
        raise Invalid("the geometry is empty", {"field": "geometry", "reason": "empty"})
    minx, miny, maxx, maxy = bounds
    if not (all(math.isfinite(v) for v in bounds) and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("the coordinates are outside longitude -180..180 / latitude -90..90 (in the body's CRS "
                      f"{crs.title})", {"field": "geometry", "reason": "out_of_range"})
    if reason != "Valid Geometry":
        raise Invalid(f"the geometry is not valid: {reason}", {"field": "geometry", "reason": "invalid",
                                                              "why": reason})
    if layer.geometry_type.startswith("Multi") and not kind.startswith("Multi"):
        wkb = session.scalar(select(func.ST_AsBinary(func.ST_Multi(func.ST_GeomFromWKB(bytes(wkb), 4326)))))
    return CheckedGeometry(wkb=bytes(wkb), bounds=(minx, miny, maxx, maxy))


def _typed(attribute: dict, value):
    """A JSON value as the attribute's column type; a 400 naming the attribute when it does not fit."""
    kind, name = attribute["type"], attribute["name"]
    wrong = Invalid(f"{name} must be {'an' if kind == 'integer' else 'a'} {kind}",
                    {"field": name, "reason": "type", "expected": kind})
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise wrong
        return value
    if kind == "double":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise wrong
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong
        return value
    if not isinstance(value, str):
        raise wrong
    if kind == "text":
        if len(value) > MAX_TEXT:
            raise Invalid(f"{name} is longer than {MAX_TEXT} characters", {"field": name, "reason": "too_long"})
        if "\x00" in value:
            raise Invalid(f"{name} contains a NUL character", {"field": name, "reason": "nul_character"})
        return value
    try:
        if kind == "date":
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise ValueError
            return date.fromisoformat(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # Stored as on import: without a zone, in UTC when the value names one.
        return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        raise wrong from None


def check_properties(layer: Layer, properties: dict, *, partial: bool) -> dict:
    """Column values for *properties* (original attribute names); every attribute absent from a full edit is
    NULL. Unknown names, wrong types, missing required values and values outside the allowed list are a 400."""
    by_name = {a["name"]: a for a in layer.attributes}
    unknown = sorted(set(properties) - set(by_name))
    if unknown:
        raise Invalid(f"unknown attribute(s): {', '.join(unknown)}",
                      {"field": "properties", "reason": "unknown", "unknown": unknown, "attributes": list(by_name)})
    values = {}
    for name, attribute in by_name.items():
        if name not in properties:
            if partial:
                continue
            value = None
        else:
            value = properties[name]
        if value is None or value == "":  # as on import: an empty cell is no value
            if attribute.get("required"):
                raise Invalid(f"{name} is required", {"field": name, "reason": "required"})
            values[attribute["column"]] = None
            continue
        typed = _typed(attribute, value)
        allowed = attribute.get("values")
        if allowed and typed not in allowed:
            raise Invalid(f"{name} must be one of: {', '.join(map(str, allowed))}",
                          {"field": name, "reason": "not_allowed", "allowed": allowed})
        values[attribute["column"]] = typed
    return values


# -- writing --------------------------------------------------------------------------------------------------


def _fid(value) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,18}", value):
        return int(value)
    raise NotFound(f"no feature {value!r}")


def _current(session: Session, table, fid: int):
    return session.execute(select(table.c.fid, table.c.change_id).where(table.c.fid == fid)).one_or_none()


def check_if_match(session: Session, table, fid: int, if_match: list[str] | None, current_change: int, *,
                   required: bool = False) -> None:
    """A stale If-Match is a 412 carrying the feature's current version (its ETag and GeoJSON); none at all is a
    428 when *required* (every write over HTTP: two planners editing one feature must not overwrite each other
    unknowingly, so a client says which version it changes, or `*` to change whatever is there)."""
    if if_match is None and required:
        raise PreconditionRequired(
            f"send If-Match with the ETag of the version of feature {fid} you are changing (GET the feature: its "
            "answer carries it), or If-Match: * to change whatever version is there", {"header": "If-Match"})
    if not if_match or "*" in if_match:
        return
    current = etag_of(current_change)
    if current.strip('"') not in [tag.strip('"') for tag in if_match]:
        feature = session.execute(select(cast(feature_json(table), Text)).where(table.c.fid == fid)).scalar()
        raise PreconditionFailed(
            f"feature {fid} has changed since that version was read; its current version is {current}",
            {"etag": current, "current": json.loads(feature) if feature else None}, etag=current)


def _extend_extent(layer: Layer, bounds: tuple[float, float, float, float]) -> None:
    # Grown by edits, never shrunk by them: an extent is an envelope, and shrinking it would need a full scan.
    old = layer.extent
    layer.extent = list(bounds) if not old else [min(old[0], bounds[0]), min(old[1], bounds[1]),
                                                 max(old[2], bounds[2]), max(old[3], bounds[3])]


def _audit(session: Session, action: str, table, fid: int, change: LayerChange, values: dict | None) -> None:
    described = {"layer_change": change.id, "comment": change.comment}
    if values is not None:
        names = {c.name: c.info["name"] for c in attribute_columns(table)}
        described["properties"] = {names[k]: v for k, v in values.items() if k in names}
        described["geometry"] = "geom" in values
    audit.record(session, action, table.name, str(fid), described)


def _geometry_value(checked: CheckedGeometry):
    return WKBElement(checked.wkb, srid=4326)


def _next_fid(session: Session, table) -> int:
    """One more than any id the table ever held: a deleted feature's id is never given to another."""
    hist = history_table(table)
    return session.scalar(select(func.coalesce(func.greatest(select(func.max(table.c.fid)).scalar_subquery(),
                                                             select(func.max(hist.c.fid)).scalar_subquery()), 0)
                                 + 1))


def create_feature(session: Session, layer: Layer, edit: Edit, *, actor: str, comment: str,
                   crs: ServedCrs) -> EditResult:
    history.lock(session, layer)
    table = data_table(layer)
    checked = check_geometry(session, layer, edit.geometry, crs)
    values = check_properties(layer, edit.properties or {}, partial=False)
    fid = _next_fid(session, table)
    change = history.begin_change(session, layer, "create", actor=actor, comment=comment, fid=fid)
    session.execute(insert(table).values(fid=fid, geom=_geometry_value(checked), valid_from=change.at,
                                         change_id=change.id, **values))
    layer.feature_count = (layer.feature_count or 0) + 1
    _extend_extent(layer, checked.bounds)
    _audit(session, "create_feature", table, fid, change, {**values, "geom": True})
    return EditResult(fid=fid, change=change)


def change_feature(session: Session, layer: Layer, fid_text, edit: Edit, *, actor: str, comment: str,
                   crs: ServedCrs, if_match: list[str] | None, partial: bool,
                   require_if_match: bool = False) -> EditResult:
    """Replace a feature (PUT: geometry and every property) or update it (PATCH: what the patch names)."""
    fid = _fid(fid_text)
    history.lock(session, layer)
    table = data_table(layer)
    current = _current(session, table, fid)
    if current is None:
        raise NotFound(f"no feature {fid} in {layer.name}")
    check_if_match(session, table, fid, if_match, current.change_id, required=require_if_match)
    if edit.given_id is not None and str(edit.given_id) != str(fid):
        raise Invalid(f"the body's id {edit.given_id!r} names another feature than {fid}",
                      {"field": "id", "reason": "id_mismatch"})
    values = check_properties(layer, edit.properties or {}, partial=partial)
    checked = check_geometry(session, layer, edit.geometry, crs) if edit.geometry is not None else None
    if checked is not None:
        values["geom"] = _geometry_value(checked)
    change = history.begin_change(session, layer, "update", actor=actor, comment=comment, fid=fid,
                                  details={"partial": partial})
    history.keep_row(session, table, fid, change)
    session.execute(update(table).where(table.c.fid == fid).values(valid_from=change.at, change_id=change.id,
                                                                   **values))
    if checked is not None:
        _extend_extent(layer, checked.bounds)
    _audit(session, "update_feature", table, fid, change, values)
    return EditResult(fid=fid, change=change)


def delete_feature(session: Session, layer: Layer, fid_text, *, actor: str, comment: str,
                   if_match: list[str] | None, require_if_match: bool = False) -> EditResult:
    fid = _fid(fid_text)
    history.lock(session, layer)
    table = data_table(layer)
    current = _current(session, table, fid)
    if current is None:
        raise NotFound(f"no feature {fid} in {layer.name}")
    check_if_match(session, table, fid, if_match, current.change_id, required=require_if_match)
    change = history.begin_change(session, layer, "delete", actor=actor, comment=comment, fid=fid)
    history.keep_row(session, table, fid, change)
    session.execute(delete(table).where(table.c.fid == fid))
    layer.feature_count = max((layer.feature_count or 1) - 1, 0)
    _audit(session, "delete_feature", table, fid, change, None)
    return EditResult(fid=fid, change=change, deleted=True)


def restore_feature(session: Session, layer: Layer, fid_text, version, *, actor: str, comment: str) -> EditResult:
    """Make an earlier state of a feature (named by the change that made it) its current one, as a new change;
    a deleted feature comes back."""
    fid = _fid(fid_text)
    if isinstance(version, bool) or not isinstance(version, int):
        raise Invalid("version must be the id of the change that made it (an integer)", {"field": "version"})
    history.lock(session, layer)
    table = data_table(layer)
    hist = history_table(table)
    columns = [c.name for c in attribute_columns(table)]
    earlier = session.execute(select(hist.c.geom, *[hist.c[c] for c in columns])
                              .where(hist.c.fid == fid, hist.c.change_id == version)).one_or_none()
    current = _current(session, table, fid)
    if earlier is None:
        if current is not None and current.change_id == version:
            raise Conflict(f"version {version} is already the current state of feature {fid}",
                           {"field": "version", "reason": "current"})
        raise NotFound(f"feature {fid} of {layer.name} has no version {version}",
                       {"field": "version", "reason": "no_such_version"})
    change = history.begin_change(session, layer, "restore", actor=actor, comment=comment, fid=fid,
                                  details={"version": version})
    values = {"geom": earlier.geom, **{c: getattr(earlier, c) for c in columns}}
    if current is not None:
        history.keep_row(session, table, fid, change)
        session.execute(update(table).where(table.c.fid == fid).values(valid_from=change.at, change_id=change.id,
                                                                       **values))
    else:
        session.execute(insert(table).values(fid=fid, valid_from=change.at, change_id=change.id, **values))
        layer.feature_count = (layer.feature_count or 0) + 1
    bounds = session.execute(select(func.ST_XMin(earlier.geom), func.ST_YMin(earlier.geom),
                                    func.ST_XMax(earlier.geom), func.ST_YMax(earlier.geom))).one()
    _extend_extent(layer, tuple(bounds))
    _audit(session, "restore_feature", table, fid, change, values)
    return EditResult(fid=fid, change=change)
