"""The outbox: what the lower domains' hooks write in the transaction of each change.

One ``notification_events`` row per change worth telling, one fan-out job for the worker, and one PostgreSQL
NOTIFY for the live map (delivered at commit, dropped with a rollback). Working out who is told happens in the
worker (fanout.py), so that filing a report costs three small statements more, not a lookup of every recipient.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache

from geoalchemy2.shape import to_shape
from sqlalchemy import Integer, String, bindparam, column, false, func, literal_column, null, select, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, array
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.selectable import CTE

from gisserver.demo.loader import HISTORY_REPLAY
from reports.cameras.changes import AlertChange, HotspotCrossing
from reports.notifications import queue
from reports.notifications.config import NotificationSettings
from reports.notifications.models import NotificationEvent, ResidentContact
from reports.workflow.changes import FilingPart, ReportChange

WRITTEN_BY = "reports.notifications"  # how a ReportChange names the rows the filing statement wrote for us
LIVE_CHANNEL = "gisserver_live"
MAX_NOTICE = 7900  # bytes; NOTIFY takes up to 8000
# The history actions of a report, as notification kinds; None: on the live map only, nobody is messaged.
REPORT_KINDS = {
    "created": "report_filed", "acknowledge": "report_status", "start": "report_status",
    "resolve": "report_status", "reject": "report_status", "reopen": "report_status",
    "reassign": "report_reassigned", "merge": "report_merged", "comment": "report_comment",
    "absorb": None, "move": None,
}
ALERT_KINDS = {"created": "alert_raised"}


_enabled: bool | None = None


def enabled() -> bool:
    """GISSERVER_NOTIFICATIONS_ENABLED, read once per process."""
    global _enabled
    if _enabled is None:
        _enabled = NotificationSettings.from_env().notifications_enabled
    return _enabled


def set_enabled(value: bool | None) -> None:
    """Switch the outbox on or off in this process (the benchmark compares intake with both); None re-reads."""
    global _enabled
    _enabled = value


def _point(geom) -> tuple[float, float] | None:
    if geom is None:
        return None
    point = to_shape(geom)
    return round(point.x, 7), round(point.y, 7)


def record(session: Session, *, kind: str, subject_type: str, subject_id: int, area_id: int | None,
           unit_ids: list[int], payload: dict, urgent: bool = False, dedupe_key: str | None = None,
           notify: bool = True, on_map: bool = True) -> int | None:
    """Write one outbox event with its fan-out job (and, *on_map*, its live-map notice) in the session's
    transaction; returns its id.

    With a *dedupe_key* already used the event is not written again and None is returned: scheduled checks
    run on every worker, each event of theirs happens once.
    """
    fields = _notice_fields(kind, subject_type, subject_id, area_id, unit_ids, urgent, payload)
    return _record_new(session, fields, dedupe_key=dedupe_key, notify=notify, on_map=on_map)


def record_direct(session: Session, *, kind: str, subject_type: str, subject_id: int, user_id: int, dedupe_key: str,
                  payload: dict | None = None) -> int | None:
    """An event for one person only, by email (a higher feature's own message: a dashboard's weekly PDF). Nobody
    else is told (no unit, no webhook subscriber, not the live map); the message itself comes from the
    "notification_message" hook of the feature that recorded it. None when *dedupe_key* was used already."""
    return record(session, kind=kind, subject_type=subject_type, subject_id=subject_id, area_id=None, unit_ids=[],
                  payload={**(payload or {}), "direct": {"user_id": user_id, "channel": "email"}},
                  dedupe_key=dedupe_key, on_map=False)


def _notify_sql(notice: str) -> str:
    """SQL that sends the live map's notice: *notice* is a FROM item of (id, body), body _notice_json() of the event
    with its id; a notice too long for NOTIFY (8000 bytes) is sent as the id alone, for the listeners to read the
    row."""
    return (f"pg_notify('{LIVE_CHANNEL}', CASE WHEN octet_length({notice}.body) > {MAX_NOTICE} "
            f"THEN json_build_object('id', {notice}.id, 'reload', true)::text ELSE {notice}.body END)")


# The event, its fan-out job and its live-map notice in one statement: a change pays one round trip for the outbox,
# not three. The notice is _notice_json() of the event, its id spliced in by the database. An event whose dedupe key
# was used already is not written, and then neither is its job nor its notice: the statement returns no row.
_RECORD_NEW = text(f"""
WITH event AS (
    INSERT INTO notification_events (kind, subject_type, subject_id, area_id, unit_ids, urgent, dedupe_key, payload,
                                     created_at)
    VALUES (:kind, :st, :sid, :area, :units, :urgent, :key, CAST(:payload AS jsonb), :created_at)
    ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
    RETURNING id
), job AS (
    SELECT {queue.defer_sql(queue.FAN_OUT, "notify", "jsonb_build_object('event_id', event.id)",
                            f"CASE WHEN CAST(:urgent AS boolean) THEN {queue.URGENT_PRIORITY} ELSE 0 END")} AS ids
    FROM event WHERE CAST(:notify AS boolean)
), notice AS (
    SELECT event.id, '{{"id":' || event.id || ',' || CAST(:notice AS text) AS body FROM event
)
SELECT notice.id, (SELECT ids[1] FROM job) AS job_id,
       CASE WHEN CAST(:on_map AS boolean) THEN {_notify_sql("notice")} END
