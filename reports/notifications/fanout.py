"""From an outbox event to deliveries: who is told (recipients.py), in which language, and when; one delivery
row per (event, channel, recipient), all in one transaction. A delivery held for later (duty or quiet hours) gets
a deliver job of its own; one due now is sent by the job that fanned it out (delivery.send_event), unless the
caller asks for a job each. A fan-out that runs twice (a retried job) finds its rows already there and adds
nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from urllib.parse import urlsplit

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from gisserver.core.pg_insert import insert
from reports.areas import sql as areas_sql
from reports.areas.models import Area, Unit
from reports.areas.service import ancestors, place_name_by_id, place_name_of_chain
from reports.cameras.models import AlertType, Camera
from reports.notifications import queue, recipients
from reports.notifications.models import Delivery, NotificationEvent
from reports.notifications.recipients import Target

RESIDENT_KINDS = {"report_filed", "report_status", "report_merged", "report_comment"}
# A flood hotspot rising, or its gauge gone silent: the ward committee and the staff of the area watch it.
HOTSPOT_KINDS = {"hotspot_warning", "hotspot_danger", "gauge_stale"}
UNIT_KINDS = {"report_filed", "report_reassigned", "report_deadline_near", "report_overdue", "alert_raised",
              "camera_offline"}


def mask(channel: str, recipient: str) -> str:
    """How a recipient appears in a history: enough to recognise, not enough to reuse."""
    if channel == "email" and "@" in recipient:
        local, _, domain = recipient.partition("@")
        return f"{local[:1]}***@{domain}"
    if channel == "sms":
        return f"***{recipient[-3:]}"
    if channel in ("webhook", "push"):
        return f"{urlsplit(recipient).hostname or '?'}/…"
    return f"{recipient[:2]}***"


def targets_for(session: Session, event, now: datetime) -> list[Target]:
    """Who is told of *event* (a row of load_event, which read the audience of its own units with it)."""
    kind, payload, urgent = event.kind, event.payload, event.urgent
    if payload.get("direct"):  # one person's own message (outbox.record_direct): nobody else
        return recipients.direct(session, payload["direct"])
    found: list[Target] = []
    if kind in UNIT_KINDS:
        found += recipients.unit_contacts(session, list(event.unit_ids), now, urgent,
                                          rows=recipients.contact_rows(event.unit_contacts))
        found += recipients.unit_users(session, list(event.unit_ids), now, urgent,
                                       user_ids=event.unit_user_ids or [])
    if kind in ("report_escalated", "alert_escalated"):
        if payload.get("level") == "city":
            city_units = list(session.scalars(select(Unit.id).where(Unit.unit_type == "city_operations",
                                                                    Unit.active)))
            found += recipients.unit_contacts(session, city_units, now, True)
            found += recipients.area_leaders(session, payload.get("area_ids", []), now, True)
        else:
            found += recipients.area_leaders(session, payload.get("area_ids", []), now, True)
    if kind in HOTSPOT_KINDS:
        area = session.get(Area, event.area_id) if event.area_id else None
        ward_ids = [a.id for a in ancestors(session, area) if a.level == "ward"] if area else []
        units = list(session.scalars(select(Unit.id).where(Unit.area_id.in_(ward_ids),
                                                           Unit.unit_type == "ward_committee", Unit.active)))
        found += recipients.unit_contacts(session, units, now, urgent)
        found += recipients.area_staff(session, event.area_id, now, urgent)
    if kind == "digest":
        found += recipients.area_leaders(session, [event.area_id], now, False, digest=True)
    if event.subject_type == "report" and kind in RESIDENT_KINDS:
        found += recipients.resident_targets(event.resident)
    found += recipients.subscriber_targets(event.subscribers or [], kind)
    return found


def _first_unique(targets: list[Target]) -> list[Target]:
    seen, out = set(), []
    for target in targets:
        if (target.channel, target.recipient) not in seen:
            seen.add((target.channel, target.recipient))
            out.append(target)
    return out


# One statement for all of an event's deliveries (SQLAlchemy sends the rows as one multi-row INSERT), compiled once.
_INSERT_DELIVERIES = insert(Delivery.__table__).on_conflict_do_nothing() \
    .returning(Delivery.__table__.c.id, Delivery.__table__.c.event_id, Delivery.__table__.c.channel,
               Delivery.__table__.c.recipient)
_events = NotificationEvent.__table__
# The event as a plain row, and with it, in the same statement, what fanning it out and writing its messages read
# for nearly every event: the duty contacts of its units and the users granted them, the resident who asked to hear
# back, the webhook subscribers, and its report's names with the chain of names of its area (the place, when the
# report has no address of its own). The worker reads an event a hundred times a second on a flood day: one round
# trip instead of six. The parts are JSON, read back by recipients.py and facts_for.
_EVENT = text(f"""
SELECT e.*,
       (SELECT json_agg(c ORDER BY c.unit_id, c.id) FROM unit_duty_contacts c
        WHERE c.unit_id = ANY(e.unit_ids) AND c.active) AS unit_contacts,
       (SELECT array_agg(DISTINCT g.user_id) FROM user_grants g WHERE g.unit_id = ANY(e.unit_ids)) AS unit_user_ids,
       (SELECT row_to_json(rc) FROM resident_contacts rc
        WHERE e.subject_type = 'report' AND rc.report_id = e.subject_id AND rc.unsubscribed_at IS NULL) AS resident,
       (SELECT json_agg(s ORDER BY s.id) FROM webhook_subscribers s WHERE s.active) AS subscribers,
       (SELECT row_to_json(f) FROM (
            SELECT r.tracking_code, r.due_at, r.status, r.address, c.name_vi, c.name_en, u.name AS unit,
                   (SELECT json_agg(json_build_array(chain.name, chain.level) ORDER BY chain.depth)
                    FROM (SELECT e.area_id AS id) AS subject_area, LATERAL ({areas_sql.CHAIN_OF_SUBJECT_AREA}) AS chain
                    WHERE r.address IS NULL) AS place_chain
            FROM reports r JOIN categories c ON c.id = r.category_id LEFT JOIN units u ON u.id = r.unit_id
            WHERE e.subject_type = 'report' AND r.id = e.subject_id) AS f) AS report_facts
