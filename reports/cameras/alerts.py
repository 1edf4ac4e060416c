"""AI camera events -> alerts: validated, geolocated, deduplicated, routed, linked to citizen reports."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Invalid, NotFound
from reports.areas.models import Area, Unit
from reports.areas.service import area_chain_for_point
from reports.cameras import access
from reports.cameras.alert_types import alert_type_by_code
from reports.cameras.changes import AlertChange, announce_alert
from reports.cameras.models import AiEvent, Alert, AlertEvent, AlertType, Camera
from reports.cameras.routing import route_alert
from reports.workflow.models import OPEN_STATUSES
from reports.workflow.sql import reports_in_box, within_metres
from reports.workflow.transitions import check_step

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


def _validate(session: Session, camera: Camera, data: EventInput, now: datetime):
    alert_type = alert_type_by_code(session, data.type)
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
    return alert_type, at, float(confidence), lon, lat


_NEAR_REPORT = text(f"""
SELECT r.id FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point
CROSS JOIN LATERAL ({reports_in_box("point.geom", ":metres")}) AS r
JOIN categories c ON c.id = r.category_id
WHERE c.code = ANY(:codes) AND r.status IN ('new', 'acknowledged', 'in_progress') AND r.merged_into_id IS NULL
  AND r.created_at BETWEEN :since AND :until
  AND {within_metres("r.geom", "point.geom", ":metres")}
ORDER BY r.geom::geography <-> point.geom::geography
LIMIT 1
""")  # noqa: S608 - constant SQL of the workflow's, no input


def _link_report(session: Session, categories, lon: float, lat: float, at: datetime) -> int | None:
    if not categories:
        return None
    return session.execute(_NEAR_REPORT, {
        "codes": list(categories), "lon": lon, "lat": lat, "metres": LINK_METRES,
        "since": at - timedelta(hours=LINK_HOURS), "until": at + timedelta(hours=1),
    }).scalar()


def _history(session: Session, alert: Alert, at: datetime, actor: str, action: str, old: str | None,
             note: str = "") -> None:
    session.add(AlertEvent(alert_id=alert.id, at=at, actor=actor, action=action, from_status=old,
                           to_status=alert.status, note=note))
    announce_alert(session, AlertChange(alert, action, old, actor, note, at))


def record_event(session: Session, camera: Camera, data: EventInput, *, snapshot_path: str | None = None,
                 now: datetime | None = None, dedup_window: timedelta = DEDUP_WINDOW,
                 actor: str | None = None) -> EventResult:
    """Store an event and fold it into its camera's open alert of that type, or raise a new routed alert.

    Events of one camera and type less than *dedup_window* apart make one alert with a count.
    """
    now = now or datetime.now(UTC)
    alert_type, at, confidence, lon, lat = _validate(session, camera, data, now)
    if lon is None:
        lon, lat = session.execute(select(func.ST_X(Camera.geom), func.ST_Y(Camera.geom))
                                   .where(Camera.id == camera.id)).one()
    point = from_shape(Point(lon, lat), srid=4326)
    open_alert = session.scalar(
        select(Alert).where(Alert.camera_id == camera.id, Alert.type == data.type,
                            Alert.status.in_(OPEN_STATUSES), Alert.last_at >= at - dedup_window,
                            Alert.first_at <= at + dedup_window)
        .order_by(Alert.last_at.desc()).with_for_update()
    )
    new = open_alert is None
    if new:
        chain = area_chain_for_point(session, lon, lat, on=at.date())
        units = route_alert(session, alert_type, chain)
        open_alert = Alert(camera_id=camera.id, type=data.type, geom=point, area_id=chain[0].id if chain else None,
                           unit_ids=[u.id for u in units], status="new", first_at=at, last_at=at, event_count=1,
                           max_confidence=confidence, due_at=at + timedelta(hours=alert_type.deadline_hours),
                           linked_report_id=_link_report(session, alert_type.report_categories, lon, lat, at))
        session.add(open_alert)
        session.flush()
        _history(session, open_alert, at, actor or f"camera:{camera.code}", "created", None,
                 f"{data.type}, confidence {confidence:.2f}; to {', '.join(u.code for u in units) or '-'}")
    else:
        open_alert.event_count += 1
        open_alert.last_at = max(open_alert.last_at, at)
        open_alert.first_at = min(open_alert.first_at, at)
        open_alert.max_confidence = max(open_alert.max_confidence, confidence)
        if open_alert.linked_report_id is None:  # a resident may have reported it since the alert began
            open_alert.linked_report_id = _link_report(session, alert_type.report_categories, lon, lat, at)
    session.add(AiEvent(camera_id=camera.id, alert_id=open_alert.id, type=data.type, confidence=confidence, at=at,
                        geom=point, snapshot_path=snapshot_path))
    camera.last_seen_at = max(camera.last_seen_at or at, at)  # an event is a sign of life too
    session.flush()
    return EventResult(open_alert, new)


def transition_alert(session: Session, alert: Alert, action: str, *, actor: str = "system", note: str = "",
                     at: datetime | None = None) -> Alert:
    """Alerts follow the reports' workflow (acknowledge, start, resolve, reject with a reason, reopen)."""
    checked = check_step("an alert", alert.status, action, note, at, since=alert.first_at)
    note, at = checked.note, checked.at
    old = alert.status
    alert.status = checked.transition.to
    alert.closed_at = at if alert.status in ("resolved", "rejected") else None
    if note:
        alert.note = note
    _history(session, alert, at, actor, action, old, note)
    session.flush()
    return alert


