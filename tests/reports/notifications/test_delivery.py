"""Notifications end to end against real servers: the outbox written with each change, the real procrastinate
worker delivering by email (aiosmtpd) and signed webhooks and SMS (an HTTP receiver that fails on command),
retries, dead letters and their retry, consent and unsubscribe, SSRF and template refusals, scheduled checks
that tell each event once."""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from requests.exceptions import InvalidURL, SSLError
from sqlalchemy import select, text

from gisserver.accounts.users import create_user, grant
from gisserver.core.exceptions import Invalid
from reports.areas.service import place_name_by_id
from reports.notifications import admin, checks, delivery, outbox, queue, tokens, worker
from reports.notifications.channels import DeliveryError, Message, gateway, netguard, segments, webhook
from reports.notifications.channels.templating import TemplateRefused, render
from reports.notifications.config import NotificationSettings
from reports.notifications.models import Delivery, NotificationEvent, ResidentContact
from reports.workflow.models import Report
from tests.reports.conftest import WEST_INSIDE
from tests.reports.notifications.servers import Receiver, SmtpServer, certificate

PROCRASTINATE = "procrastinate_jobs, procrastinate_periodic_defers, procrastinate_events"


@pytest.fixture
def queue_empty(city):
    city.execute(text(f"TRUNCATE {PROCRASTINATE}, notification_channel_budgets CASCADE"))
    city.commit()
    return city


@pytest.fixture
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def settings_for(smtp=None, receiver=None, **extra) -> NotificationSettings:
    return replace(NotificationSettings(), smtp_host="127.0.0.1" if smtp else "", smtp_port=smtp.port if smtp else 0,
                   smtp_security="none", public_url="http://city.example", notify_backoff_seconds=0.01,
                   notify_backoff_max_seconds=0.05, notify_max_attempts=3, gateway_timeout=1.0, webhook_timeout=1.0,
                   sms_url=f"{receiver.url}/sms" if receiver else "", **extra)


def drain(app, settings: NotificationSettings, concurrency: int = 4, queues=("notify", "deliver")) -> None:
    """The real worker, until the queues are empty."""
    key = tokens.signing_key(app.config["SETTINGS"])
    worker.run(app.extensions["gisserver.db"].own_session_url("the worker"), settings, key,
               worker.WorkerOptions(concurrency=concurrency, wait=False, queues=queues), app=app)


def fan_out_one_job_at_a_time(app, settings: NotificationSettings) -> None:
    """The real worker on the fan-out queue alone, one job at a time (so the order jobs are served in shows)."""
    drain(app, settings, concurrency=1, queues=("notify",))


def police_alert(db, payload: dict, urgent: bool = False) -> int:
    """An alert's outbox event for the west ward's police (the duty mailbox of these tests); its id."""
    unit_id = db.scalar(text("SELECT id FROM units WHERE code = 'T-W-CA'"))
    return outbox.record(db, kind="alert_raised", subject_type="alert", subject_id=1, area_id=None,
                         unit_ids=[unit_id], payload=payload, urgent=urgent)


