"""Camera registry: validation, automatic area, health from heartbeats, and "which cameras see this place"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Conflict, Forbidden, Invalid, NotFound
from reports.areas import sql as geo
from reports.areas.models import Unit
from reports.areas.service import area_by_code, area_chain_for_point
from reports.areas.units import unit_by_code
from reports.cameras import access
from reports.cameras.alert_types import active_alert_type_codes
from reports.cameras.models import CAMERA_STATES, Alert, Camera
from reports.workflow import sql as report_sql

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
HEARTBEAT_WINDOW = timedelta(minutes=10)
EDITABLE = ("name", "lon", "lat", "direction", "fov", "range_m", "owner_unit", "state", "ai_capabilities",
            "stream_url")


@dataclass
class CameraInput:
    code: str
    name: str
    lon: float
    lat: float
    direction: float | None = None
    fov: float = 90.0
    range_m: float = 60.0
    owner_unit: str | None = None
    state: str = "active"
    ai_capabilities: tuple[str, ...] = ()
    stream_url: str | None = None


def _number(value, name: str, low: float, high: float, *, high_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise Invalid(f"{name} must be a finite number", {"field": name})
    if value < low or value > high or (high_open and value == high):
        raise Invalid(f"{name} must be between {low} and {high}", {"field": name})
    return float(value)


def _validate(data: CameraInput) -> None:
    if not CODE.match(data.code or ""):
        raise Invalid("code is 1-64 letters, digits, '.', '_' or '-'", {"field": "code"})
    if not (data.name or "").strip():
        raise Invalid("name is required", {"field": "name"})
    _number(data.lon, "lon", -180, 180)
    _number(data.lat, "lat", -90, 90)
    data.fov = _number(data.fov, "fov", 1, 360)
    data.range_m = _number(data.range_m, "range_m", 1, 2000)
    if data.direction is None:
        if data.fov < 360:
            raise Invalid("a camera with a field of view under 360° needs a direction", {"field": "direction"})
    else:
        data.direction = _number(data.direction, "direction", 0, 360, high_open=True)
    if data.state not in CAMERA_STATES:
        raise Invalid(f"state must be one of {', '.join(CAMERA_STATES)}", {"field": "state"})
    if not all(isinstance(c, str) for c in data.ai_capabilities):
        raise Invalid("ai_capabilities must be a list of alert types", {"field": "ai_capabilities"})
    if data.stream_url and not re.match(r"^(rtsp|rtsps|https?)://", data.stream_url):
        raise Invalid("stream_url must be an rtsp:// or http(s):// address", {"field": "stream_url"})


def _check_capabilities(session: Session, data: CameraInput) -> None:
    """What a camera detects must be a configured alert type, or its events could not be routed."""
    unknown = set(data.ai_capabilities) - active_alert_type_codes(session)
    if unknown:
        raise Invalid(f"unknown AI capability: {', '.join(sorted(unknown))}", {"field": "ai_capabilities"})


def _apply(session: Session, camera: Camera, data: CameraInput) -> None:
    _check_capabilities(session, data)
    camera.name = data.name.strip()
    camera.geom = from_shape(Point(data.lon, data.lat), srid=4326)
    chain = area_chain_for_point(session, data.lon, data.lat)
    camera.area_id = chain[0].id if chain else None
    camera.direction = data.direction
    camera.fov = data.fov
    camera.range_m = data.range_m
    camera.owner_unit_id = unit_by_code(session, data.owner_unit).id if data.owner_unit else None
    camera.state = data.state
    camera.ai_capabilities = sorted(set(data.ai_capabilities))
    camera.stream_url = data.stream_url or None
    camera.updated_at = func.now()


def add_camera(session: Session, data: CameraInput) -> Camera:
    _validate(data)
    if session.scalar(select(Camera.id).where(Camera.code == data.code)):
        raise Conflict(f"camera {data.code} exists")
    camera = Camera(code=data.code)
    _apply(session, camera, data)
    session.add(camera)
    session.flush()
    return camera


def get_camera(session: Session, code: str) -> Camera:
    camera = session.scalar(select(Camera).where(Camera.code == code))
    if camera is None:
        raise NotFound(f"no camera {code!r}")
    return camera


def camera_input(session: Session, camera: Camera) -> CameraInput:
    position = select(func.ST_X(Camera.geom), func.ST_Y(Camera.geom)).where(Camera.id == camera.id)
    lon, lat = session.execute(position).one()
    owner = session.get(Unit, camera.owner_unit_id).code if camera.owner_unit_id else None
    return CameraInput(camera.code, camera.name, lon, lat, camera.direction, camera.fov, camera.range_m, owner,
                       camera.state, tuple(camera.ai_capabilities), camera.stream_url)


def update_camera(session: Session, camera: Camera, changes: dict) -> Camera:
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise Invalid(f"cannot change: {', '.join(sorted(unknown))}", {"fields": list(EDITABLE)})
    data = camera_input(session, camera)
    for key, value in changes.items():
        setattr(data, key, tuple(value) if key == "ai_capabilities" and isinstance(value, list) else value)
    _validate(data)
    _apply(session, camera, data)
    session.flush()
    return camera


def delete_camera(session: Session, camera: Camera) -> None:
    """Remove a camera from the registry; one that has raised alerts is kept as evidence (409)."""
    if session.scalar(select(Alert.id).where(Alert.camera_id == camera.id).limit(1)):
        raise Conflict(f"camera {camera.code} has raised alerts; set it to maintenance instead of deleting it")
    session.delete(camera)
    session.flush()


def heartbeat(session: Session, camera: Camera, at: datetime | None = None) -> None:
    camera.last_seen_at = at or datetime.now(UTC)
    session.flush()


def health(camera, now: datetime | None = None, window: timedelta = HEARTBEAT_WINDOW) -> str:
    """online / offline from the last heartbeat (within *window*), or maintenance when taken out of service."""
    if camera.state == "maintenance":
        return "maintenance"
    now = now or datetime.now(UTC)
    return "online" if camera.last_seen_at and now - camera.last_seen_at <= window else "offline"


_ROWS = text("""
SELECT c.id, c.code, c.name, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat, c.direction, c.fov, c.range_m,
       c.state, c.last_seen_at, c.ai_capabilities, c.stream_url, a.code AS area_code, a.name AS area_name,
       ST_AsGeoJSON(c.coverage, 6) AS coverage
