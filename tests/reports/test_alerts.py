import base64
import io
from datetime import UTC, datetime, timedelta

from PIL import Image
from sqlalchemy import func, select

from reports.camera_models import AiEvent, Alert
from reports.cameras import CameraInput, add_camera
from reports.intake import ReportInput, submit_report
from reports.models import Unit

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
