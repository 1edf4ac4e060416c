"""A dashboard's PDF by email every week: a leader chooses the day and hour, the notifications worker's schedule
records it once per week however many workers run, and the real worker mails the PDF (in the leader's language)
to the real SMTP server the notification tests use, through the outbox, with its retries."""

from __future__ import annotations

import io
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select, text

from reports.areas.service import area_by_code
from reports.dashboards.mail import CITY_TIME, KIND, latest_slot
from reports.dashboards.models import DashboardMail
from reports.notifications.checks import run_checks
from reports.notifications.config import NotificationSettings
from reports.notifications.models import Delivery, NotificationEvent
from tests.ports import free_port
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.reports.notifications.servers import SmtpServer
from tests.reports.notifications.test_delivery import PROCRASTINATE, drain, settings_for
from tests.reports.summaries.helpers import file

PANELS = [{"id": "n", "chart": "number", "indicators": [{"key": "reports_received"}]},
          {"id": "t", "chart": "table", "indicators": [{"key": "reports_received"}]}]


@pytest.fixture
def leaders(city, client, auth_headers):
    city.execute(text(f"TRUNCATE {PROCRASTINATE} CASCADE"))
    for point, days in ((WEST_INSIDE, 1), (WEST_INSIDE, 2), (EAST_INSIDE, 3)):
        file(city, point, days)
    city.commit()
    west = auth_headers("leader", area_ids=[area_by_code(city, "T-W").id])
    city_leader = auth_headers("leader", area_ids=[area_by_code(city, "T").id])
    made = client.post("/api/dashboards", headers=city_leader, json={
        "title": "Toàn cảnh tuần", "panels": PANELS, "area": "T", "share": {"roles": ["leader"]}})
    assert made.status_code == 201, made.get_json()
    return {"db": city, "west": west, "city": city_leader, "dashboard": made.get_json()["id"]}


def _checks(app, now: datetime) -> None:
    with app.extensions["gisserver.db"].transaction() as session:
        run_checks(session, NotificationSettings(), now)


