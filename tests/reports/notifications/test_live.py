"""The live feed: Server-Sent Events from LISTEN/NOTIFY, only inside the caller's scope, with Last-Event-ID
catch-up, a clear refusal without a session or when the server process serves its cap of streams."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from reports.notifications import live
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE


@pytest.fixture(autouse=True)
def streams_last_a_second(app):
    """Long enough for a change committed after the stream opened to arrive (elsewhere streams end at once)."""
    app.config["LIVE_MAX_SECONDS"] = 1.5
    app.extensions.pop("gisserver.notifications", None)


def _ids(session, codes):
    return [session.scalar(text("SELECT id FROM units WHERE code = :c"), {"c": c}) for c in codes]


def _events(response) -> list[dict]:
    body = response.get_data(as_text=True)  # the stream ends after LIVE_MAX_SECONDS
    events = []
    for frame in body.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in lines:
            events.append({"id": int(lines["id"]), "event": lines["event"], **json.loads(lines["data"])})
    return events


def _file(client, point, category="gay_roi"):
    resp = client.post("/api/reports", json={"category": category, "description": "Ồn ào giữa đêm",
                                             "location": {"lon": point[0], "lat": point[1]}})
    assert resp.status_code == 201
    return resp.get_json()["tracking_code"]


def test_each_officer_hears_only_of_their_scope(app, city, auth_headers):
    west = auth_headers("officer", unit_ids=_ids(city, ["T-W-CA"]))
    east = auth_headers("officer", unit_ids=_ids(city, ["T-E-CA"]))
    west_stream = app.test_client().get("/api/live", headers=west)
    east_stream = app.test_client().get("/api/live", headers=east)
    assert west_stream.status_code == 200 and west_stream.mimetype == "text/event-stream"
    code = _file(app.test_client(), WEST_INSIDE)
    west_events, east_events = _events(west_stream), _events(east_stream)
    assert [(e["kind"], e["data"]["tracking_code"]) for e in west_events] == [("report_filed", code)]
    assert "reporter" not in json.dumps(west_events)
    assert east_events == []
    # Catching up: a reconnect with Last-Event-ID gets what it missed, in its scope only.
    east_code = _file(app.test_client(), EAST_INSIDE)
    missed = _events(app.test_client().get("/api/live", headers={**west, "Last-Event-ID": "0"}))
    assert [e["data"]["tracking_code"] for e in missed] == [code]
    missed = _events(app.test_client().get("/api/live", headers={**east, "Last-Event-ID": str(west_events[0]["id"])}))
    assert [e["data"]["tracking_code"] for e in missed] == [east_code]


def test_an_urgent_alert_is_flagged_for_the_banner(app, city, auth_headers, db):
    from reports.cameras.alerts import EventInput, record_event
    from reports.cameras.service import CameraInput, add_camera

    camera = add_camera(db, CameraInput(code="CAM-W", name="Chợ", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                        fov=360, ai_capabilities=("fire", "crowd")))
    db.commit()
    admin_headers = auth_headers("admin")
    stream = app.test_client().get("/api/live", headers=admin_headers)
    record_event(db, camera, EventInput(type="fire", confidence=0.9, at="2026-01-01T00:00:00Z"))
    record_event(db, camera, EventInput(type="crowd", confidence=0.9, at="2026-01-01T00:00:00Z"))
    db.commit()
    events = _events(stream)
    assert [(e["event"], e["data"]["type"], e["urgent"]) for e in events] == [
        ("alert", "fire", True), ("change", "crowd", False)]


def test_refusals(app, client, city, auth_headers):
    resp = client.get("/api/live")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"]
    assert client.get("/api/live", headers=auth_headers("planner")).status_code == 403
    officer = auth_headers("officer")
    resp = client.get("/api/live", headers={**officer, "Last-Event-ID": "12; DROP"})
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "Last-Event-ID"
    app.config["LIVE_MAX_STREAMS"] = 1
    app.extensions.pop("gisserver.notifications", None)
    app.extensions.pop("gisserver.live", None)
    first = app.test_client().get("/api/live", headers=officer)
    second = app.test_client().get("/api/live", headers=officer)
    assert first.status_code == 200
    assert second.status_code == 503 and second.headers["Retry-After"] == "10"
    assert second.get_json()["error"]["code"] == "live_streams_full"
    first.get_data()  # the stream ends and frees its place
    assert app.test_client().get("/api/live", headers=officer).status_code == 200


def test_catching_up_in_a_busy_city_misses_nothing_in_scope(app, city, auth_headers):
    """The replay limit counts the caller's events only: a burst elsewhere does not push theirs out, and more than
    a replay's worth is sent in pages (the stream ends after one; the browser reconnects from its last id)."""
    west_unit, east_unit = _ids(city, ["T-W-CA", "T-E-CA"])
    west = auth_headers("officer", unit_ids=[west_unit])
    east_area = city.scalar(text("SELECT id FROM areas WHERE code = 'T-E'"))
    west_area = city.scalar(text("SELECT id FROM areas WHERE code = 'T-W-01'"))
    start = city.scalar(text("SELECT coalesce(max(id), 0) FROM notification_events"))
    burst = (
        "INSERT INTO notification_events (kind, subject_type, subject_id, area_id, unit_ids, urgent, payload, "
        "created_at) SELECT 'report_filed', 'report', g, :area, ARRAY[:unit], false, '{}'::jsonb, now() "
        "FROM generate_series(1, :n) g")
    # the other ward's busy day
    city.execute(text(burst), {"area": east_area, "unit": east_unit, "n": live.REPLAY_LIMIT + 100})
    city.execute(text(burst), {"area": west_area, "unit": west_unit, "n": 3})
    city.commit()
    events = _events(app.test_client().get("/api/live", headers={**west, "Last-Event-ID": str(start)}))
    assert [e["data"] for e in events] == [{}] * 3 and {e["area_id"] for e in events} == {west_area}

    city.execute(text(burst), {"area": west_area, "unit": west_unit, "n": live.REPLAY_LIMIT + 20})
    city.commit()
    last = events[-1]["id"]
    first_page = _events(app.test_client().get("/api/live", headers={**west, "Last-Event-ID": str(last)}))
    assert len(first_page) == live.REPLAY_LIMIT
    rest = _events(app.test_client().get("/api/live", headers={**west, "Last-Event-ID": str(first_page[-1]["id"])}))
    assert len(rest) == 20 and rest[0]["id"] > first_page[-1]["id"]