def is_overdue(alert: Alert, now: datetime | None = None) -> bool:
    return alert.status in OPEN_STATUSES and (now or datetime.now(UTC)) > alert.due_at


def alert_history(session: Session, alert: Alert) -> list[AlertEvent]:
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)))


def alerts_linked_to(session: Session, report_id: int) -> list[tuple[Alert, str]]:
    """The AI alerts linked to a report (newest first), each with its camera's code."""
    rows = session.execute(select(Alert, Camera.code).join(Camera, Camera.id == Alert.camera_id)
                           .where(Alert.linked_report_id == report_id).order_by(Alert.first_at.desc()))
    return [(alert, code) for alert, code in rows]


def _in_scope(session: Session, principal: Principal | None, query):
    condition = access.alert_condition(access.scope_of(session, principal))
    return query if condition is None else query.where(condition)


def alerts_for(session: Session, principal: Principal | None, *, statuses: list[str] | None = None,
               alert_type: str | None = None, limit: int = 500) -> list[Alert]:
    """The alerts of the caller's units and areas, latest first."""
    query = _in_scope(session, principal, select(Alert)).order_by(Alert.last_at.desc()).limit(limit)
    if statuses:
        query = query.where(Alert.status.in_(statuses))
    if alert_type:
        query = query.where(Alert.type == alert_type)
    return list(session.scalars(query))


def visible_alert(session: Session, principal: Principal | None, alert_id: int) -> Alert:
    """One alert of the caller's scope; others are "not found" as if they did not exist."""
    alert = session.scalar(_in_scope(session, principal, select(Alert).where(Alert.id == alert_id)))
    if alert is None:
        raise NotFound("no such alert")
    return alert


def alert_view(session: Session, alert: Alert, *, with_history: bool = False) -> dict:
    """An alert as the API shows it: where, what, its camera, units, area and link; its history on request."""
    point = to_shape(alert.geom)
    camera = session.get(Camera, alert.camera_id)
    kind = session.get(AlertType, alert.type)
    area = session.get(Area, alert.area_id) if alert.area_id else None
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(list(alert.unit_ids))))}
    body = {
        "lon": round(point.x, 7), "lat": round(point.y, 7),
        "id": alert.id, "type": alert.type, "type_name": {"vi": kind.name_vi, "en": kind.name_en} if kind else None,
        "status": alert.status, "camera_id": alert.camera_id, "camera": camera.code,
        "first_at": alert.first_at.isoformat(), "last_at": alert.last_at.isoformat(),
        "event_count": alert.event_count, "max_confidence": alert.max_confidence,
        "due_at": alert.due_at.isoformat(), "overdue": is_overdue(alert),
        "unit_ids": list(alert.unit_ids),
        "units": [{"code": units[i].code, "name": units[i].name} for i in alert.unit_ids if i in units],
        "area_id": alert.area_id, "area": {"code": area.code, "name": area.name} if area else None,
        "linked_report_id": alert.linked_report_id,
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None, "note": alert.note,
    }
    if with_history:
        body["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_status, "to": e.to_status,
             "note": e.note}
            for e in alert_history(session, alert)
        ]
    return body