def test_a_leader_gets_the_dashboard_pdf_by_mail_once_a_week(app, client, leaders):
    db, west, dashboard = leaders["db"], leaders["west"], leaders["dashboard"]
    url = f"/api/dashboards/{dashboard}/mail"
    assert client.get(url, headers=west).get_json() == {"subscribed": False, "weekday": None, "hour": None,
                                                        "email": None}
    # No email in their notification choices yet: told where to give it.
    refused = client.put(url, headers=west, json={"weekday": 1, "hour": 7})
    assert refused.status_code == 400 and refused.get_json()["error"]["details"]["field"] == "email"
    assert client.put("/api/me/notifications", headers=west, json={"email": "ld-tay@example.vn"}).status_code == 200
    for body, field in (({"weekday": 0, "hour": 7}, "weekday"), ({"weekday": 8, "hour": 7}, "weekday"),
                        ({"weekday": "1", "hour": 7}, "weekday"), ({"weekday": True, "hour": 7}, "weekday"),
                        ({"weekday": 1, "hour": 24}, "hour"), ({"weekday": 1, "hour": -1}, "hour"),
                        ({"weekday": 1, "hour": 7, "to": "x@y.vn"}, None), ([1, 7], None)):
        resp = client.put(url, headers=west, json=body)
        assert resp.status_code == 400, body
        assert resp.get_json()["error"]["details"].get("field") == field, body
    assert db.scalar(select(DashboardMail.id)) is None
    assert client.put("/api/dashboards/999999/mail", headers=west, json={"weekday": 1, "hour": 7}
                      ).status_code == 404

    now = datetime.now(UTC)
    local = now.astimezone(CITY_TIME)
    chosen = client.put(url, headers=west, json={"weekday": local.isoweekday(), "hour": local.hour})
    assert chosen.status_code == 200
    assert chosen.get_json() == {"subscribed": True, "weekday": local.isoweekday(), "hour": local.hour,
                                 "email": "ld-tay@example.vn"}
    # This week's slot began before the choice was made: the first mail is next week's.
    _checks(app, now + timedelta(minutes=1))
    assert db.scalar(select(NotificationEvent.id).where(NotificationEvent.kind == KIND)) is None

    next_week = now + timedelta(days=7)
    threads = [threading.Thread(target=_checks, args=(app, next_week)) for _ in range(3)]  # three workers at once
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _checks(app, next_week + timedelta(hours=5))  # and later the same week
    [event] = db.scalars(select(NotificationEvent).where(NotificationEvent.kind == KIND)).all()
    slot = latest_slot(local.isoweekday(), local.hour, next_week)
    assert event.payload["week_of"] == slot.date().isoformat() and event.subject_id == dashboard

    # The SMTP server is down at first: the delivery is retried, dead-lettered, and an admin's retry sends it once.
    closed = replace(settings_for(), smtp_host="127.0.0.1", smtp_port=free_port())
    drain(app, closed)
    delivery = db.scalar(select(Delivery).where(Delivery.event_id == event.id))
    db.refresh(delivery)
    assert (delivery.channel, delivery.recipient, delivery.status, delivery.attempts) == (
        "email", "ld-tay@example.vn", "dead", 3)
    from reports.notifications.admin import retry

    assert retry(db, [delivery.id]) == 1
    db.commit()
    with SmtpServer() as smtp:
        drain(app, settings_for(smtp))
        [mail] = smtp.mailbox.wait_for(1)
        drain(app, settings_for(smtp))  # nothing left to send
        assert len(smtp.mailbox.messages) == 1
    assert mail["To"] == "ld-tay@example.vn" and mail["Subject"] == "Bảng điều hành hằng tuần: Toàn cảnh tuần"
    assert mail.get_content_type() == "multipart/mixed"
    plain = mail.get_body(("plain",)).get_content()
    assert f"http://city.example/dashboards/{dashboard}" in plain and "Thư hằng tuần" in plain
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename().startswith(f"dashboard-{dashboard}-T-W-")  # the west leader's own ward
    pdf = attachment.get_content()
    assert pdf.startswith(b"%PDF")
    words = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Toàn cảnh tuần" in words and "Phường Tây" in words and "Khoảng thời gian" in words
    assert "Phường Đông" not in words  # evaluated for the reader: the east ward is not theirs
    db.refresh(delivery)
    assert delivery.status == "sent"

    # The week after: one more. Stopped: none.
    _checks(app, now + timedelta(days=14))
    assert db.scalar(text("SELECT count(*) FROM notification_events WHERE kind = :k"), {"k": KIND}) == 2
    assert client.delete(url, headers=west).status_code == 204
    _checks(app, now + timedelta(days=21))
    assert db.scalar(text("SELECT count(*) FROM notification_events WHERE kind = :k"), {"k": KIND}) == 2
    assert client.get(url, headers=west).get_json()["subscribed"] is False


def test_the_mail_speaks_its_readers_language_and_stops_when_the_dashboard_is_no_longer_theirs(app, client,
                                                                                                leaders):
    db, dashboard = leaders["db"], leaders["dashboard"]
    reader = leaders["city"]
    assert client.put("/api/me/notifications", headers=reader, json={"email": "ld-tp@example.vn",
                                                                     "language": "en"}).status_code == 200
    now = datetime.now(UTC)
    assert client.put(f"/api/dashboards/{dashboard}/mail", headers=reader, json={"weekday": 3, "hour": 7}
                      ).status_code == 200
    _checks(app, now + timedelta(days=8))
    with SmtpServer() as smtp:
        drain(app, settings_for(smtp))
        [mail] = smtp.mailbox.wait_for(1)
    assert mail["Subject"] == "Weekly dashboard: Toàn cảnh tuần"
    words = PdfReader(io.BytesIO(next(mail.iter_attachments()).get_content())).pages[0].extract_text()
    assert "Period" in words and "Thành phố Thử" in words
    # The west leader subscribes to the shared dashboard; then it is no longer shared: their mail is not sent.
    west = leaders["west"]
    assert client.put("/api/me/notifications", headers=west, json={"email": "ld-tay@example.vn"}).status_code == 200
    assert client.put(f"/api/dashboards/{dashboard}/mail", headers=west, json={"weekday": 3, "hour": 7}
                      ).status_code == 200
    assert client.put(f"/api/dashboards/{dashboard}", headers=reader, json={"share": {}}).status_code == 200
    _checks(app, now + timedelta(days=15))
    with SmtpServer() as smtp:
        drain(app, settings_for(smtp))
        delivered = smtp.mailbox.wait_for(2, timeout=3)
    assert [m["To"] for m in delivered] == ["ld-tp@example.vn"]
    skipped = db.scalar(select(Delivery).where(Delivery.recipient == "ld-tay@example.vn"))
    assert skipped.status == "skipped" and "no longer" in skipped.last_error
