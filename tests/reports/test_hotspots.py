from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gisserver.exceptions import Invalid
from reports.camera_models import HotspotReading
from reports.hotspots import HotspotInput, add_hotspot

SITE = (107.56, 16.43)


@pytest.fixture
def hotspot(city):
    add_hotspot(city, HotspotInput("NGAP-1", "Kiệt 12 Phan Bội Châu", *SITE, 10, 30, 50))
    city.commit()
    return city


def iso(dt):
    return dt.isoformat()


def test_thresholds_must_be_ordered(city):
    with pytest.raises(Invalid):
        add_hotspot(city, HotspotInput("X", "x", *SITE, 30, 20, 50))
    with pytest.raises(Invalid):
        add_hotspot(city, HotspotInput("Y", "y", 108.9, 16.4, 10, 20, 50))  # outside the city


def test_readings_drive_status_idempotently(client, hotspot, auth_headers):
    device = auth_headers("device", scopes=["readings:write"])
    now = datetime.now(UTC).replace(microsecond=0)
    batch = [{"hotspot": "NGAP-1", "at": iso(now - timedelta(hours=2)), "level_cm": 12},
             {"hotspot": "NGAP-1", "at": iso(now - timedelta(hours=1)), "level_cm": 35.5, "reading_id": "r-2"}]
    resp = client.post("/api/hotspots/readings", json={"readings": batch}, headers=device)
    assert resp.status_code == 201 and resp.get_json() == {"stored": 2, "duplicates": 0}
    (spot,) = client.get("/api/hotspots").get_json()["hotspots"]
    assert spot["status"] == "warning" and spot["level_cm"] == 35.5
    again = client.post("/api/hotspots/readings", json={"readings": batch}, headers=device)
    assert again.status_code == 200 and again.get_json() == {"stored": 0, "duplicates": 2}
    late = [{"hotspot": "NGAP-1", "at": iso(now), "level_cm": 55}]
    client.post("/api/hotspots/readings", json=late, headers=device)
    assert client.get("/api/hotspots").get_json()["hotspots"][0]["status"] == "danger"
    history = client.get(f"/api/hotspots/NGAP-1/readings?from={iso(now - timedelta(hours=3))}".replace("+", "%2B"))
    assert [r["status"] for r in history.get_json()["readings"]] == ["watch", "warning", "danger"]


def test_bad_readings_store_nothing(client, hotspot, auth_headers):
    device = auth_headers("device", scopes=["readings:write"])
    now = datetime.now(UTC)
    good = {"hotspot": "NGAP-1", "at": iso(now), "level_cm": 5}
    for bad in ({**good, "at": "yesterday"}, {**good, "at": "2026-01-01T00:00:00"},
                {**good, "at": iso(now + timedelta(hours=2))}, {**good, "level_cm": "deep"},
                {**good, "hotspot": "NOPE"}):
        resp = client.post("/api/hotspots/readings", json=[good, bad], headers=device)
        assert resp.status_code == 400, bad
    assert client.post("/api/hotspots/readings", json=[good]).status_code == 401
    wrong = auth_headers("device", scopes=["camera:X"])
    assert client.post("/api/hotspots/readings", json=[good], headers=wrong).status_code == 403
    hotspot.rollback()
    assert hotspot.scalar(select(func.count()).select_from(HotspotReading)) == 0