FROM cameras c LEFT JOIN areas a ON a.id = c.area_id
WHERE (CAST(:area_ids AS int[]) IS NULL OR c.area_id = ANY(CAST(:area_ids AS int[])))
  AND (CAST(:ai AS boolean) IS NULL OR (cardinality(c.ai_capabilities) > 0) = CAST(:ai AS boolean))
ORDER BY c.code
""")


def list_cameras(session: Session, *, area_code: str | None = None, ai: bool | None = None) -> list:
    area_ids = None
    if area_code:
        area_ids = sorted(geo.area_subtree_ids(session, [area_by_code(session, area_code).id]))
    return list(session.execute(_ROWS, {"area_ids": area_ids, "ai": ai}))


_SEEING = text("""
SELECT c.code, c.name, c.direction, c.fov, c.range_m,
       ST_Distance(c.geom::geography, p.pt::geography) AS distance_m
FROM cameras c, (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt) p
WHERE ST_Intersects(c.coverage, p.pt)
ORDER BY distance_m, c.code
""")


def cameras_seeing_point(session: Session, lon: float, lat: float) -> list:
    """Cameras whose view cone covers the point, nearest first (GiST index on coverage)."""
    _number(lon, "lon", -180, 180)
    _number(lat, "lat", -90, 90)
    return list(session.execute(_SEEING, {"lon": lon, "lat": lat}))


def cameras_seeing_report(session: Session, report_id: int) -> list:
    """The cameras that see a report's place, nearest first; [] for a report known only by its address."""
    point = report_sql.point_lonlat(session, report_id)
    return cameras_seeing_point(session, *point) if point else []


