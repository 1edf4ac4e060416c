import base64
import io
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from reports.areas.models import Unit
from reports.cameras.models import AiEvent, Alert
from reports.cameras.service import CameraInput, add_camera
from reports.intake.submit import ReportInput, submit_report

SITE = (107.55, 16.42)


def png() -> str:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (255, 0, 0)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


def setup_camera(db):
    add_camera(db, CameraInput("AI-1", "Camera AI chợ", *SITE, direction=90,
                               ai_capabilities=("fire", "traffic", "flood")))
    db.commit()


def post(client, headers, **body):
    body.setdefault("type", "fire")
    body.setdefault("confidence", 0.91)
    body.setdefault("at", datetime.now(UTC).isoformat())
    return client.post("/api/cameras/AI-1/events", json=body, headers=headers)


def counts(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(Alert)), db.scalar(select(func.count()).select_from(AiEvent))


def test_events_are_deduplicated_and_routed(client, city, auth_headers):
    setup_camera(city)
    device = auth_headers("device", scopes=["camera:AI-1"])
    now = datetime.now(UTC) - timedelta(hours=1)
    first = post(client, device, at=now.isoformat(), snapshot=png())
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["new_alert"] is True
    again = post(client, device, at=(now + timedelta(minutes=3)).isoformat(), confidence=0.97)
    assert again.get_json()["new_alert"] is False
    alert = again.get_json()["alert"]
    assert alert["event_count"] == 2 and alert["max_confidence"] == 0.97
    # Fire goes to the ward People's Committee and the city's fire police.
    units = {city.get(Unit, u).code for u in alert["unit_ids"]}
    assert units == {"T-W-UB", "T-PCCC"}
    later = post(client, device, at=(now + timedelta(minutes=30)).isoformat())
    assert later.get_json()["new_alert"] is True
    traffic = post(client, device, type="traffic")
    assert {city.get(Unit, u).code for u in traffic.get_json()["alert"]["unit_ids"]} == {"T-W-CA"}
    assert counts(city) == (3, 4)