def file_report(client, **notify):
    body = {"category": "gay_roi", "description": "Đánh nhau ở chợ Tây", "location":
            {"lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1]}}
    if notify:
        body["notify"] = notify
    return client.post("/api/reports", json=body)


def test_a_report_reaches_its_unit_and_the_resident_hears_back(app, client, queue_empty, smtp, auth_headers):
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    db.commit()
    resp = file_report(client, email="hoa@example.vn", consent=True, language="en")
    assert resp.status_code == 201, resp.get_json()
    code = resp.get_json()["tracking_code"]
    settings = settings_for(smtp)
    drain(app, settings)
    mails = {m["To"]: m for m in smtp.mailbox.wait_for(2)}
    assert set(mails) == {"truc-ban@ca.example.vn", "hoa@example.vn"}
    unit_mail, resident_mail = mails["truc-ban@ca.example.vn"], mails["hoa@example.vn"]
    assert unit_mail["Subject"].startswith(f"Phản ánh mới {code}")  # the unit's language: Vietnamese
    assert resident_mail["Subject"] == f"Report {code} received"
    assert resident_mail.get_content_type() == "multipart/alternative"
    plain = resident_mail.get_body(("plain",)).get_content()
    html = resident_mail.get_body(("html",)).get_content()
    assert f"http://city.example/status/{code}" in plain and f"http://city.example/status/{code}" in html
    one_click = resident_mail["List-Unsubscribe"].strip().strip("<>")
    token = one_click.rsplit("/", 1)[1]
    assert one_click == f"http://city.example/api/unsubscribe/{token}"
    assert f"http://city.example/n/unsubscribe/{token}" in plain
    assert "/reports/" in unit_mail.get_body(("plain",)).get_content()
    filed = db.execute(select(Report.address, Report.area_current_id).where(Report.tracking_code == code)).one()
    place = filed.address or place_name_by_id(db, filed.area_current_id)  # the ward, named as residents name it
    assert place and f" tại {place} " in unit_mail.get_body(("plain",)).get_content()
    assert "List-Unsubscribe" not in unit_mail
    assert "channel api" not in plain  # the intake's internal note is nobody's business
    delivery_ids = {m["To"]: m["Message-ID"] for m in smtp.mailbox.messages}
    assert all(re.fullmatch(r"<dlv-\d+\.[0-9a-f]{10}@localhost>", v) for v in delivery_ids.values())

    # A status change: the resident hears it, the unit (who made it) is not mailed again.
    report_id = db.scalar(select(Report.id).where(Report.tracking_code == code))
    resp = client.post(f"/api/reports/{report_id}/transition", json={"action": "resolve", "note": "Đã xử lý"},
                       headers=auth_headers("officer", unit_ids=[db.scalar(text(
                           "SELECT id FROM units WHERE code = 'T-W-CA'"))]))
    assert resp.status_code == 200, resp.get_json()
    drain(app, settings)
    mails = smtp.mailbox.wait_for(3)
    assert mails[-1]["To"] == "hoa@example.vn" and mails[-1]["Subject"] == f"Report {code}: resolved"
    assert "Đã xử lý" in mails[-1].get_body(("plain",)).get_content()
    officer = auth_headers("officer", unit_ids=[db.scalar(text("SELECT id FROM units WHERE code = 'T-W-CA'"))])
    for bad in ({"text": ""}, {"text": "x" * 2001}, {"text": 5}):
        assert client.post(f"/api/reports/{report_id}/comments", json=bad, headers=officer).status_code == 400
    resp = client.post(f"/api/reports/{report_id}/comments", json={"text": "Cảm ơn, đã dọn xong."}, headers=officer)
    assert resp.status_code == 200
    drain(app, settings)
    mails = smtp.mailbox.wait_for(4)
    assert mails[-1]["Subject"] == f"An answer about report {code}"
    assert "Cảm ơn, đã dọn xong." in mails[-1].get_body(("plain",)).get_content()
    history = admin.history(db, "report", report_id)
    assert [(h["channel"], h["outcome"]) for h in history] == [("email", "sent")] * 4
    assert all("@" in h["recipient"] and "***" in h["recipient"] for h in history)  # masked


def test_consent_and_contact_details_are_checked_before_anything_is_stored(client, queue_empty):
    db = queue_empty
    for notify, field in ((dict(email="hoa@example.vn\r\nBcc: all@example.vn", consent=True), "notify_email"),
                          (dict(email="not-an-address", consent=True), "notify_email"),
                          (dict(phone="0905<script>", consent=True), "notify_phone"),
                          (dict(email="hoa@example.vn"), "notify_consent")):
        resp = file_report(client, **notify)
        assert resp.status_code == 400, notify
        assert resp.get_json()["error"]["details"]["field"] == field
    assert db.scalar(select(Report.id)) is None and db.scalar(select(NotificationEvent.id)) is None
    # Open311: an email without the explicit consent is not used; with it, the resident is told.
    resp = client.post("/open311/v2/requests.json", data={
        "service_code": "gay_roi", "lat": str(WEST_INSIDE[1]), "long": str(WEST_INSIDE[0]),
        "description": "Ồn ào ban đêm", "email": "an@example.vn"})
    assert resp.status_code == 201
    assert db.scalar(select(ResidentContact.id)) is None
    resp = client.post("/open311/v2/requests.json", data={
        "service_code": "gay_roi", "lat": str(WEST_INSIDE[1]), "long": str(WEST_INSIDE[0]),
        "description": "Ồn ào ban đêm", "email": "an@example.vn", "notify_consent": "true"})
    assert resp.status_code == 201
    contact = db.scalar(select(ResidentContact))
    assert contact.email == "an@example.vn" and "đồng ý" in contact.consent
    # Shown to nobody: not even the audit log keeps it.
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE table_name = 'resident_contacts'")) == 1
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE changes::text LIKE '%an@example.vn%'")) == 0


def test_unsubscribe_needs_the_contact_own_token(app, client, queue_empty, smtp):
    db = queue_empty
    codes = [file_report(client, email=f"r{i}@example.vn", consent=True).get_json()["tracking_code"]
             for i in range(2)]
    first, second = (db.scalar(select(ResidentContact).join(Report).where(Report.tracking_code == c)) for c in codes)
    key = tokens.signing_key(app.config["SETTINGS"])
    forged = f"{second.id}.{tokens.unsubscribe_token(key, first.id).split('.')[1]}"
    for url in (f"/api/unsubscribe/{forged}", "/api/unsubscribe/abc", f"/n/unsubscribe/{forged}"):
        assert client.post(url).status_code in (400, 404)
    db.expire_all()
    assert db.get(ResidentContact, second.id).unsubscribed_at is None
    assert client.post(f"/api/unsubscribe/{tokens.unsubscribe_token(key, first.id)}").status_code == 200
    page = client.get(f"/n/unsubscribe/{tokens.unsubscribe_token(key, second.id)}")
    assert page.status_code == 200
    db.expire_all()
    assert db.get(ResidentContact, first.id).unsubscribed_at is not None
    drain(app, settings_for(smtp))
    # Both had unsubscribed (one) or not (the other) before the worker ran: only the second is mailed.
    assert [m["To"] for m in smtp.mailbox.wait_for(1, timeout=2)] == ["r1@example.vn"]


def test_webhooks_are_signed_retried_dead_lettered_and_retried_by_an_admin(app, queue_empty, receiver, cli):
    db = queue_empty
    subscriber, secret = admin.add_webhook(db, "ioc", f"{receiver.url}/hook", allow_private=True,
                                           kinds=["report_filed"])
    db.commit()
    receiver.mode = "fail"
    client = app.test_client()
    assert file_report(client).status_code == 201
    settings = settings_for(receiver=receiver)
    drain(app, settings)
    assert len(receiver.requests) == 3  # notify_max_attempts
    delivery = db.scalar(select(Delivery).where(Delivery.channel == "webhook"))
    db.refresh(delivery)
    assert delivery.status == "dead" and delivery.attempts == 3
    listed = cli("notifications", "failed")
    assert listed.exit_code == 0 and f"{delivery.id}\treport_filed" in listed.output
    receiver.mode = "ok"
    assert "1 deliveries queued again" in cli("notifications", "retry", "--all").output
    drain(app, settings)
    db.refresh(delivery)
    assert delivery.status == "sent"
    keys = {r["headers"]["X-Gisserver-Delivery"] for r in receiver.requests}
    assert keys == {f"dlv-{delivery.id}"}  # the same key on every try: a receiver can drop repeats
    last = receiver.requests[-1]
    assert webhook.verify(secret, last["headers"]["X-Gisserver-Signature"], last["body"])
    assert not webhook.verify("another-secret-of-16", last["headers"]["X-Gisserver-Signature"], last["body"])
    assert not webhook.verify(secret, last["headers"]["X-Gisserver-Signature"], last["body"] + b" ")
    drain(app, settings)
    assert len(receiver.requests) == 4  # sent once: nothing more to do


def test_the_job_that_fans_an_event_out_sends_it_and_a_rerun_sends_nothing_twice(app, client, queue_empty, smtp,
                                                                                 receiver):
    """send_event: what is due now goes out in the fan-out's own job; a contact off duty waits for its own job; a
    failed try gets a retry job that counts the try already made; the job run again (a worker that died and was
    replaced) sends only what was claimed and never recorded, with the same message key."""
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    officer = create_user(db, "can-bo-ngu", "correct horse battery", ["officer"])
    grant(db, officer, unit_id=db.scalar(text("SELECT id FROM units WHERE code = 'T-W-CA'")))
    db.flush()
    now_local = datetime.now(UTC) + timedelta(hours=7)  # the city's time: quiet hours from an hour ago, for three
    quiet = f"{(now_local - timedelta(hours=1)):%H}:00-{(now_local + timedelta(hours=2)):%H}:00"
    admin.save_profile(db, officer.id, {"email": "ca-dem@ca.example.vn", "channels": ["email"], "quiet_hours": quiet})
    admin.add_webhook(db, "ioc", f"{receiver.url}/hook", allow_private=True, kinds=["report_filed"])
    db.commit()
    receiver.mode = "fail"
    assert file_report(client).status_code == 201
    event_id = db.scalar(text("SELECT max(id) FROM notification_events WHERE kind = 'report_filed'"))
    settings = settings_for(smtp, receiver)
    rt_key = tokens.signing_key(app.config["SETTINGS"])
    database = app.extensions["gisserver.db"]

    ended = delivery.send_event(database, event_id, settings, rt_key, app)
    assert ended == {"sent": 1, "error": 1}
    assert [m["To"] for m in smtp.mailbox.wait_for(1)] == ["truc-ban@ca.example.vn"]
    rows = {r.recipient: r for r in db.execute(text(
        "SELECT recipient, status, attempts, not_before, last_error FROM notification_deliveries "
        "WHERE event_id = :e"), {"e": event_id})}
    assert rows["truc-ban@ca.example.vn"].status == "sent"
    assert rows["ca-dem@ca.example.vn"].status == "pending" and rows["ca-dem@ca.example.vn"].attempts == 0
    assert rows["ca-dem@ca.example.vn"].not_before > datetime.now(UTC)
    hook = rows[f"{receiver.url}/hook"]
    assert hook.status == "pending" and hook.attempts == 1 and hook.last_error
    jobs = db.execute(text("SELECT args, scheduled_at FROM procrastinate_jobs WHERE task_name = :t ORDER BY id"),
                      {"t": "gisserver:notifications.deliver"}).all()
    held, retry = sorted(jobs, key=lambda j: j.scheduled_at)[::-1]
    assert held.scheduled_at > datetime.now(UTC) + timedelta(minutes=30)  # when the officer's quiet hours end
    assert retry.args["tried"] == 1  # the retry job continues the count of tries

    # Run again: the sent one, the held one and the failed one (its retry job's) are all left alone.
    assert delivery.send_event(database, event_id, settings, rt_key, app) == {}
    # A worker killed after claiming and before recording leaves a delivery pending with an attempt "started":
    # the job run again sends it, with the same key.
    sent_id = db.scalar(text("SELECT id FROM notification_deliveries WHERE recipient = 'truc-ban@ca.example.vn'"))
    db.execute(text("UPDATE notification_deliveries SET status = 'pending', sent_at = NULL WHERE id = :i"),
               {"i": sent_id})
    db.commit()
    assert delivery.send_event(database, event_id, settings, rt_key, app) == {"sent": 1}
    mails = smtp.mailbox.wait_for(2)
    assert [m["To"] for m in mails] == ["truc-ban@ca.example.vn"] * 2
    assert mails[0]["Message-ID"] == mails[1]["Message-ID"]
    assert len(receiver.requests) == 1


def test_a_fan_out_job_takes_ready_ones_along_and_they_end_with_it(app, client, queue_empty, smtp):
    """On a burst one fan-out job serves the events of other ready fan-out jobs too (at most notify_fanout_batch
    events): each event is mailed once, every job ends succeeded, and the events served together were marked fanned
    out together. With a batch of one, each job serves its own event only."""
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    db.commit()
    for batch, served_together in ((3, [3, 2]), (1, [1] * 5)):
        before = len(smtp.mailbox.messages)
        for _ in range(5):
            assert file_report(client).status_code == 201
        fan_out_one_job_at_a_time(app, settings_for(smtp, notify_fanout_batch=batch))
        mails = smtp.mailbox.wait_for(before + 5)[before:]
        assert len({m["Message-ID"] for m in mails}) == 5
        groups = db.scalars(text("SELECT count(*) FROM notification_events WHERE id > :mark "
                                 "GROUP BY fanned_out_at ORDER BY min(id)"),
                            {"mark": db.scalar(text("SELECT coalesce(max(id), 0) FROM notification_events")) - 5}).all()
        assert groups == served_together
        jobs = db.execute(text("SELECT status, count(*) FROM procrastinate_jobs WHERE task_name = :t GROUP BY 1"),
                          {"t": "gisserver:notifications.fan_out"}).all()
        assert dict(jobs) == {"succeeded": 5 if batch == 3 else 10}
        db.rollback()
    assert db.scalar(text("SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'")) == 0


def test_a_destination_that_does_not_answer_holds_a_batch_once(app, client, queue_empty, smtp, receiver):
    """A webhook subscriber that times out is tried once per batch: the batch's other messages for it wait for
    their backoff like the one tried (each a retry job), and the mails of the same events still go at once."""
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    admin.add_webhook(db, "ioc", f"{receiver.url}/hook", allow_private=True, kinds=["report_filed"])
    db.commit()
    receiver.mode = "slow"  # answers after 3 s; the worker waits 1 s (webhook_timeout)
    for _ in range(3):
        assert file_report(client).status_code == 201
    fan_out_one_job_at_a_time(app, settings_for(smtp, receiver))
    assert len(smtp.mailbox.wait_for(3)) == 3
    assert len(receiver.requests) == 1
    tries = db.execute(text("SELECT d.status, a.outcome, a.detail FROM notification_attempts a "
                            "JOIN notification_deliveries d ON d.id = a.delivery_id WHERE d.channel = 'webhook' "
                            "ORDER BY a.id")).all()
    assert [(t.status, t.outcome) for t in tries] == [("pending", "error")] * 3
    assert tries[0].detail == "webhook: ReadTimeout"
    assert [t.detail for t in tries[1:]] == ["not tried: webhook: ReadTimeout"] * 2
    retries = db.scalars(text("SELECT args->>'tried' FROM procrastinate_jobs WHERE task_name = :t"),
                         {"t": "gisserver:notifications.deliver"}).all()
    assert retries == ["1"] * 3
    db.rollback()


def test_an_event_that_cannot_be_served_fails_alone_not_the_batch_that_took_it(app, client, queue_empty, smtp):
    """An event whose message cannot be written (here a payload with a broken date) makes the batch that took it
    fail before anything is written: that job then serves its own event alone, and the broken one fails in its own
    job, whose retries are never taken along. Every other event is mailed once."""
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    db.commit()
    for _ in range(2):
        assert file_report(client).status_code == 201
    broken = police_alert(db, {"type": "fire", "due_at": "not a date"})
    db.commit()
    assert file_report(client).status_code == 201
    # the broken event's job fails at its first try
    fan_out_one_job_at_a_time(app, replace(settings_for(smtp), notify_max_attempts=1))
    mails = smtp.mailbox.wait_for(3)
    assert len({m["Message-ID"] for m in mails}) == 3
    jobs = db.execute(text("SELECT (args->>'event_id')::int AS event_id, status, attempts FROM procrastinate_jobs "
                           "WHERE task_name = :t"), {"t": "gisserver:notifications.fan_out"}).all()
    # the others were served at their first try, none of them retried for the broken one
    assert {(j.status, j.attempts) for j in jobs if j.event_id != broken} == {("succeeded", 1)}
    assert [j.status for j in jobs if j.event_id == broken] == ["failed"]
    assert db.scalar(text("SELECT count(*) FROM notification_deliveries WHERE event_id <> :e AND status <> 'sent'"),
                     {"e": broken}) == 0
    time.sleep(0.2)
    assert len(smtp.mailbox.messages) == 3
    db.rollback()


def test_an_urgent_event_jumps_the_queue_of_a_flood_day(app, client, queue_empty, smtp):
    """A fire alert recorded behind a queue of report events is fanned out and mailed before them: its job carries
    the urgent priority, which procrastinate's fetch and take_ready both serve first."""
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    db.commit()
    for _ in range(3):
        assert file_report(client).status_code == 201
    fire = police_alert(db, {"type": "fire"}, urgent=True)
    db.commit()
    priorities = dict(db.execute(text("SELECT (args->>'event_id')::int, priority FROM procrastinate_jobs")).all())
    assert priorities[fire] == queue.URGENT_PRIORITY and sorted(priorities.values())[:3] == [0, 0, 0]
    fan_out_one_job_at_a_time(app, settings_for(smtp, notify_fanout_batch=1))
    assert len(smtp.mailbox.wait_for(4)) == 4
    served = db.scalars(text("SELECT id FROM notification_events ORDER BY fanned_out_at, id")).all()
    assert served[0] == fire and sorted(served[1:]) == served[1:]
    db.rollback()


def test_jobs_taken_along_can_be_handed_back_and_are_not_taken_twice(app, client, queue_empty):
    """queue.take_ready takes first tries only, ready now, under a live worker; release_taken hands them back to
    run on their own (a try counted), finish_taken ends them; another worker's jobs are left alone."""
    db = queue_empty
    for _ in range(3):
        assert file_report(client).status_code == 201
    database = app.extensions["gisserver.db"]
    with database.transaction() as session:
        mine, other = (session.execute(text("SELECT procrastinate_register_worker_v1()")).scalar() for _ in range(2))
    with database.transaction() as session:
        taken = queue.take_ready(session, queue.FAN_OUT, mine, 2)
        assert len(taken.jobs) == 2 and all("event_id" in kwargs for _, kwargs in taken.jobs)
    with database.transaction() as session:
        assert len(queue.take_ready(session, queue.FAN_OUT, other, 5).jobs) == 1  # the third, and only it
    with database.transaction() as session:
        queue.finish_taken(session, queue.Taken(mine, taken.jobs[:1]))
        queue.release_taken(session, queue.Taken(mine, taken.jobs[1:]))
        queue.release_taken(session, queue.Taken(mine, ()))
    rows = {r.id: r for r in db.execute(text("SELECT id, status, attempts, worker_id FROM procrastinate_jobs"))}
    assert rows[taken.ids[0]].status == "succeeded"
    assert rows[taken.ids[1]].status == "todo" and rows[taken.ids[1]].attempts == 1
    assert sorted(r.status for r in rows.values()) == ["doing", "succeeded", "todo"]  # the other worker's: doing
    with database.transaction() as session:  # a job handed back runs on its own: not taken along again
        assert queue.take_ready(session, queue.FAN_OUT, other, 5).jobs == ()
    db.rollback()


def test_sms_through_the_gateway_in_segments_after_a_timeout(app, client, queue_empty, receiver):
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "sms", "0905 111 222")
    db.commit()
    receiver.mode = "slow_once"  # the gateway does not answer in time once, then recovers
    assert file_report(client).status_code == 201
    settings = replace(settings_for(receiver=receiver), webhook_allow_private=True)
    drain(app, settings)
    delivery = db.scalar(select(Delivery).where(Delivery.channel == "sms"))
    assert delivery.status == "sent" and delivery.attempts == 2 and delivery.acked_parts >= 2
    ids = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    # The unanswered first segment is sent again with the same key; each acknowledged one exactly once.
    assert ids[0] == ids[1] == f"dlv-{delivery.id}-1" and len(set(ids[1:])) == len(ids) - 1
    bodies = [r["body"].decode() for r in receiver.requests]
    assert all('"to": "0905 111 222"' in b for b in bodies)


def test_sms_segments_never_cut_a_vietnamese_character():
    text_vi = ("Phản ánh ABC123 (Mất trật tự công cộng) tại tổ dân phố 11, phường Phú Xuân đã được giao cho "
               "Công an phường. ") * 2
    decomposed = unicodedata.normalize("NFD", text_vi)
    for source in (text_vi, decomposed):
        parts = segments.split(source)
        assert len(parts) > 1 and "".join(parts) == unicodedata.normalize("NFC", source)
        assert all(len(p.encode("utf-16-le")) // 2 <= 67 for p in parts)
        assert not any(unicodedata.combining(p[0]) for p in parts)
    ascii_text = "Report ABC123 was resolved. " * 10
    parts = segments.split(ascii_text)
    assert all(len(p) <= 153 for p in parts) and "".join(parts) == ascii_text
    assert segments.split("ok") == ["ok"] and segments.split("x" * 160) == ["x" * 160]
    assert segments.split("ư" * 70) == ["ư" * 70] and len(segments.split("ư" * 71)) == 2


def test_webhook_addresses_that_reach_inside_are_refused(queue_empty):
    db = queue_empty
    for url in ("http://127.0.0.1:8080/x", "http://169.254.169.254/latest/meta-data", "http://10.0.0.5/",
                "http://[::1]/", "file:///etc/passwd", "gopher://example.vn/", "http://localhost/",
                "http://user:pw@example.vn/", "http://example.vn/\r\nX: y"):
        with pytest.raises(Invalid):
            admin.add_webhook(db, "bad", url)
    for address, channel in (("a@b", "email"), ("x@example.vn\nBcc: y@z.vn", "email"), ("12", "sms")):
        with pytest.raises(Invalid):
            admin.add_duty_contact(db, "T-W-CA", channel, address)


def test_gateway_templates_cannot_read_outside_their_context():
    for bad in ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "{{ config }}", "{{ to.__init__.__globals__ }}",
                "{% for x in range(10**9) %}{% endfor %}{{ undefined_name }}"):
        with pytest.raises(TemplateRefused):
            render(bad, {"to": "0905", "text": "x"})
    with pytest.raises(TemplateRefused):
        worker.check_settings(replace(NotificationSettings(), sms_url="http://gw.example/{{ self.__init__ }}"))
    assert render('{"to": {{ to|tojson }}}', {"to": 'a"b'}) == '{"to": "a\\"b"}'


def test_scheduled_checks_tell_each_event_once_with_several_workers(app, client, queue_empty):
    db = queue_empty
    assert file_report(client).status_code == 201
    db.execute(text("UPDATE reports SET due_at = now() - interval '30 hours', "
                    "created_at = now() - interval '40 hours'"))
    db.commit()
    settings = NotificationSettings()
    database = app.extensions["gisserver.db"]

    def run():
        with database.transaction() as session:
            checks.run_checks(session, settings, datetime.now(UTC))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run()
    kinds = sorted(db.scalars(select(NotificationEvent.kind).where(NotificationEvent.kind != "report_filed")))
    assert kinds == ["report_escalated", "report_escalated", "report_overdue"]  # ward, then city
    levels = sorted(e.payload["level"] for e in db.scalars(select(NotificationEvent)
                                                           .where(NotificationEvent.kind == "report_escalated")))
    assert levels == ["city", "ward"]
    # Within the warning window, the deadline-near event, also once.
    db.execute(text("UPDATE reports SET due_at = now() + interval '1 hour'"))
    db.commit()
    run()
    run()
    assert db.scalar(text("SELECT count(*) FROM notification_events WHERE kind = 'report_deadline_near'")) == 1
    assert checks.run_checks(db, replace(settings, digest_hour=datetime.now(UTC).astimezone(
        checks.CITY_TIME).hour), datetime.now(UTC))["digests"] == 0  # no leader: no digest
    db.rollback()
    assert timedelta(hours=settings.escalate_ward_hours) < timedelta(hours=settings.escalate_city_hours)


def test_a_units_webhook_duty_contact_is_delivered_signed_with_its_own_secret(app, queue_empty, receiver, cli):
    db = queue_empty
    refused = cli("notifications", "contact-add", "T-W-CA", "webhook", f"{receiver.url}/unit-hook")
    assert refused.exit_code != 0 and "private" in refused.output  # loopback: only when an admin allows it
    added = cli("notifications", "contact-add", "T-W-CA", "webhook", f"{receiver.url}/unit-hook", "--allow-private")
    assert added.exit_code == 0, added.output
    secret = added.output.split("secret: ", 1)[1].strip()
    assert len(secret) >= 32 and secret not in cli("notifications", "contacts").output
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE changes::text LIKE :s"), {"s": f"%{secret}%"}) == 0
    assert file_report(app.test_client()).status_code == 201
    drain(app, settings_for(receiver=receiver))
    delivery = db.scalar(select(Delivery).where(Delivery.channel == "webhook"))
    assert (delivery.status, delivery.recipient_kind, delivery.last_error) == ("sent", "unit", None)
    [sent] = receiver.requests
    assert sent["path"] == "/unit-hook"
    assert webhook.verify(secret, sent["headers"]["X-Gisserver-Signature"], sent["body"])
    body = json.loads(sent["body"])
    assert body["kind"] == "report_filed" and body["delivery"] == f"dlv_{delivery.id}"
    # Added again: a new secret, and the old one no longer signs.
    again = cli("notifications", "contact-add", "T-W-CA", "webhook", f"{receiver.url}/unit-hook", "--allow-private")
    assert again.output.split("secret: ", 1)[1].strip() != secret


def test_a_webhook_goes_to_the_address_that_was_checked_not_to_a_second_dns_answer(queue_empty, receiver,
                                                                                  monkeypatch):
    """DNS rebinding: the name answers a public address when it is checked and a private one a moment later. The
    request must go to the address checked (here a public one that nothing answers on this machine), never to the
    second answer (the receiver on 127.0.0.1, standing for the city's internal network)."""
    answers = {"hooks.rebind.test": ["8.8.8.8", "127.0.0.1"]}
    asked = []
    real = socket.getaddrinfo

    def rebinding(host, port, *args, **kwargs):
        if host in answers:
            asked.append(host)
            address = answers[host][min(len(asked), 2) - 1]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    message = Message(channel="webhook", recipient=f"http://hooks.rebind.test:{receiver.port}/hook", key="dlv-1",
                      subject="", text="", body={"kind": "report_filed"}, secret="s" * 16)
    with pytest.raises(DeliveryError):
        webhook.send(message, replace(settings_for(), webhook_timeout=0.5))
    assert asked == ["hooks.rebind.test"]  # resolved once, by the check
    assert receiver.requests == []  # the private second answer was never reached

    # The same name pinned to the receiver (an admin allowed private addresses for it): the request reaches the
    # checked address with the name in its Host header, and a later answer changes nothing.
    answers["hooks.rebind.test"] = ["127.0.0.1", "192.0.2.1"]
    asked.clear()
    receipt = webhook.send(replace(message, allow_private=True), settings_for())
    assert receipt.detail == "webhook answered 200" and asked == ["hooks.rebind.test"]
    assert receiver.requests[0]["headers"]["Host"] == f"hooks.rebind.test:{receiver.port}"
    with pytest.raises(InvalidURL):  # the worker's client reaches nothing that was not checked first
        netguard.client().get(f"http://unchecked.rebind.test:{receiver.port}/", timeout=1)


def test_tls_to_a_pinned_address_still_checks_the_certificate_of_the_name(tmp_path):
    """Connecting to the pinned IP keeps TLS on the host name: SNI and the certificate's name check."""
    cert_file, key_file = certificate(tmp_path, names=("hooks.pinned.test",))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    names = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    receiver = Receiver()
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    with receiver as server:
        url = f"https://hooks.pinned.test:{server.port}/hook"
        real = socket.getaddrinfo

        def resolve(host, port, *args, **kwargs):
            if host in ("hooks.pinned.test", "other.pinned.test"):
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
            return real(host, port, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(socket, "getaddrinfo", resolve)
            netguard.pin(url, allow_private=True)
            response = netguard.client().post(url, data=b"{}", verify=str(cert_file), timeout=2)
            assert response.status_code == 200 and names == ["hooks.pinned.test"]
            other = f"https://other.pinned.test:{server.port}/hook"  # same address, a name the certificate lacks
            netguard.pin(other, allow_private=True)
            with pytest.raises(SSLError):
                netguard.client().post(other, data=b"{}", verify=str(cert_file), timeout=2)


def test_chat_messages_go_through_the_configured_gateway(app, client, queue_empty, receiver):
    db = queue_empty
    admin.add_duty_contact(db, "T-W-CA", "chat", "zalo:4411223344")
    db.commit()
    assert file_report(client).status_code == 201
    settings = replace(settings_for(receiver=receiver), chat_url=f"{receiver.url}/chat/{{{{ to }}}}",
                       chat_headers='{"access_token": "zalo-oa-token"}', webhook_allow_private=True)
    drain(app, settings)
    delivery = db.scalar(select(Delivery).where(Delivery.channel == "chat"))
    assert (delivery.status, delivery.recipient_masked) == ("sent", "za***")
    [sent] = receiver.requests
    assert sent["path"] == "/chat/zalo:4411223344" and sent["headers"]["access_token"] == "zalo-oa-token"
    body = json.loads(sent["body"])
    assert body["recipient"] == {"user_id": "zalo:4411223344"}
    assert body["message"]["text"].startswith("Phản ánh ") and "http://city.example/reports/" in body["message"]["text"]
    # A long message is cut at 2,000 characters, never between a letter and its tone mark.
    long = Message(channel="chat", recipient="zalo:1", key="dlv-9", subject="",
                   text=unicodedata.normalize("NFD", "Phường Thuận Hoá " * 200))
    parts = gateway.parts_of(long)
    assert len(parts) == 2 and "".join(parts) == long.text
    assert not unicodedata.combining(parts[1][0]) and len(segments._clusters(parts[0])) == 2000
