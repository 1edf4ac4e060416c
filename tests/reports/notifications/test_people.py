"""Who is told what: staff choose channels and quiet hours (urgent alerts ignore them), units' contacts keep
their duty hours, and Web Push reaches a browser's push service signed with VAPID."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from datetime import UTC, datetime, time
from types import SimpleNamespace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid01
from sqlalchemy import select, text

from reports.notifications import admin, fanout, outbox, recipients
from reports.notifications.models import Delivery
from tests.reports.conftest import WEST_INSIDE
from tests.reports.notifications.servers import Receiver
from tests.reports.notifications.test_delivery import PROCRASTINATE, drain, settings_for

NOON_HANOI = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 12:00 in the city
MIDNIGHT_HANOI = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 00:00 in the city


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unit(session, code):
    return session.scalar(text("SELECT id FROM units WHERE code = :c"), {"c": code})


def test_profile_choices_are_checked(client, city, auth_headers):
    officer = auth_headers("officer", unit_ids=[_unit(city, "T-W-CA")])
    assert client.get("/api/me/notifications", headers=officer).get_json()["channels"] == []
    for body, field in (({"email": "a@b.vn\r\nBcc: x@y.vn", "channels": ["email"]}, "email"),
                        ({"channels": ["email"]}, "email"), ({"channels": ["fax"]}, "channels"),
                        ({"quiet_hours": "22-06"}, "hours"), ({"language": "fr"}, "language"),
                        ({"phone": "abc", "channels": ["sms"]}, "phone")):
        resp = client.put("/api/me/notifications", json=body, headers=officer)
        assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == field, body
    assert client.put("/api/me/notifications", json={"unknown": 1}, headers=officer).status_code == 400
    resp = client.put("/api/me/notifications", headers=officer, json={
        "email": "can-bo@ca.example.vn", "channels": ["email", "push"], "quiet_hours": "22:00-06:00",
        "language": "en"})
    assert resp.status_code == 200 and resp.get_json()["quiet_hours"] == "22:00-06:00"
    for endpoint in ("http://127.0.0.1:9/push", "ftp://push.example/x", "http://169.254.169.254/"):
        resp = client.post("/api/me/push-subscriptions", headers=officer,
                           json={"endpoint": endpoint, "keys": {"p256dh": "A" * 20, "auth": "B" * 16}})
        assert resp.status_code == 400, endpoint


def test_quiet_hours_wait_unless_urgent_and_duty_hours_choose_the_contact(city, auth_headers):
    db = city
    auth_headers("officer", unit_ids=[_unit(db, "T-W-CA")])
    user_id = db.scalar(text("SELECT user_id FROM user_grants WHERE unit_id = :u"), {"u": _unit(db, "T-W-CA")})
    admin.save_profile(db, user_id, {"email": "can-bo@ca.example.vn", "channels": ["email"],
                                     "quiet_hours": "22:00-06:00"})
    calm = recipients.unit_users(db, [_unit(db, "T-W-CA")], MIDNIGHT_HANOI, urgent=False)
    assert calm[0].not_before.astimezone(recipients.CITY_TIME).time() == time(6, 0)
    assert recipients.unit_users(db, [_unit(db, "T-W-CA")], MIDNIGHT_HANOI, urgent=True)[0].not_before is None
    assert recipients.unit_users(db, [_unit(db, "T-W-CA")], NOON_HANOI, urgent=False)[0].not_before is None

    admin.add_duty_contact(db, "T-W-CA", "email", "ngay@ca.example.vn", hours="07:00-17:00")
    admin.add_duty_contact(db, "T-W-CA", "email", "dem@ca.example.vn", hours="17:00-07:00")
    by_day = recipients.unit_contacts(db, [_unit(db, "T-W-CA")], NOON_HANOI, urgent=False)
    by_night = recipients.unit_contacts(db, [_unit(db, "T-W-CA")], MIDNIGHT_HANOI, urgent=False)
    assert [t.recipient for t in by_day] == ["ngay@ca.example.vn"]
    assert [t.recipient for t in by_night] == ["dem@ca.example.vn"]

    # The worker reads the same contacts and users with the event itself (fanout.load_event): same choices
    unit_ids = [_unit(db, "T-W-CA")]
    event_id = outbox.record(db, kind="report_filed", subject_type="report", subject_id=0, area_id=None,
                             unit_ids=unit_ids, payload={}, notify=False, on_map=False)
    row = fanout.load_event(db, event_id)._asdict()
    for at, urgent in ((NOON_HANOI, False), (MIDNIGHT_HANOI, False), (MIDNIGHT_HANOI, True)):
        event = SimpleNamespace(**{**row, "urgent": urgent})
        read_apart = (recipients.unit_contacts(db, unit_ids, at, urgent)
                      + recipients.unit_users(db, unit_ids, at, urgent))
        assert [t for t in fanout.targets_for(db, event, at) if t.kind in ("unit", "user")] == read_apart, (at, urgent)
    db.rollback()


def test_web_push_reaches_the_push_service_signed_with_vapid(app, client, city, auth_headers):
    db = city
    db.execute(text(f"TRUNCATE {PROCRASTINATE} CASCADE"))
    db.commit()
    vapid = Vapid01()
    vapid.generate_keys()
    private = _b64(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    officer = auth_headers("officer", unit_ids=[_unit(db, "T-W-CA")])
    with Receiver() as push_service:
        settings = replace(settings_for(), vapid_private_key=private, webhook_allow_private=True)
        app.extensions["gisserver.notifications"] = settings  # the API checks endpoints with the same rule
        assert client.put("/api/me/notifications", headers=officer, json={"channels": ["push"]}).status_code == 200
        resp = client.post("/api/me/push-subscriptions", headers=officer, json={
            "endpoint": f"{push_service.url}/push/abc", "keys": {"p256dh": _b64(browser_key),
                                                                "auth": _b64(os.urandom(16))}})
        assert resp.status_code == 201, resp.get_json()
        assert client.post("/api/reports", json={"category": "gay_roi", "description": "Tụ tập gây ồn",
                                                 "location": {"lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1]}}
                           ).status_code == 201
        drain(app, settings)
        delivery = db.scalar(select(Delivery).where(Delivery.channel == "push"))
        assert delivery is not None and delivery.status == "sent", delivery and delivery.last_error
        sent = push_service.requests[0]
        headers = {k.lower(): v for k, v in sent["headers"].items()}
        assert headers["authorization"].startswith("vapid t=") and headers["content-encoding"] == "aes128gcm"
        assert b"T\xe1\xbb\xa5 t\xe1\xba\xadp" not in sent["body"]  # encrypted for the browser, not readable
