"""Every kind of event, from the change (or the scheduled check) to the deliveries it makes: who is told, on
which channel. The fan-out runs in process here; test_delivery.py drives the real worker and servers."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from gisserver.accounts.users import create_user, grant
from reports.cameras.alerts import EventInput, record_event
from reports.cameras.hotspots import HotspotInput, add_hotspot, record_readings
from reports.cameras.service import CameraInput, add_camera
from reports.intake.submit import ReportInput, resident_contact, submit_report
from reports.notifications import admin, checks, fanout
from reports.notifications.config import NotificationSettings
from reports.notifications.delivery import backoff_seconds
from reports.notifications.models import Delivery, NotificationEvent
from reports.workflow import transitions
from tests.reports.conftest import WEST_INSIDE

NOW = datetime.now(UTC)


def _id(session, sql, **params):
    return session.scalar(text(sql), params)


def _told(session) -> dict[str, set[tuple[str, str]]]:
    """Fan out every event not yet fanned out; kind -> {(channel, recipient)}."""
    for event_id in session.scalars(select(NotificationEvent.id).where(NotificationEvent.fanned_out_at.is_(None))
                                    .order_by(NotificationEvent.id)):
        fanout.fan_out(session, event_id, now=NOW)
    told = defaultdict(set)
    for kind, channel, recipient in session.execute(
            select(NotificationEvent.kind, Delivery.channel, Delivery.recipient).join(Delivery)):
        told[kind].add((channel, recipient))
    return told


@pytest.fixture
def people(city):
    db = city
    for unit, address in (("T-W-CA", "ca-tay@example.vn"), ("T-E-CA", "ca-dong@example.vn"),
                          ("T-W-UB", "ub-tay@example.vn"), ("T-IOC", "ioc@example.vn")):
        admin.add_duty_contact(db, unit, "email", address)
    ward_leader = create_user(db, "lanh-dao-tay", "correct horse battery", ["leader"])
    grant(db, ward_leader, area_id=_id(db, "SELECT id FROM areas WHERE code = 'T-W'"))
    city_leader = create_user(db, "lanh-dao-tp", "correct horse battery", ["leader"])
    grant(db, city_leader, area_id=_id(db, "SELECT id FROM areas WHERE code = 'T'"))
    officer = create_user(db, "can-bo-tay", "correct horse battery", ["officer"])
    grant(db, officer, unit_id=_id(db, "SELECT id FROM units WHERE code = 'T-W-CA'"))
    db.flush()
    admin.save_profile(db, ward_leader.id, {"email": "ld-tay@example.vn", "channels": ["email"]})
    admin.save_profile(db, city_leader.id, {"email": "ld-tp@example.vn", "channels": ["email"]})
    admin.save_profile(db, officer.id, {"phone": "0905 000 111", "channels": ["sms"]})
    admin.add_webhook(db, "ioc-dashboard", "http://127.0.0.1:9/hook", allow_private=True)
    db.commit()
    return db


def test_every_kind_reaches_its_people(people):
    db = people
    contact = resident_contact("dan@example.vn", None, True, "vi")
    report, _ = submit_report(db, ReportInput(category="gay_roi", description="Đánh nhau trước chợ",
                                              lon=WEST_INSIDE[0], lat=WEST_INSIDE[1], contact=contact), actor="test")
    duplicate, _ = submit_report(db, ReportInput(category="gay_roi", description="Lại đánh nhau trước chợ",
                                                 lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                                 contact=resident_contact(None, "0905 222 333", "on", "en")),
                                 actor="test")
    transitions.transition(db, report, "acknowledge", actor="officer")
    transitions.comment(db, report, actor="officer", text="Đã cử người")
    transitions.merge(db, report, [duplicate], actor="officer")
    transitions.reassign(db, report, actor="officer", reason="wrong unit", unit_code="T-E-CA")
    db.commit()
    told = _told(db)
    webhook = ("webhook", "http://127.0.0.1:9/hook")
    assert told["report_filed"] == {("email", "ca-tay@example.vn"), ("sms", "0905 000 111"),
                                    ("email", "dan@example.vn"), ("sms", "0905 222 333"), webhook}
    assert told["report_status"] >= {("email", "dan@example.vn"), webhook}
    assert ("email", "ca-tay@example.vn") not in told["report_status"]  # units are not told their own steps
    assert told["report_comment"] == {("email", "dan@example.vn"), webhook}
    assert told["report_merged"] == {("sms", "0905 222 333"), webhook}
    assert told["report_reassigned"] == {("email", "ca-dong@example.vn"), webhook}

    # Scheduled: the deadline near, then overdue, escalated to the ward's leaders, then to the city.
    db.execute(text("UPDATE reports SET created_at = now() - interval '10 hours', due_at = now() + interval "
                    "'1 hour' WHERE id = :id"), {"id": report.id})
    db.commit()
    db.expire_all()  # this session keeps objects across commits: read the new deadline
    settings = NotificationSettings()
    checks.run_checks(db, settings, NOW)
    db.execute(text("UPDATE reports SET due_at = now() - interval '30 hours' WHERE id = :id"), {"id": report.id})
    db.commit()
    db.expire_all()
    checks.run_checks(db, settings, NOW)
    db.commit()
    told = _told(db)
    assert ("email", "ca-dong@example.vn") in told["report_deadline_near"]
    assert ("email", "ca-dong@example.vn") in told["report_overdue"]
    assert told["report_escalated"] >= {("email", "ld-tay@example.vn"), ("email", "ld-tp@example.vn"),
                                        ("email", "ioc@example.vn")}


def test_alerts_hotspots_cameras_and_the_digest(people):
    db = people
    camera = add_camera(db, CameraInput(code="CAM-T", name="Chợ Tây", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                        fov=360, ai_capabilities=("fire",), owner_unit="T-W-UB"))
    record_event(db, camera, EventInput(type="fire", confidence=0.9, at=NOW - timedelta(hours=3)), now=NOW)
    hotspot = add_hotspot(db, HotspotInput(code="NGAP-T", name="Kiệt 12", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                           watch_cm=10, warning_cm=30, danger_cm=50))
    for minutes, level in ((30, 5), (20, 35), (10, 60)):
        record_readings(db, [{"hotspot": hotspot.code, "at": (NOW - timedelta(minutes=minutes)).isoformat(),
                              "level_cm": level}], now=NOW)
    camera.last_seen_at = NOW - timedelta(hours=5)
    db.commit()
    local_hour = (NOW + timedelta(hours=2)).astimezone(checks.CITY_TIME).hour
    # Not the digests' hour in this first round (else it would send them, whenever the suite runs at that hour).
    settings = replace_hour(NotificationSettings(), (local_hour + 12) % 24)
    found = checks.run_checks(db, settings, NOW + timedelta(hours=2))
    assert found["alerts_due"] == 1 and found["cameras_silent"] == 1 and found["gauges_silent"] == 1
    assert found["digests"] == 0
    assert checks.digests(db, replace_hour(settings, local_hour), NOW + timedelta(hours=2)) == 2  # ward, city
    assert checks.digests(db, replace_hour(settings, local_hour), NOW + timedelta(hours=2)) == 0  # once a day
    db.commit()
    told = _told(db)
    ward_committee = ("email", "ub-tay@example.vn")
    assert ward_committee in told["alert_raised"]
    assert told["alert_escalated"] >= {("email", "ld-tay@example.vn")}
    assert ward_committee in told["hotspot_warning"] and ward_committee in told["hotspot_danger"]
    assert ward_committee in told["camera_offline"]
    # A silent gauge reaches people, not only other systems: the ward committee and the staff of the area.
    assert told["gauge_stale"] == {ward_committee, ("email", "ld-tay@example.vn"), ("email", "ld-tp@example.vn"),
                                   ("webhook", "http://127.0.0.1:9/hook")}
    assert told["digest"] == {("email", "ld-tay@example.vn"), ("email", "ld-tp@example.vn"),
                              ("webhook", "http://127.0.0.1:9/hook")}
    urgent = dict(db.execute(select(NotificationEvent.kind, NotificationEvent.urgent)
                             .where(NotificationEvent.kind.in_(["alert_raised", "hotspot_danger",
                                                                "hotspot_warning"]))).all())
    assert urgent == {"alert_raised": True, "hotspot_danger": True, "hotspot_warning": False}


def replace_hour(settings, hour):
    from dataclasses import replace

    return replace(settings, digest_hour=hour)


def test_a_change_that_rolls_back_leaves_no_notification(app, city):
    db = city
    jobs_before = db.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
    submit_report(db, ReportInput(category="gay_roi", description="Đánh nhau trước chợ", lon=WEST_INSIDE[0],
                                  lat=WEST_INSIDE[1]), actor="test")
    assert db.scalar(text("SELECT count(*) FROM notification_events")) == 1
    db.rollback()
    assert db.scalar(text("SELECT count(*) FROM notification_events")) == 0
    assert db.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == jobs_before


def test_a_filing_that_loses_its_idempotency_race_writes_no_notification(app, city):
    """The outbox's rows of a new report are written by the statement that stores it: when another request took
    the report's idempotency key meanwhile, that statement stores nothing, and nothing is told twice."""
    data = dict(category="gay_roi", description="Đánh nhau trước chợ", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                idempotency_key="race")
    jobs_before = city.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))
    first, created = submit_report(city, ReportInput(**data), actor="test")
    assert created
    other = app.extensions["gisserver.db"].session()
    answers = []

    def race():
        try:
            answers.append(submit_report(other, ReportInput(**data), actor="test"))
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            answers.append(exc)

    racer = threading.Thread(target=race)
    racer.start()
    # The second filing read no report for the key (the first is not committed) and now waits on the key's index.
    waited = False
    with app.extensions["gisserver.db"].engine.connect() as watcher:
        for _ in range(100):
            # One transaction per look: pg_stat_activity is read once per transaction.
            waited = bool(watcher.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).scalar())
            watcher.rollback()
            if waited:
                break
            racer.join(0.05)
    city.commit()
    racer.join(10)
    other.commit()
    other.close()
    assert answers and not isinstance(answers[0], Exception), answers
    assert waited and answers[0][1] is False and answers[0][0].id == first.id
    told = city.execute(text(
        "SELECT e.kind, j.task_name FROM notification_events e JOIN procrastinate_jobs j "
        "ON (j.args->>'event_id')::int = e.id WHERE j.id > :before"), {"before": jobs_before}).all()
    assert told == [("report_filed", "gisserver:notifications.fan_out")]
    assert city.scalar(text("SELECT count(*) FROM notification_events WHERE subject_id = :id"), {"id": first.id}) == 1