def test_a_persons_own_message_is_not_on_the_map(app, city, auth_headers):
    from reports.notifications.outbox import record_direct

    admin_headers = auth_headers("admin")
    start = city.scalar(text("SELECT coalesce(max(id), 0) FROM notification_events"))
    stream = app.test_client().get("/api/live", headers=admin_headers)
    record_direct(city, kind="dashboard_mail", subject_type="dashboard", subject_id=1, user_id=1, dedupe_key="k")
    city.commit()
    assert _events(stream) == []
    assert _events(app.test_client().get("/api/live", headers={**admin_headers, "Last-Event-ID": str(start)})) == []


def test_a_change_too_long_for_notify_still_reaches_the_live_map(app, city, auth_headers):
    """NOTIFY carries at most 8,000 bytes: a long officer's answer makes a short notice and the listener reads the
    event from the outbox."""
    from reports.notifications.outbox import record

    admin_headers = auth_headers("admin")
    stream = app.test_client().get("/api/live", headers=admin_headers)
    answer = "Đã cử tổ công tác đến hiện trường, " * 200  # 7,000 Vietnamese characters, over 8,000 bytes
    record(city, kind="report_comment", subject_type="report", subject_id=1, area_id=None, unit_ids=[],
           payload={"note": answer}, notify=False)
    city.commit()
    [event] = _events(stream)
    assert event["kind"] == "report_comment" and event["data"]["note"] == answer
