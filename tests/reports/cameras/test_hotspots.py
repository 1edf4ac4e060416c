import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gisserver.core.exceptions import Invalid
from reports.cameras.hotspots import HotspotInput, add_hotspot
from reports.cameras.models import HotspotReading

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


def post_levels(client, headers, *levels, start, code="NGAP-1", step=timedelta(minutes=30)):
    batch = [{"hotspot": code, "at": iso(start + i * step), "level_cm": level} for i, level in enumerate(levels)]
    resp = client.post("/api/hotspots/readings", json={"readings": batch}, headers=headers)
    assert resp.status_code in (200, 201), resp.get_json()
    return resp


def current(client, code="NGAP-1"):
    (spot,) = [h for h in client.get("/api/hotspots").get_json()["hotspots"] if h["code"] == code]
    return spot["status"], spot["level_cm"]


def test_status_follows_the_thresholds_up_and_down(client, hotspot, auth_headers):
    device = auth_headers("device", scopes=["readings:write"])
    assert current(client) == ("unknown", None)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=10)
    # Thresholds 10 / 30 / 50: each boundary value belongs to the higher level.
    expected = [(0, "normal"), (9.9, "normal"), (10, "watch"), (29.9, "watch"), (30, "warning"), (49.9, "warning"),
                (50, "danger"), (120, "danger"), (35, "warning"), (12, "watch"), (3, "normal")]
    for i, (level, status) in enumerate(expected):
        post_levels(client, device, level, start=start + timedelta(minutes=30 * i))
        assert current(client) == (status, level), (level, status)
    # A late reading (older than the newest) is kept in the history but does not change the current status.
    post_levels(client, device, 80, start=start + timedelta(minutes=1))
    assert current(client) == ("normal", 3)
    history = client.get("/api/hotspots/NGAP-1/readings").get_json()
    assert [r["level_cm"] for r in history["readings"]][:3] == [0, 80, 9.9]
    assert history["thresholds_cm"] == {"watch": 10, "warning": 30, "danger": 50}
    assert history["status"] == "normal" and history["name"] == "Kiệt 12 Phan Bội Châu"


