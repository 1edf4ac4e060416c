"""Flood hotspots: thresholds, batched idempotent water-level readings, current status and history."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Conflict, Forbidden, Invalid, NotFound
from gisserver.core.pg_insert import insert
from reports.areas.service import area_chain_for_point
from reports.cameras import access
from reports.cameras.changes import HotspotCrossing, announce_crossing
from reports.cameras.models import Camera, Hotspot, HotspotReading, hotspot_cameras
from reports.cameras.service import get_camera

FUTURE_TOLERANCE = timedelta(minutes=5)
MAX_BATCH = 1000
HISTORY_DAYS = 30  # what a chart shows when no period is asked for
MAX_HISTORY = 10_000
LEVELS = ("normal", "watch", "warning", "danger")


@dataclass
class HotspotInput:
    code: str
    name: str
    lon: float
    lat: float
    watch_cm: float
    warning_cm: float
    danger_cm: float
    camera_codes: tuple[str, ...] = ()  # the cameras that watch the place


def status_for(hotspot: Hotspot, level_cm: float | None) -> str:
    if level_cm is None:
        return "unknown"
    if level_cm >= hotspot.danger_cm:
        return "danger"
    if level_cm >= hotspot.warning_cm:
        return "warning"
    if level_cm >= hotspot.watch_cm:
        return "watch"
    return "normal"


def add_hotspot(session: Session, data: HotspotInput) -> Hotspot:
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", data.code or ""):
        raise Invalid("code is 1-64 letters, digits, '.', '_' or '-'", {"field": "code"})
    values = [data.lon, data.lat, data.watch_cm, data.warning_cm, data.danger_cm]
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise Invalid("coordinates and thresholds must be finite numbers")
    if not (0 <= data.watch_cm < data.warning_cm < data.danger_cm):
        raise Invalid("thresholds must satisfy 0 <= watch < warning < danger", {"field": "thresholds"})
    if session.scalar(select(Hotspot.id).where(Hotspot.code == data.code)):
        raise Conflict(f"hotspot {data.code} exists")
    if not (data.name or "").strip():
        raise Invalid("name is required", {"field": "name"})
    chain = area_chain_for_point(session, data.lon, data.lat)
    if not chain:
        raise Invalid("the hotspot is outside the city", {"field": "location"})
    cameras = [get_camera(session, code) for code in dict.fromkeys(data.camera_codes)]
    hotspot = Hotspot(code=data.code, name=data.name.strip(), geom=from_shape(Point(data.lon, data.lat), srid=4326),
                      area_id=chain[0].id, watch_cm=data.watch_cm, warning_cm=data.warning_cm,
                      danger_cm=data.danger_cm)
    session.add(hotspot)
    session.flush()
    link_cameras(session, hotspot, [c.code for c in cameras])
    return hotspot


def update_hotspot(session: Session, hotspot: Hotspot, changes: dict) -> Hotspot:
    """Change name, thresholds (kept in order) or the list of cameras; the status follows new thresholds."""
    unknown = set(changes) - {"name", "watch_cm", "warning_cm", "danger_cm", "cameras"}
    if unknown:
        raise Invalid(f"cannot change: {', '.join(sorted(unknown))}")
    if "name" in changes:
        if not isinstance(changes["name"], str) or not changes["name"].strip():
            raise Invalid("name is required", {"field": "name"})
        hotspot.name = changes["name"].strip()
    levels = {k: changes.get(k, getattr(hotspot, k)) for k in ("watch_cm", "warning_cm", "danger_cm")}
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in levels.values()):
        raise Invalid("thresholds must be finite numbers", {"field": "thresholds"})
    if not 0 <= levels["watch_cm"] < levels["warning_cm"] < levels["danger_cm"]:
        raise Invalid("thresholds must satisfy 0 <= watch < warning < danger", {"field": "thresholds"})
    for key, value in levels.items():
        setattr(hotspot, key, float(value))
    if "cameras" in changes:
        link_cameras(session, hotspot, list(changes["cameras"]))
    session.flush()
    return hotspot


def link_cameras(session: Session, hotspot: Hotspot, camera_codes: list[str]) -> None:
    """Make *camera_codes* the cameras that watch *hotspot* (replacing the previous ones)."""
    cameras = [get_camera(session, code) for code in dict.fromkeys(camera_codes)]
    session.execute(delete(hotspot_cameras).where(hotspot_cameras.c.hotspot_id == hotspot.id))
    if cameras:
        session.execute(hotspot_cameras.insert(), [{"hotspot_id": hotspot.id, "camera_id": c.id} for c in cameras])
    session.flush()


def camera_codes_by_hotspot(session: Session, hotspot_ids=None) -> dict[int, list[str]]:
    """The codes of the cameras watching each hotspot."""
    query = (select(hotspot_cameras.c.hotspot_id, Camera.code)
             .join(Camera, Camera.id == hotspot_cameras.c.camera_id).order_by(Camera.code))
    if hotspot_ids is not None:
        query = query.where(hotspot_cameras.c.hotspot_id.in_(list(hotspot_ids)))
    out: dict[int, list[str]] = {}
    for hotspot_id, code in session.execute(query):
        out.setdefault(hotspot_id, []).append(code)
    return out


def get_hotspot(session: Session, code: str) -> Hotspot:
    hotspot = session.scalar(select(Hotspot).where(Hotspot.code == code))
    if hotspot is None:
        raise NotFound(f"no hotspot {code!r}")
    return hotspot


def _parse_time(value, index: int) -> datetime:
    if not isinstance(value, str):
        raise Invalid(f"readings[{index}].at must be an ISO 8601 time", {"index": index})
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"readings[{index}].at is not an ISO 8601 time: {value!r}", {"index": index}) from None
    if at.tzinfo is None:
        raise Invalid(f"readings[{index}].at needs a time zone (e.g. +07:00 or Z)", {"index": index})
    return at


@dataclass
class ReadingsResult:
    stored: int
    duplicates: int


def record_readings(session: Session, items, *, now: datetime | None = None,
                    writer: Principal | None = None) -> ReadingsResult:
    """Store a batch [{hotspot, at, level_cm, reading_id?}]; every item is checked before any is stored.

    A repeated (hotspot, at) or (hotspot, reading_id) is a duplicate, not an error: devices resend.
    With a *writer* (an HTTP caller), each hotspot must be one it may write (reports.cameras.access); None is trusted
    (the CLI and the demo loader).
    """
    if not isinstance(items, list) or not items:
        raise Invalid("send a non-empty list of readings")
    if len(items) > MAX_BATCH:
        raise Invalid(f"at most {MAX_BATCH} readings per request")
    now = now or datetime.now(UTC)
    codes = {item["hotspot"] for item in items if isinstance(item, dict) and isinstance(item.get("hotspot"), str)}
    hotspots = {h.code: h for h in session.scalars(select(Hotspot).where(Hotspot.code.in_(codes)))}
    allowed: dict[int, bool] = {}
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise Invalid(f"readings[{i}] must be an object", {"index": i})
        hotspot = hotspots.get(item.get("hotspot")) if isinstance(item.get("hotspot"), str) else None
        if hotspot is None:
            raise Invalid(f"readings[{i}]: unknown hotspot {item.get('hotspot')!r}", {"index": i})
        if writer is not None and hotspot.id not in allowed:
            allowed[hotspot.id] = access.may_write_readings(session, writer, hotspot)
        if writer is not None and not allowed[hotspot.id]:
            raise Forbidden(f"readings[{i}]: this caller may not write readings of {hotspot.code}", {"index": i})
        at = _parse_time(item.get("at"), i)
        if at > now + FUTURE_TOLERANCE:
            raise Invalid(f"readings[{i}].at is in the future", {"index": i})
        level = item.get("level_cm")
        if isinstance(level, bool) or not isinstance(level, int | float) or not math.isfinite(level) \
                or not -100 <= level <= 2000:
            raise Invalid(f"readings[{i}].level_cm must be a number of centimetres", {"index": i})
        reading_id = item.get("reading_id")
        if reading_id is not None and (not isinstance(reading_id, str) or not 0 < len(reading_id) <= 100):
            raise Invalid(f"readings[{i}].reading_id must be a short text", {"index": i})
        rows.append({"hotspot_id": hotspot.id, "at": at, "level_cm": float(level), "reading_id": reading_id})
    result = session.execute(
        insert(HotspotReading).values(rows).on_conflict_do_nothing().returning(HotspotReading.id)
    )
    stored = len(result.all())
    before = {h.id: status_for(h, h.last_level_cm) for h in hotspots.values()}
    _refresh_latest(session, {r["hotspot_id"] for r in rows})
    for hotspot in hotspots.values():
        after = status_for(hotspot, hotspot.last_level_cm)
        if after != before[hotspot.id] and after != "unknown":
            announce_crossing(session, HotspotCrossing(hotspot, before[hotspot.id], after,
                                                       hotspot.last_level_cm, hotspot.last_reading_at or now))
    return ReadingsResult(stored=stored, duplicates=len(rows) - stored)


_LATEST = text("""
UPDATE flood_hotspots h SET last_level_cm = r.level_cm, last_reading_at = r.at
FROM (SELECT DISTINCT ON (hotspot_id) hotspot_id, level_cm, at FROM hotspot_readings
      WHERE hotspot_id = ANY(:ids) ORDER BY hotspot_id, at DESC) r