FROM notification_events e WHERE e.id = ANY(:event_ids) ORDER BY e.id
""")  # noqa: S608 - constant SQL of this module and of reports.areas.sql, no input
_MARK = _events.update().where(_events.c.id == bindparam("event_id")).values(fanned_out_at=bindparam("now"))


def load_event(session: Session, event_id: int):
    """The outbox row *event_id* (its columns as attributes, and the parts _EVENT reads with it), None when it is
    gone."""
    return session.execute(_EVENT, {"event_ids": [event_id]}).first()


def load_events(session: Session, event_ids: list[int]) -> list:
    """load_event for several events in one statement, in id order (those gone are left out)."""
    return session.execute(_EVENT, {"event_ids": list(event_ids)}).all()


def fan_out(session: Session, event_id: int, now: datetime | None = None) -> list[int]:
    """Write the deliveries of one event, each queued as a deliver job, and mark it fanned out; returns the new
    delivery ids (none on a re-run). The worker does this and sends at once instead (delivery.send_event)."""
    now = now or datetime.now(UTC)
    event = load_event(session, event_id)
    if event is None:
        return []
    created = write_deliveries(session, [event], now)
    session.execute(_MARK, {"event_id": event_id, "now": now})
    return created


def write_deliveries(session: Session, events: list, now: datetime, *, send_here: bool = False,
                     webhook_keys: dict | None = None) -> list[int]:
    """The deliveries of *events* (rows of load_events), in one INSERT, without marking them: delivery.send_event
    marks them in the statement that claims them. With *send_here* those due now are left to the caller
    (delivery.send_event); *webhook_keys* collects the secret and private-address permission of each webhook target
    ((event id, url) -> pair), read with it, so that sending it does not read them again."""
    targets = [(event, target) for event in events for target in _first_unique(targets_for(session, event, now))]
    created: list[int] = []
    if not targets:
        return created
    rows = session.execute(_INSERT_DELIVERIES, [dict(
        event_id=event.id, channel=target.channel, recipient=target.recipient,
        recipient_masked=mask(target.channel, target.recipient), recipient_kind=target.kind,
        language=target.language, status="pending", attempts=0, acked_parts=0, created_at=now,
        not_before=target.not_before) for event, target in targets]).all()
    new = {(row.event_id, row.channel, row.recipient): row.id for row in rows}
    for event, target in targets:
        row = new.get((event.id, target.channel, target.recipient))
        if row is None:
            continue
        created.append(row)
        if webhook_keys is not None and target.channel == "webhook" and target.secret is not None:
            webhook_keys.setdefault((event.id, target.recipient), (target.secret, target.allow_private))
        if target.not_before is not None or not send_here:
            queue.defer(session, queue.DELIVER, "deliver", delivery_id=row, scheduled_at=target.not_before,
                        priority=queue.URGENT_PRIORITY if event.urgent else 0)
    return created


def _report_facts(found: dict | None) -> SimpleNamespace | None:
    """The report's part of load_event's row (JSON), its deadline a datetime again."""
    if found is None:
        return None
    return SimpleNamespace(**{**found, "due_at": datetime.fromisoformat(found["due_at"])})


def facts_for(session: Session, event, language: str) -> dict:
    """The names a message needs, in *language*: category, place, unit, camera, alert type..."""
    payload = dict(event.payload)
    facts = {k: v for k, v in payload.items() if isinstance(v, str | int | float)}
    english = language == "en"
    report = _report_facts(event.report_facts) if event.subject_type == "report" else None
    if report is not None and not report.address and event.area_id:
        facts["place"] = place_name_of_chain([tuple(link) for link in report.place_chain or []]) or "-"
    elif event.area_id and report is None:
        facts["place"] = place_name_by_id(session, event.area_id) or "-"
    if report is not None:
        facts.update(code=report.tracking_code, category=report.name_en if english else report.name_vi,
                     due=report.due_at.astimezone(recipients.CITY_TIME).strftime("%H:%M %d/%m/%Y"),
                     status=report.status if event.kind != "report_status" else payload.get("status"),
                     unit=report.unit or "-")
        if report.address:
            facts["place"] = report.address
    if event.subject_type == "alert" or payload.get("type"):
        kind = session.get(AlertType, payload.get("type")) if payload.get("type") else None
        facts["alert_type"] = (kind.name_en if english else kind.name_vi) if kind else payload.get("type", "-")
        camera = session.get(Camera, payload.get("camera_id")) if payload.get("camera_id") else None
        facts["camera"] = camera.code if camera else "-"
        if payload.get("confidence") is not None:
            facts["confidence"] = f"{float(payload['confidence']):.0%}"
        if payload.get("due_at"):
            facts["due"] = datetime.fromisoformat(payload["due_at"]).astimezone(recipients.CITY_TIME) \
                .strftime("%H:%M %d/%m/%Y")
    if event.subject_type == "hotspot":
        facts["place"] = payload.get("name", "-")
    if payload.get("level") in ("ward", "city"):
        facts["level"] = {"ward": "lãnh đạo phường", "city": "thành phố"}[payload["level"]] if not english else \
            {"ward": "the ward's leaders", "city": "the city"}[payload["level"]]
    return facts