def test_history_period_defaults_to_the_last_30_days_and_keeps_the_newest(client, hotspot, auth_headers):
    device = auth_headers("device", scopes=["readings:write"])
    now = datetime.now(UTC).replace(microsecond=0)
    post_levels(client, device, 5, 6, start=now - timedelta(days=40), step=timedelta(days=1))
    post_levels(client, device, 7, 8, 9, start=now - timedelta(hours=3), step=timedelta(hours=1))
    levels = [r["level_cm"] for r in client.get("/api/hotspots/NGAP-1/readings").get_json()["readings"]]
    assert levels == [7, 8, 9]
    since = (now - timedelta(days=45)).isoformat().replace("+00:00", "Z")
    until = (now - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    old = client.get(f"/api/hotspots/NGAP-1/readings?from={since}&to={until}").get_json()["readings"]
    assert [r["level_cm"] for r in old] == [5, 6]
    assert client.get("/api/hotspots/NGAP-1/readings?from=yesterday").status_code == 400
    assert client.get(f"/api/hotspots/NGAP-1/readings?from={until}&to={since}").status_code == 400
    assert client.get("/api/hotspots/NOPE/readings").status_code == 404


def test_readings_are_timestamped_and_idempotent_by_reading_id(client, hotspot, auth_headers):
    device = auth_headers("device", scopes=["readings:write"])
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    one = {"hotspot": "NGAP-1", "at": iso(at), "level_cm": 20, "reading_id": "gauge-7:1001"}
    assert client.post("/api/hotspots/readings", json=[one], headers=device).get_json() == {"stored": 1,
                                                                                          "duplicates": 0}
    # The same reading resent with a rounded time is recognised by its id.
    resent = {**one, "at": iso(at + timedelta(seconds=1))}
    assert client.post("/api/hotspots/readings", json=[resent], headers=device).get_json() == {"stored": 0,
                                                                                             "duplicates": 1}
    too_many = [{"hotspot": "NGAP-1", "at": iso(at - timedelta(minutes=i)), "level_cm": 1} for i in range(1001)]
    assert client.post("/api/hotspots/readings", json=too_many, headers=device).status_code == 400
    assert client.post("/api/hotspots/readings", json=[], headers=device).status_code == 400
    from reports.areas.service import area_by_code

    # An operator of the hotspot's area may type a reading in; one of another area may not.
    assert client.post("/api/hotspots/readings", json=[{**one, "reading_id": "manual-0"}],
                       headers=auth_headers("officer")).status_code == 403
    officer = auth_headers("officer", area_ids=[area_by_code(hotspot, "T").id])
    assert client.post("/api/hotspots/readings", json=[{**one, "reading_id": "manual-1", "at": iso(at - timedelta(
        minutes=1))}], headers=officer).status_code == 201
    assert client.post("/api/hotspots/readings", json=[one], headers=auth_headers("planner")).status_code == 403


def test_hotspot_page_charts_its_history_without_a_cdn(client, hotspot):
    page = client.get("/flood/NGAP-1")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Kiệt 12 Phan Bội Châu" in html and 'id="hotspot-chart"' in html
    # Scripts by their content-hashed names (cached for good, see gisserver.core.assets).
    assert re.search(r"/static/vendor/chartjs/chart\.umd\.min\.[0-9a-f]{10}\.js", html)
    assert re.search(r"/static/js/hotspot\.[0-9a-f]{10}\.js", html)
    assert "cdn" not in html.lower() and "unpkg" not in html
    assert "/api/hotspots/NGAP-1/readings" in html  # where the chart reads its data
    for path in ("/static/vendor/chartjs/chart.umd.min.js", "/static/js/hotspot.js"):
        assert client.get(path).status_code == 200
    assert client.get("/flood/NOPE").status_code == 404
    # The flood map's list links each hotspot to its page.
    assert client.get("/api/hotspots").get_json()["hotspots"][0]["page"] == "/flood/NGAP-1"


def test_hotspots_from_the_command_line_with_their_cameras(cli, city):
    from reports.cameras.service import CameraInput, add_camera

    add_camera(city, CameraInput("CAM-A", "Cầu", 107.56, 16.43, direction=0))
    add_camera(city, CameraInput("CAM-B", "Chợ", 107.561, 16.431, fov=360))
    city.commit()
    result = cli("hotspots", "add", "NGAP-9", "--name", "Kiệt 9", "--lon", "107.56", "--lat", "16.43",
                 "--watch", "10", "--warning", "25", "--danger", "45", "--camera", "CAM-A", "--camera", "CAM-B")
    assert result.exit_code == 0, result.output
    assert "NGAP-9\tunknown\t- cm\tKiệt 9" in cli("hotspots", "list").output
    bad = cli("hotspots", "add", "NGAP-8", "--name", "x", "--lon", "107.56", "--lat", "16.43", "--watch", "30",
              "--warning", "20", "--danger", "45")
    assert bad.exit_code != 0 and "thresholds" in bad.output
    unknown = cli("hotspots", "add", "NGAP-8", "--name", "x", "--lon", "107.56", "--lat", "16.43", "--watch", "1",
                  "--warning", "2", "--danger", "3", "--camera", "CAM-Z")
    assert unknown.exit_code != 0 and "CAM-Z" in unknown.output
    assert cli("hotspots", "set", "NGAP-9", "--danger", "60", "--camera", "CAM-B").exit_code == 0
    assert cli("hotspots", "set", "NGAP-9", "--warning", "70").exit_code != 0  # would pass danger
    from reports.cameras.hotspots import camera_codes_by_hotspot, get_hotspot

    city.rollback()
    spot = get_hotspot(city, "NGAP-9")
    assert (spot.watch_cm, spot.warning_cm, spot.danger_cm) == (10, 25, 60)
    assert camera_codes_by_hotspot(city) == {spot.id: ["CAM-B"]}
