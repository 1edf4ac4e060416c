"""Scheduled checks, run by the worker every minute: deadlines near, overdue reports, the escalation ladder
(unit -> its ward's leaders -> the city), alerts not handled in time, cameras silent too long, gauges that
stopped reporting, the leaders' daily digest, and erasing residents' contacts after the retention period.

Every event found gets a dedupe key (outbox.record), so a check that runs on several workers at once, or twice,
tells each event once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from gisserver.accounts.models import User, UserGrant
from gisserver.core import audit
from gisserver.core.features import hooks
from reports.areas.models import Area
from reports.areas.service import ancestors
from reports.cameras.models import Alert, Camera, Hotspot
from reports.notifications import outbox
from reports.notifications.config import NotificationSettings
from reports.notifications.models import ResidentContact
from reports.notifications.recipients import CITY_TIME
from reports.workflow.models import OPEN_STATUSES, Report

CHECK_LIMIT = 500  # events per kind and run: a backlog drains over the next minutes instead of one huge batch


def _report_payload(report: Report, **extra) -> dict:
    point = to_shape(report.geom) if report.geom is not None else None
    return {"tracking_code": report.tracking_code, "status": report.status,
            "lon": round(point.x, 7) if point else None, "lat": round(point.y, 7) if point else None,
            "due_at": report.due_at.isoformat(), **extra}


def _ladder(session: Session, area_id: int | None) -> tuple[list[int], list[int]]:
    """(the ward's area ids, the city's area ids) above an area."""
    if area_id is None:
        return [], []
    chain = ancestors(session, session.get(Area, area_id))
    return [a.id for a in chain if a.level == "ward"], [a.id for a in chain if a.level == "city"]


def reports_due(session: Session, settings: NotificationSettings, now: datetime) -> int:
    told = 0
    soon = now + timedelta(hours=settings.deadline_warning_hours)
    base = select(Report).where(Report.status.in_(OPEN_STATUSES), Report.merged_into_id.is_(None))
    # "Near" is the configured hours or the last quarter of the report's own time, whichever is shorter: a
    # two-hour category is not "near its deadline" the minute it is filed.
    near = Report.due_at - now <= func.least(soon - now, (Report.due_at - Report.created_at) * 0.25)
    for report in session.scalars(base.where(Report.due_at > now, near).order_by(Report.due_at)
                                  .limit(CHECK_LIMIT)):
        told += _record(session, "report_deadline_near", report, f"deadline_near:report:{report.id}:{report.due_at}")
    for report in session.scalars(base.where(Report.due_at <= now).order_by(Report.due_at).limit(CHECK_LIMIT)):
        told += _record(session, "report_overdue", report, f"overdue:report:{report.id}:{report.due_at}")
        late = now - report.due_at
        ward_ids, city_ids = _ladder(session, report.area_current_id)
        for level, hours, area_ids in (("ward", settings.escalate_ward_hours, ward_ids),
                                       ("city", settings.escalate_city_hours, city_ids)):
            if late >= timedelta(hours=hours):
                told += _record(session, "report_escalated", report, f"escalated:{level}:report:{report.id}:"
                                f"{report.due_at}", level=level, area_ids=area_ids)
    return told


def _record(session: Session, kind: str, report: Report, key: str, **extra) -> int:
    event = outbox.record(session, kind=kind, subject_type="report", subject_id=report.id,
                          area_id=report.area_current_id, unit_ids=[report.unit_id] if report.unit_id else [],
                          payload=_report_payload(report, **extra), urgent=kind == "report_escalated",
                          dedupe_key=key)
    return event is not None


def alerts_due(session: Session, settings: NotificationSettings, now: datetime) -> int:
    told = 0
    for alert in session.scalars(select(Alert).where(Alert.status.in_(OPEN_STATUSES), Alert.due_at <= now)
                                 .order_by(Alert.due_at).limit(CHECK_LIMIT)):
        late = now - alert.due_at
        ward_ids, city_ids = _ladder(session, alert.area_id)
        point = to_shape(alert.geom)
        for level, hours, area_ids in (("ward", 0.0, ward_ids), ("city", settings.escalate_city_hours, city_ids)):
            if late >= timedelta(hours=hours):
                event = outbox.record(
                    session, kind="alert_escalated", subject_type="alert", subject_id=alert.id, area_id=alert.area_id,
                    unit_ids=list(alert.unit_ids), urgent=True, dedupe_key=f"escalated:{level}:alert:{alert.id}",
                    payload={"type": alert.type, "status": alert.status, "level": level, "area_ids": area_ids,
                             "camera_id": alert.camera_id, "lon": round(point.x, 7), "lat": round(point.y, 7),
                             "due_at": alert.due_at.isoformat()})
                told += event is not None
    return told


def cameras_silent(session: Session, settings: NotificationSettings, now: datetime) -> int:
    """A camera silent longer than the threshold is told once per silence (the key holds its last sign of life)."""
    told = 0
    since = now - timedelta(minutes=settings.camera_offline_alert_minutes)
    for camera in session.scalars(select(Camera).where(Camera.state == "active", Camera.last_seen_at < since)
                                  .limit(CHECK_LIMIT)):
        event = outbox.record(
            session, kind="camera_offline", subject_type="camera", subject_id=camera.id, area_id=camera.area_id,
            unit_ids=[camera.owner_unit_id] if camera.owner_unit_id else [],
            dedupe_key=f"offline:camera:{camera.id}:{camera.last_seen_at.isoformat()}",
            payload={"camera": camera.code, "since": camera.last_seen_at.astimezone(CITY_TIME)
                     .strftime("%H:%M %d/%m/%Y")})
        told += event is not None
    return told


def gauges_silent(session: Session, settings: NotificationSettings, now: datetime) -> int:
    told = 0
    since = now - timedelta(minutes=settings.gauge_stale_minutes)
    for hotspot in session.scalars(select(Hotspot).where(Hotspot.last_reading_at < since).limit(CHECK_LIMIT)):
        event = outbox.record(
            session, kind="gauge_stale", subject_type="hotspot", subject_id=hotspot.id, area_id=hotspot.area_id,
            unit_ids=[], dedupe_key=f"stale:hotspot:{hotspot.id}:{hotspot.last_reading_at.isoformat()}",
            payload={"code": hotspot.code, "name": hotspot.name,
                     "since": hotspot.last_reading_at.astimezone(CITY_TIME).strftime("%H:%M %d/%m/%Y")})
        told += event is not None
    return told


_DIGEST = text("""
WITH RECURSIVE sub AS (
    SELECT id FROM areas WHERE id = :area
    UNION ALL SELECT a.id FROM areas a JOIN sub ON a.parent_id = sub.id
)
SELECT
    count(*) FILTER (WHERE r.created_at >= :since) AS new,
    count(*) FILTER (WHERE r.closed_at >= :since) AS closed,
    count(*) FILTER (WHERE r.status IN ('new', 'acknowledged', 'in_progress') AND r.due_at < :now) AS overdue,
    count(*) FILTER (WHERE r.closed_at >= :since AND r.closed_at <= r.due_at) AS on_time,
    (SELECT count(*) FROM alerts al WHERE al.area_id IN (SELECT id FROM sub)
       AND al.status IN ('new', 'acknowledged', 'in_progress')) AS open_alerts