def test_alert_links_a_nearby_open_report(client, city, auth_headers):
    setup_camera(city)
    report, _ = submit_report(city, ReportInput("cap_thoat_nuoc_ngap_ung", "Ngập sâu trước chợ", 107.5505, 16.4202))
    city.commit()
    resp = post(client, auth_headers("device", scopes=["camera:AI-1"]), type="flood")
    assert resp.get_json()["alert"]["linked_report_id"] == report.id
    # The report's page lists the alert beside it, for the unit handling the report.
    page = client.get(f"/reports/{report.id}", headers=auth_headers("officer", unit_ids=[report.unit_id]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Cảnh báo AI về cùng sự việc" in html
    section = html.split("Cảnh báo AI về cùng sự việc", 1)[1].split("</ul>", 1)[0]
    assert "AI-1" in section and "Đã tiếp nhận" in section


def test_bad_events_are_refused_and_not_stored(client, city, auth_headers):
    setup_camera(city)
    device = auth_headers("device", scopes=["camera:AI-1"])
    assert post(client, {}).status_code == 401
    assert post(client, {"Authorization": "Bearer gs_unknown"}).status_code == 401
    assert post(client, auth_headers("device", scopes=["camera:AI-2"])).status_code == 403
    assert client.post("/api/cameras/NOPE/events", json={}, headers=auth_headers("officer")).status_code == 404
    for bad in ({"type": "ufo"}, {"type": "straw_burning"}, {"confidence": 1.5}, {"confidence": "high"},
                {"at": "now"}, {"at": "2026-01-01T00:00:00"},
                {"at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
                {"snapshot": "not base64!"}, {"snapshot": base64.b64encode(b"GIF89a fake").decode()},
                {"lon": 107.5}):
        resp = post(client, device, **bad)
        assert resp.status_code == 400, (bad, resp.get_json())
    huge = base64.b64encode(b"\xff" * (9 * 1024 * 1024)).decode()
    assert post(client, device, snapshot=huge).status_code == 413
    assert counts(city) == (0, 0)


def test_alert_workflow_scoped_to_units(client, city, auth_headers):
    setup_camera(city)
    alert_id = post(client, auth_headers("device", scopes=["camera:AI-1"]), type="traffic").get_json()["alert"]["id"]
    police = city.scalar(select(Unit).where(Unit.code == "T-W-CA"))
    east = city.scalar(select(Unit).where(Unit.code == "T-E-CA"))
    mine = auth_headers("officer", unit_ids=[police.id])
    other = auth_headers("officer", unit_ids=[east.id])
    assert [a["id"] for a in client.get("/api/alerts", headers=mine).get_json()["alerts"]] == [alert_id]
    assert client.get("/api/alerts", headers=other).get_json()["alerts"] == []
    assert client.post(f"/api/alerts/{alert_id}/transition", json={"action": "acknowledge"},
                       headers=other).status_code == 404
    resp = client.post(f"/api/alerts/{alert_id}/transition", json={"action": "resolve"}, headers=mine)
    assert resp.status_code == 200 and resp.get_json()["status"] == "resolved"
    assert client.post(f"/api/alerts/{alert_id}/transition", json={"action": "resolve"},
                       headers=mine).status_code == 409


def test_alerts_are_routed_by_the_routing_table(client, city, auth_headers, cli):
    setup_camera(city)
    device = auth_headers("device", scopes=["camera:AI-1"])
    flood = post(client, device, type="flood").get_json()["alert"]
    assert [u["code"] for u in flood["units"]] == ["T-W-UB"]
    # Deadlines come from the alert type: fire 1 h, flood 2 h, traffic 4 h.
    assert datetime.fromisoformat(flood["due_at"]) - datetime.fromisoformat(flood["first_at"]) == timedelta(hours=2)
    fire = post(client, device, type="fire").get_json()["alert"]
    assert [u["code"] for u in fire["units"]] == ["T-W-UB", "T-PCCC"]  # the People's Committee leads
    assert datetime.fromisoformat(fire["due_at"]) - datetime.fromisoformat(fire["first_at"]) == timedelta(hours=1)
    # The table is configuration: fires in the west ward now also reach the ward police, and floods go to
    # the city operations centre instead of the ward.
    assert cli("routing", "add", "--alert-type", "fire", "--area", "T-W", "--unit", "T-W-CA").exit_code == 0
    result = cli("alert-types", "set", "flood", "--name-vi", "Ngập", "--name-en", "Flood", "--unit-type",
                 "city_operations", "--deadline-hours", "0.5", "--report-category", "cap_thoat_nuoc_ngap_ung")
    assert result.exit_code == 0, result.output
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    client.post(f"/api/alerts/{fire['id']}/transition", json={"action": "resolve"}, headers=auth_headers("admin"))
    client.post(f"/api/alerts/{flood['id']}/transition", json={"action": "resolve"}, headers=auth_headers("admin"))
    fire2 = post(client, device, type="fire", at=later).get_json()["alert"]
    assert [u["code"] for u in fire2["units"]] == ["T-W-UB", "T-PCCC", "T-W-CA"]
    flood2 = post(client, device, type="flood", at=later).get_json()["alert"]
    assert [u["code"] for u in flood2["units"]] == ["T-IOC"]
    assert datetime.fromisoformat(flood2["due_at"]) - datetime.fromisoformat(flood2["first_at"]) == timedelta(
        minutes=30)
    assert "flood\tcity_operations\t0.5 h\tcap_thoat_nuoc_ngap_ung\tNgập" in cli("alert-types", "list").output
    assert cli("alert-types", "set", "hail", "--name-vi", "Mưa đá", "--name-en", "Hail", "--unit-type", "nobody",
               "--deadline-hours", "1").exit_code != 0
    # A retired type is an unknown type: its events are refused and not stored.
    assert cli("alert-types", "set", "traffic", "--name-vi", "Giao thông", "--name-en", "Traffic", "--unit-type",
               "ward_police", "--deadline-hours", "4", "--inactive").exit_code == 0
    before = counts(city)
    resp = post(client, device, type="traffic")
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["field"] == "type"
    assert counts(city) == before


def test_an_event_at_its_own_point_is_routed_where_it_happened(client, city, auth_headers):
    add_camera(city, CameraInput("AI-ZOOM", "Camera AI đồi", 107.599, 16.43, direction=90, range_m=2000,
                                 ai_capabilities=("straw_burning",)))
    city.commit()
    device = auth_headers("device", scopes=["camera:AI-ZOOM"])
    resp = client.post("/api/cameras/AI-ZOOM/events", headers=device, json={
        "type": "straw_burning", "confidence": 0.8, "at": datetime.now(UTC).isoformat(), "lon": 107.62, "lat": 16.43})
    alert = resp.get_json()["alert"]
    assert (alert["lon"], alert["lat"]) == (107.62, 16.43)
    assert alert["area"]["code"] == "T-E" and [u["code"] for u in alert["units"]] == ["T-E-UB"]
    # Without a point, the camera's own position (in the west ward's group 1).
    plain = client.post("/api/cameras/AI-ZOOM/events", headers=device, json={
        "type": "straw_burning", "confidence": 0.8, "at": (datetime.now(UTC) - timedelta(hours=2)).isoformat()})
    assert plain.get_json()["new_alert"] is True and plain.get_json()["alert"]["area"]["code"] == "T-W-01"
    assert [u["code"] for u in plain.get_json()["alert"]["units"]] == ["T-W-UB"]


def test_dedup_window_is_configurable(database_url, tmp_path, city, auth_headers):
    from gisserver.app import create_app

    setup_camera(city)
    start = datetime.now(UTC) - timedelta(hours=3)
    for minutes, expected_alerts in ((10, 2), (30, 1)):
        app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                          "ALERT_DEDUP_MINUTES": minutes})
        client = app.test_client()
        device = {"Authorization": auth_headers("device", scopes=["camera:AI-1"])["Authorization"]}
        t = start + timedelta(hours=1 if minutes == 30 else 0)
        first = post(client, device, type="traffic", at=t.isoformat()).get_json()
        second = post(client, device, type="traffic", at=(t + timedelta(minutes=20)).isoformat()).get_json()
        assert first["new_alert"] is True
        assert second["new_alert"] is (expected_alerts == 2), minutes
        app.extensions["gisserver.db"].dispose()


def test_alert_history_is_kept_and_cannot_be_edited(client, city, auth_headers):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    setup_camera(city)
    alert_id = post(client, auth_headers("device", scopes=["camera:AI-1"]), type="traffic").get_json()["alert"]["id"]
    police = city.scalar(select(Unit).where(Unit.code == "T-W-CA"))
    officer = auth_headers("officer", unit_ids=[police.id])
    assert client.post(f"/api/alerts/{alert_id}/transition", json={"action": "reject"},
                       headers=officer).status_code == 400  # a reason is required
    resp = client.post(f"/api/alerts/{alert_id}/transition", json={"action": "reject", "note": "Báo nhầm"},
                       headers=officer)
    assert resp.status_code == 200 and resp.get_json()["closed_at"]
    resp = client.post(f"/api/alerts/{alert_id}/transition", json={"action": "reopen"}, headers=officer)
    assert resp.status_code == 409  # only a resolved alert reopens
    detail = client.get(f"/api/alerts/{alert_id}", headers=officer).get_json()
    assert [(h["action"], h["from"], h["to"]) for h in detail["history"]] == [
        ("created", None, "new"), ("reject", "new", "rejected")]
    assert detail["history"][0]["actor"].startswith("token:") and detail["history"][1]["note"] == "Báo nhầm"
    assert client.get(f"/api/alerts/{alert_id}").status_code == 401
    city.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        city.execute(text("UPDATE alert_events SET note = 'forged'"))
    city.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        city.execute(text("DELETE FROM alert_events"))
    city.rollback()


def test_a_report_made_after_the_alert_began_is_linked_by_a_later_event(client, city, auth_headers):
    setup_camera(city)
    device = auth_headers("device", scopes=["camera:AI-1"])
    start = datetime.now(UTC) - timedelta(minutes=20)
    first = post(client, device, type="flood", at=start.isoformat()).get_json()["alert"]
    assert first["linked_report_id"] is None
    report, _ = submit_report(city, ReportInput("cap_thoat_nuoc_ngap_ung", "Nước ngập tới gối", 107.5508, 16.4201))
    # A report of an unrelated category nearby is not linked.
    submit_report(city, ReportInput("trom_cap", "Mất xe", 107.5501, 16.4201))
    city.commit()
    again = post(client, device, type="flood", at=(start + timedelta(minutes=5)).isoformat()).get_json()["alert"]
    assert again["id"] == first["id"] and again["linked_report_id"] == report.id


def test_snapshot_as_multipart_is_stored_re_encoded(client, city, auth_headers, app):
    setup_camera(city)
    raw = base64.b64decode(png())
    resp = client.post("/api/cameras/AI-1/events", headers=auth_headers("device", scopes=["camera:AI-1"]),
                       data={"type": "fire", "confidence": "0.9", "at": datetime.now(UTC).isoformat(),
                             "snapshot": (io.BytesIO(raw), "frame.png")}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    city.rollback()
    path = city.scalar(select(AiEvent.snapshot_path))
    stored = app.config["SETTINGS"].data_dir / "snapshots" / path
    assert stored.read_bytes().startswith(b"\xff\xd8")  # a clean JPEG, whatever was sent
    fake = client.post("/api/cameras/AI-1/events", headers=auth_headers("device", scopes=["camera:AI-1"]),
                       data={"type": "fire", "confidence": "0.9", "at": datetime.now(UTC).isoformat(),
                             "snapshot": (io.BytesIO(b"MZ\x90\x00 not an image"), "frame.jpg")},
                       content_type="multipart/form-data")
    assert fake.status_code == 400
    assert counts(city) == (1, 1)