WHERE h.id = r.hotspot_id
""")


def _refresh_latest(session: Session, ids: set[int]) -> None:
    session.execute(_LATEST, {"ids": sorted(ids)})
    session.expire_all()


def list_hotspots(session: Session, code: str | None = None) -> list[tuple[Hotspot, float, float]]:
    """(hotspot, lon, lat) of every hotspot, or of the one with *code*."""
    query = select(Hotspot, func.ST_X(Hotspot.geom), func.ST_Y(Hotspot.geom)).order_by(Hotspot.code)
    if code is not None:
        query = query.where(Hotspot.code == code)
    return list(session.execute(query).tuples())


def readings(session: Session, hotspot: Hotspot, start: datetime | None = None, end: datetime | None = None,
             limit: int = MAX_HISTORY, now: datetime | None = None) -> list[HotspotReading]:
    """A hotspot's readings in a period, oldest first: by default the last HISTORY_DAYS days up to now.

    When the period holds more than *limit* readings, the newest ones are kept.
    """
    if start and end and start > end:
        raise Invalid("from is after to", {"field": "from"})
    if start is None:
        start = (end or now or datetime.now(UTC)) - timedelta(days=HISTORY_DAYS)
    query = select(HotspotReading).where(HotspotReading.hotspot_id == hotspot.id, HotspotReading.at >= start)
    if end:
        query = query.where(HotspotReading.at <= end)
    newest = list(session.scalars(query.order_by(HotspotReading.at.desc()).limit(limit)))
    return newest[::-1]