FROM reports r WHERE r.area_current_id IN (SELECT id FROM sub) AND r.merged_into_id IS NULL
""")


def digests(session: Session, settings: NotificationSettings, now: datetime) -> int:
    """At the configured hour (city time), one digest per area that has a leader, once a day."""
    local = now.astimezone(CITY_TIME)
    if local.hour != settings.digest_hour:
        return 0
    told = 0
    area_ids = session.scalars(select(UserGrant.area_id).join(User, User.id == UserGrant.user_id)
                               .where(UserGrant.area_id.is_not(None), User.roles.any("leader"), User.active)
                               .distinct()).all()
    for area_id in area_ids:
        row = session.execute(_DIGEST, {"area": area_id, "since": now - timedelta(days=1), "now": now}).one()
        closed = row.closed or 0
        event = outbox.record(
            session, kind="digest", subject_type="area", subject_id=area_id, area_id=area_id, unit_ids=[],
            dedupe_key=f"digest:area:{area_id}:{local.date().isoformat()}",
            payload={"day": local.strftime("%d/%m/%Y"), "new": row.new, "closed": closed, "overdue": row.overdue,
                     "on_time": f"{(row.on_time / closed):.0%}" if closed else "-",
                     "open_alerts": row.open_alerts})
        told += event is not None
    return told


def erase_old_contacts(session: Session, settings: NotificationSettings, now: datetime) -> int:
    """Residents' contacts go once their report has been closed for the retention period, each with an audit
    entry saying which report's contact was erased and why (the contact itself is in no audit entry)."""
    before = now - timedelta(days=settings.contact_retention_days)
    erased = session.execute(
        delete(ResidentContact).where(ResidentContact.id.in_(
            select(ResidentContact.id).join(Report, Report.id == ResidentContact.report_id)
            .where(Report.status.in_(("resolved", "rejected")), Report.closed_at < before)
            .order_by(ResidentContact.id).limit(CHECK_LIMIT).scalar_subquery()))
        .returning(ResidentContact.id, ResidentContact.report_id)).all()
    for contact_id, report_id in erased:
        audit.record(session, "delete", ResidentContact.__tablename__, str(contact_id),
                     {"report_id": report_id, "reason": f"erased {settings.contact_retention_days} days after the "
                                                        "report closed"})
    return len(erased)


CHECKS = (reports_due, alerts_due, cameras_silent, gauges_silent, digests, erase_old_contacts)


def run_checks(session: Session, settings: NotificationSettings, now: datetime | None = None) -> dict[str, int]:
    """Every check once, and the checks other features plug into "notification_checks" (a dashboard's weekly
    mail), each ``check(session, settings, now) -> events recorded``; the caller commits."""
    now = now or datetime.now(UTC)
    found = {check.__name__: check(session, settings, now) for check in CHECKS}
    for check in hooks("notification_checks"):
        found[check.__name__] = check(session, settings, now)
    return found