FROM notice
""")  # noqa: S608 - constant SQL of this module and of queue.defer_sql, no input


def _record_new(session: Session, fields: dict, *, dedupe_key: str | None, notify: bool, on_map: bool) -> int | None:
    # On the session's connection, past the ORM's execute (its autoflush and events cost every change a tenth of a
    # millisecond): the statement reads no row the session may hold unflushed, and whatever it holds (a resident's
    # contact) commits with it all the same.
    row = session.connection().execute(_RECORD_NEW, {
        "kind": fields["kind"], "st": fields["subject_type"], "sid": fields["subject_id"],
        "area": fields["area_id"], "units": fields["unit_ids"], "urgent": fields["urgent"], "key": dedupe_key,
        "payload": json.dumps(fields["data"], default=str), "created_at": datetime.now(UTC), "notify": notify,
        "on_map": on_map, "notice": _notice_json(fields)[1:]}).first()
    if row is None:
        return None
    event_id, job_id, _ = row
    if job_id is not None:
        queue.remember_deferred(session, job_id)
    return event_id


def _notice_fields(kind: str, subject_type: str, subject_id: int, area_id: int | None, unit_ids: list[int],
                   urgent: bool, payload: dict) -> dict:
    """What the live map is told of an event, but its id."""
    return {"kind": kind, "subject_type": subject_type, "subject_id": subject_id, "area_id": area_id,
            "unit_ids": list(unit_ids), "urgent": urgent, "data": payload}


def _notice_json(notice: dict) -> str:
    return json.dumps(notice, ensure_ascii=False, separators=(",", ":"), default=str)


@cache
def _urgent_types() -> frozenset[str]:
    return frozenset(NotificationSettings.from_env().urgent_types())


def report_payload(change: ReportChange) -> dict:
    report = change.report
    point = _point(report.geom)
    return {
        "tracking_code": report.tracking_code, "status": report.status, "from_status": change.from_status,
        "action": change.action, "category": report.category.code if report.category else None,
        "lon": point[0] if point else None, "lat": point[1] if point else None,
        "created_at": report.created_at.isoformat(), "due_at": report.due_at.isoformat(),
        # The intake's own note ("channel api") is not for anyone's eyes; officers' notes are the answers.
        "description": report.description[:280], "note": "" if change.action == "created" else change.note[:1000],
        "at": change.at.isoformat(),
        "merged_into_id": report.merged_into_id,
    }


def filing_part(session: Session, change: ReportChange) -> FilingPart | None:
    """The intake's "report_filing" hook: a new report's outbox rows, written by the statement that stores it.

    They are record()'s rows for the change, with the report's id, area, unit and time read from the row that
    statement writes: on a flood day the outbox's own round trip was half of what it cost each filing.
    """
    if not enabled() or session.info.get(HISTORY_REPLAY):
        return None
    report = change.report
    fields = _notice_fields(REPORT_KINDS["created"], "report", 0, report.area_current_id,
                            [report.unit_id] if report.unit_id else [], False, report_payload(change))
    del fields["subject_id"]  # the statement splices in the report's id
    return FilingPart(WRITTEN_BY, _filed_rows, written=_filed, params={
        "outbox_kind": fields["kind"], "outbox_payload": fields["data"], "outbox_notice": _notice_json(fields)[1:]})


# What filing_part adds to the report's statement besides its event row (the CTE "outbox_event", whose subject_id is
# the new report's id): _RECORD_NEW's job and notice, constant SQL (queue.defer_sql's and this module's, no input).
# The job's CTE runs because a column reads it.
_FILED_JOB_ARGS = "jsonb_build_object('event_id', outbox_event.id)"
_FILED_JOB = text(f"SELECT {queue.defer_sql(queue.FAN_OUT, 'notify', _FILED_JOB_ARGS)} "  # noqa: S608 - no input
                  "AS ids FROM outbox_event")
_FILED_JOB_ID = text("(SELECT ids[1] FROM outbox_job)")
_FILED_BODY = """'{"id":' || id || ',"subject_id":' || subject_id || ',' || CAST(:outbox_notice AS text)"""
_FILED_NOTICE = text(f"(SELECT {_notify_sql('notice')} "  # noqa: S608 - constant SQL of this module, no input
                     f"FROM (SELECT id, {_FILED_BODY} AS body FROM outbox_event) AS notice)")


def _filed_rows(written: FromClause) -> tuple[list[CTE], list[ColumnElement]]:
    """FilingPart.build of filing_part: _RECORD_NEW's event, fan-out job and notice over the new report *written*."""
    events = NotificationEvent.__table__
    units = func.array_remove(array([written.c.unit_id]), null(), type_=ARRAY(Integer))
    event = events.insert().from_select(
        ["kind", "subject_type", "subject_id", "area_id", "unit_ids", "urgent", "payload", "created_at"],
        select(bindparam("outbox_kind", type_=String), literal_column("'report'"), written.c.id,
               written.c.area_current_id, units, false(), bindparam("outbox_payload", type_=JSONB),
               written.c.created_at),
    ).returning(events.c.id, events.c.subject_id).cte("outbox_event")
    job = _FILED_JOB.columns(column("ids")).cte("outbox_job")
    return [event, job], [select(event.c.id).scalar_subquery(), _FILED_JOB_ID, _FILED_NOTICE]


