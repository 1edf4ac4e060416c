"""AI camera events -> alerts: validated, geolocated, deduplicated, routed, linked to citizen reports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gisserver.exceptions import Conflict, Invalid
from reports.areas import area_chain_for_point
from reports.camera_models import AiEvent, Alert, Camera
from reports.models import OPEN_STATUSES
from reports.routing import unit_for_type
from reports.units import FALLBACK_UNIT_TYPE
from reports.workflow import TRANSITIONS


@dataclass(frozen=True)
class AlertType:
    unit_types: tuple[str, ...]  # who is told, first one leads
    deadline_hours: float
    report_categories: tuple[str, ...]  # citizen reports about the same thing


# The routing table of alerts: fire goes to the ward People's Committee and the fire police, and so on.
ALERT_TYPES = {
    "fire": AlertType(("ward_committee", "fire_police"), 1, ("dot_rom_ra", "an_ninh_trat_tu")),
    "straw_burning": AlertType(("ward_committee",), 4, ("dot_rom_ra",)),
    "flood": AlertType(("ward_committee",), 2, ("cap_thoat_nuoc_ngap_ung",)),
    "traffic": AlertType(("ward_police",), 4, ("vi_pham_giao_thong",)),
    "crowd": AlertType(("ward_police",), 2, ("tu_tap_dong_nguoi", "gay_roi")),
    "encroachment": AlertType(("ward_police",), 24, ("vi_pham_giao_thong",)),
}
DEDUP_WINDOW = timedelta(minutes=10)
LINK_METRES = 300.0
LINK_HOURS = 48.0
FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass
class EventInput:
    type: str
    confidence: float
    at: str | datetime
    lon: float | None = None
    lat: float | None = None


@dataclass
class EventResult:
    alert: Alert
    new_alert: bool


def _parse_at(value) -> datetime:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"time is not ISO 8601: {value!r}", {"field": "at"}) from None
    else:
        raise Invalid("time is required (ISO 8601 with a time zone)", {"field": "at"})
    if at.tzinfo is None:
        raise Invalid("time needs a time zone (e.g. +07:00 or Z)", {"field": "at"})
    return at


def _validate(camera: Camera, data: EventInput, now: datetime) -> tuple[datetime, float, float | None, float | None]:
    if data.type not in ALERT_TYPES:
        raise Invalid(f"unknown event type {data.type!r}", {"field": "type", "types": sorted(ALERT_TYPES)})
    if data.type not in camera.ai_capabilities:
        raise Invalid(f"camera {camera.code} does not detect {data.type}", {"field": "type"})
    confidence = data.confidence
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not math.isfinite(confidence) \
            or not 0 <= confidence <= 1:
        raise Invalid("confidence must be a number from 0 to 1", {"field": "confidence"})
    at = _parse_at(data.at)
    if at > now + FUTURE_TOLERANCE:
        raise Invalid("the event time is in the future", {"field": "at"})
    lon, lat = data.lon, data.lat
    if (lon is None) != (lat is None):
        raise Invalid("give both lon and lat, or neither", {"field": "lon"})
    if lon is not None:
        for name, value, limit in (("lon", lon, 180), ("lat", lat, 90)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                    or abs(value) > limit:
                raise Invalid(f"{name} must be a finite number within ±{limit}", {"field": name})
    return at, float(confidence), lon, lat


_NEAR_REPORT = text("""
SELECT r.id FROM reports r JOIN categories c ON c.id = r.category_id
WHERE c.code = ANY(:codes) AND r.status IN ('new', 'acknowledged', 'in_progress') AND r.merged_into_id IS NULL
  AND r.created_at BETWEEN :since AND :until AND r.geom IS NOT NULL
  AND ST_DWithin(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
ORDER BY r.geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography
LIMIT 1
""")


def record_event(session: Session, camera: Camera, data: EventInput, *, snapshot_path: str | None = None,
                 now: datetime | None = None) -> EventResult:
    """Store an event and fold it into its camera's open alert of that type, or raise a new alert."""
    now = now or datetime.now(UTC)
    at, confidence, lon, lat = _validate(camera, data, now)
    if lon is None:
        lon, lat = session.execute(select(func.ST_X(Camera.geom), func.ST_Y(Camera.geom))
                                   .where(Camera.id == camera.id)).one()
    point = from_shape(Point(lon, lat), srid=4326)
    open_alert = session.scalar(
        select(Alert).where(Alert.camera_id == camera.id, Alert.type == data.type,
                            Alert.status.in_(OPEN_STATUSES), Alert.last_at >= at - DEDUP_WINDOW,
                            Alert.first_at <= at + DEDUP_WINDOW)
        .order_by(Alert.last_at.desc()).with_for_update()
    )
    new = open_alert is None
    if new:
        kind = ALERT_TYPES[data.type]
        chain = area_chain_for_point(session, lon, lat, on=at.date())
        units = [u for t in kind.unit_types if (u := unit_for_type(session, t, chain)) is not None]
        if not units:
            fallback = unit_for_type(session, FALLBACK_UNIT_TYPE, chain)
            units = [fallback] if fallback else []
        linked = session.execute(_NEAR_REPORT, {
            "codes": list(kind.report_categories), "lon": lon, "lat": lat, "metres": LINK_METRES,
            "since": at - timedelta(hours=LINK_HOURS), "until": at + timedelta(hours=1),
        }).scalar()
        open_alert = Alert(camera_id=camera.id, type=data.type, geom=point, area_id=chain[0].id if chain else None,
                           unit_ids=[u.id for u in units], status="new", first_at=at, last_at=at, event_count=1,
                           max_confidence=confidence, due_at=at + timedelta(hours=kind.deadline_hours),
                           linked_report_id=linked)
        session.add(open_alert)
        session.flush()
    else:
        open_alert.event_count += 1
        open_alert.last_at = max(open_alert.last_at, at)
        open_alert.first_at = min(open_alert.first_at, at)
        open_alert.max_confidence = max(open_alert.max_confidence, confidence)
    session.add(AiEvent(camera_id=camera.id, alert_id=open_alert.id, type=data.type, confidence=confidence, at=at,
                        geom=point, snapshot_path=snapshot_path))
    camera.last_seen_at = max(camera.last_seen_at or at, at)  # an event is a sign of life too
    session.flush()
    return EventResult(open_alert, new)


def transition_alert(session: Session, alert: Alert, action: str, *, note: str = "",
                     at: datetime | None = None) -> Alert:
    """Alerts follow the reports' workflow (acknowledge, start, resolve, reject with a reason, reopen)."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise Invalid(f"action must be one of {', '.join(TRANSITIONS)}", {"field": "action"})
    if alert.status not in step.sources:
        raise Conflict(f"cannot {action} an alert that is {alert.status}")
    if step.needs_note and not (note or "").strip():
        raise Invalid(f"a reason is required to {action}", {"field": "note"})
    alert.status = step.to
    alert.closed_at = (at or datetime.now(UTC)) if step.to in ("resolved", "rejected") else None
    if note:
        alert.note = note.strip()
    session.flush()
    return alert