def test_backoff_grows_with_jitter_and_a_cap():
    settings = NotificationSettings(notify_backoff_seconds=5, notify_backoff_max_seconds=60)
    assert [backoff_seconds(a, settings, rand=lambda: 0.0) for a in range(6)] == [2.5, 5, 10, 20, 30, 30]
    assert [backoff_seconds(a, settings, rand=lambda: 0.999) for a in range(2)] == pytest.approx([5, 10], 0.01)



def test_the_demo_drops_only_the_jobs_of_its_own_past(city):
    """The demo's step counts what its checks find in the replayed past as told, and drops those jobs only: a job
    somebody else queued (a report filed on a running server) is still delivered."""
    from reports.notifications import demo, queue

    db = city
    db.execute(text("TRUNCATE procrastinate_jobs CASCADE"))
    report, _ = submit_report(db, ReportInput(category="gay_roi", description="Đánh nhau trước chợ",
                                              lon=WEST_INSIDE[0], lat=WEST_INSIDE[1]), actor="test")
    db.commit()
    filed_job = db.scalar(text("SELECT id FROM procrastinate_jobs WHERE status = 'todo'"))
    db.execute(text("UPDATE reports SET created_at = now() - interval '3 days', due_at = now() - interval '2 days' "
                    "WHERE id = :id"), {"id": report.id})
    db.commit()
    db.expire_all()
    with db.bind.connect() as other:  # the server's session, in its own transaction
        other_session = type(db)(bind=other)
        queue.defer(other_session, queue.FAN_OUT, "notify", event_id=0)
        other_session.commit()
    message = demo.contacts_step(db, None)
    db.commit()
    assert "3 messages of the demo's past not sent" in message  # overdue, escalated to the ward and to the city
    left = db.scalars(text("SELECT id FROM procrastinate_jobs WHERE status = 'todo' ORDER BY id")).all()
    assert len(left) == 2 and left[0] == filed_job
    assert db.scalar(text("SELECT count(*) FROM notification_events WHERE kind LIKE 'report_%' AND kind <> "
                          "'report_filed'")) == 3