def _filed(session: Session, values) -> None:
    queue.remember_deferred(session, values[1])


def on_report_changed(session: Session, change: ReportChange) -> None:
    """The workflow's and the intake's "report_changed" hook."""
    if not enabled() or session.info.get(HISTORY_REPLAY):
        return
    report = change.report
    if change.contact is not None:
        contact = change.contact
        session.add(ResidentContact(report_id=report.id, email=contact.email, phone=contact.phone,
                                    language=contact.language, consent=contact.consent, consented_at=change.at))
    if WRITTEN_BY in change.written_by:
        return  # filing_part's rows, written with the report
    kind = REPORT_KINDS.get(change.action.removeprefix("follow_"), "report_status")
    record(session, kind=kind or "report_changed", subject_type="report", subject_id=report.id,
           area_id=report.area_current_id, unit_ids=[report.unit_id] if report.unit_id else [],
           payload=report_payload(change), notify=kind is not None)


def on_alert_changed(session: Session, change: AlertChange) -> None:
    """The cameras' "alert_changed" hook: a raised alert is told to its units; every change reaches the map."""
    if not enabled() or session.info.get(HISTORY_REPLAY):
        return
    alert = change.alert
    point = _point(alert.geom)
    kind = ALERT_KINDS.get(change.action, "alert_status")
    urgent = kind == "alert_raised" and alert.type in _urgent_types()
    record(session, kind=kind, subject_type="alert", subject_id=alert.id, area_id=alert.area_id,
           unit_ids=list(alert.unit_ids), urgent=urgent,
           payload={"type": alert.type, "status": alert.status, "from_status": change.from_status,
                    "action": change.action, "lon": point[0], "lat": point[1],
                    "first_at": alert.first_at.isoformat(), "due_at": alert.due_at.isoformat(),
                    "camera_id": alert.camera_id, "confidence": alert.max_confidence, "note": change.note[:500],
                    "at": change.at.isoformat()})


def on_hotspot_level_changed(session: Session, crossing: HotspotCrossing) -> None:
    """The cameras' "hotspot_level_changed" hook: rising into warning or danger is told; every move is mapped."""
    if not enabled() or session.info.get(HISTORY_REPLAY):
        return
    hotspot = crossing.hotspot
    rising = crossing.to_level in ("warning", "danger") and (
        ("normal", "watch", "warning", "danger").index(crossing.to_level) >
        (("normal", "watch", "warning", "danger").index(crossing.from_level)
         if crossing.from_level in ("normal", "watch", "warning", "danger") else 0))
    point = _point(hotspot.geom)
    record(session, kind=f"hotspot_{crossing.to_level}" if rising else "hotspot_level", subject_type="hotspot",
           subject_id=hotspot.id, area_id=hotspot.area_id, unit_ids=[], urgent=rising and crossing.to_level == "danger",
           payload={"code": hotspot.code, "name": hotspot.name, "level": crossing.to_level,
                    "from_level": crossing.from_level, "level_cm": crossing.level_cm,
                    "lon": point[0], "lat": point[1], "at": crossing.at.isoformat()},
           notify=rising)