def offline_window(minutes: int) -> timedelta:
    """The configured silence after which a camera is offline (GISSERVER_CAMERA_OFFLINE_MINUTES)."""
    if minutes <= 0:
        raise Invalid("the camera offline time must be positive")
    return timedelta(minutes=minutes)


_COUNTS = text("""
SELECT count(*) AS total,
       count(*) FILTER (WHERE state = 'maintenance') AS maintenance,
       count(*) FILTER (WHERE state = 'active' AND last_seen_at >= :since) AS online,
       count(*) FILTER (WHERE cardinality(ai_capabilities) > 0) AS ai
FROM cameras WHERE area_id = ANY(:ids)
""")


def camera_counts_by_area(session: Session, area_id: int, now: datetime | None = None,
                          window: timedelta = HEARTBEAT_WINDOW) -> dict:
    """Cameras in an area and below it: total, online, offline, maintenance, AI-capable.

    *window* is how long a camera may stay silent and still count as online (the app passes
    GISSERVER_CAMERA_OFFLINE_MINUTES, see offline_window()).
    """
    since = (now or datetime.now(UTC)) - window
    row = session.execute(_COUNTS, {"ids": sorted(geo.area_subtree_ids(session, [area_id])), "since": since}).one()
    return {"total": row.total, "online": row.online, "offline": row.total - row.online - row.maintenance,
            "maintenance": row.maintenance, "ai": row.ai}


@dataclass
class CameraImportResult:
    created: int
    updated: int


def _row_input(row, geometry, base: CameraInput | None) -> CameraInput:
    """A camera from a file's row; a column the file does not have keeps the camera's current value."""

    def text_of(name, default=None):
        if name not in row.index:
            return getattr(base, name) if base is not None else default
        value = row.get(name)
        return default if value is None or (isinstance(value, float) and math.isnan(value)) or value == "" else value

    def number_of(name, default=None):
        value = text_of(name, default)
        return None if value is None else float(value)

    ai = text_of("ai_capabilities", "")
    capabilities = tuple(ai) if isinstance(ai, tuple) else tuple(
        c.strip() for c in str(ai).replace(";", ",").split(",") if c.strip())
    return CameraInput(code=str(row.get("code") or ""), name=str(text_of("name", "")), lon=geometry.x,
                       lat=geometry.y, direction=number_of("direction"), fov=number_of("fov", 90.0),
                       range_m=number_of("range_m", 60.0), owner_unit=text_of("owner_unit"),
                       state=str(text_of("state", "active")), ai_capabilities=capabilities,
                       stream_url=text_of("stream_url"))


def import_cameras(session: Session, frame, *, writer: Principal | None = None) -> CameraImportResult:
    """Create or update cameras from a point layer (code, name, direction, fov, range_m, ...); all or nothing.

    Columns a file leaves out keep their values, so an export (which has no stream URLs) imports back safely.
    With a *writer* (an HTTP caller), every camera the file touches must be one it may manage, before and
    after the change (reports.cameras.access); None is trusted (the CLI).
    """
    missing = {"code", "name"} - set(frame.columns)
    if missing:
        raise Invalid(f"missing column(s): {', '.join(sorted(missing))}")
    manages = access.camera_manager(session, writer) if writer is not None else (lambda camera: True)
    errors, forbidden, result = [], [], CameraImportResult(0, 0)
    for number, (_, row) in enumerate(frame.iterrows(), start=1):
        if row.geometry is None or row.geometry.geom_type != "Point":
            errors.append({"row": number, "error": "not a point"})
            continue
        try:
            code = str(row.get("code") or "").strip()
            existing = session.scalar(select(Camera).where(Camera.code == code))
            data = _row_input(row, row.geometry, camera_input(session, existing) if existing else None)
            if existing is None:
                camera = add_camera(session, data)
                result.created += 1
            elif not manages(existing):
                forbidden.append({"row": number, "code": code})
                continue
            else:
                _validate(data)
                _apply(session, existing, data)
                camera = existing
                result.updated += 1
            if not manages(camera):
                forbidden.append({"row": number, "code": code})
        except (Invalid, NotFound, ValueError) as exc:
            errors.append({"row": number, "error": getattr(exc, "message", str(exc))})
    if forbidden:
        raise Forbidden(f"{len(forbidden)} row(s) are cameras outside your areas and units; nothing was stored",
                        {"rows": forbidden[:200]})
    if errors:
        raise Invalid(f"{len(errors)} row(s) cannot be imported; nothing was stored", {"rows": errors[:200]})
    session.flush()
    return result


_EXPORT = text("""
SELECT c.code, c.name, c.direction, c.fov, c.range_m, u.code AS owner_unit, c.state,
       array_to_string(c.ai_capabilities, ',') AS ai_capabilities, ST_AsBinary(c.geom) AS geom
FROM cameras c LEFT JOIN units u ON u.id = c.owner_unit_id ORDER BY c.code
""")


EXPORT_FORMATS = {"csv": ("text/csv", ".csv"), "geojson": ("application/geo+json", ".geojson")}


def write_cameras(session: Session, fmt: str, path) -> int:
    """Write the registry (without stream URLs) to *path* as CSV (lon/lat columns) or GeoJSON; returns the count.

    Both files import again with import_cameras, so the registry can be edited in a spreadsheet or a GIS.
    """
    if fmt not in EXPORT_FORMATS:
        raise Invalid(f"format must be one of {', '.join(EXPORT_FORMATS)}", {"field": "format"})
    frame = cameras_frame(session)
    if fmt == "csv":
        from layers.export import spreadsheet_safe

        # Names typed by officers must not run as formulas when the file is opened in a spreadsheet.
        table = spreadsheet_safe(frame.drop(columns="geometry"))
        table.insert(2, "lon", frame.geometry.x.round(7))
        table.insert(3, "lat", frame.geometry.y.round(7))
        table.to_csv(path, index=False, encoding="utf-8-sig")  # the BOM lets spreadsheet programs read Vietnamese
    else:
        frame.to_file(path, driver="GeoJSON")
    return len(frame)


def cameras_frame(session: Session):
    """The registry as a GeoDataFrame (without stream URLs) for exports."""
    import geopandas as gpd
    import pandas as pd

    frame = pd.DataFrame(session.execute(_EXPORT).all(), columns=["code", "name", "direction", "fov", "range_m",
                                                                  "owner_unit", "state", "ai_capabilities", "geom"])
    geometry = gpd.GeoSeries.from_wkb(frame.pop("geom").map(bytes), crs=4326)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


_GEOJSON = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', c.code,
    'geometry', ST_AsGeoJSON(CASE WHEN :coverage THEN c.coverage ELSE c.geom END, 6)::json,
    'properties', json_build_object(
        'code', c.code, 'name', c.name, 'direction', c.direction, 'fov', c.fov, 'range_m', c.range_m,
        'ai', c.ai_capabilities,
        'health', CASE WHEN c.state = 'maintenance' THEN 'maintenance'
                       WHEN c.last_seen_at >= :since THEN 'online' ELSE 'offline' END)
) ORDER BY c.code), '[]'))::text
FROM cameras c
WHERE (CAST(:bbox AS float8[]) IS NULL
       OR c.geom && ST_MakeEnvelope((CAST(:bbox AS float8[]))[1], (CAST(:bbox AS float8[]))[2],
                                    (CAST(:bbox AS float8[]))[3], (CAST(:bbox AS float8[]))[4], 4326))
""")


def cameras_geojson(session: Session, *, coverage: bool = False, bbox=None, now: datetime | None = None,
                    window: timedelta = HEARTBEAT_WINDOW) -> str:
    """Cameras (points or view cones) with their health as GeoJSON written by PostGIS; no stream addresses."""
    since = (now or datetime.now(UTC)) - window
    return session.execute(_GEOJSON, {"coverage": coverage, "since": since,
                                      "bbox": list(bbox) if bbox else None}).scalar()
