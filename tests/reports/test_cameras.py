from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod
from sqlalchemy import func, select

from gisserver.exceptions import Invalid
from reports.areas import area_by_code
from reports.camera_models import Camera
from reports.cameras import CameraInput, add_camera, camera_counts_by_area, cameras_seeing_point, health, heartbeat

GEOD = Geod(ellps="WGS84")
SITE = (107.55, 16.42)


def at(bearing, metres):
    lon, lat, _ = GEOD.fwd(SITE[0], SITE[1], bearing, metres)
    return lon, lat


def seen(db, point):
    return [r.code for r in cameras_seeing_point(db, *point)]


def test_view_cone_edges(city):
    add_camera(city, CameraInput("CAM-E", "Ngã tư Lê Lợi", *SITE, direction=90, fov=60, range_m=100))
    assert seen(city, at(90, 95)) == ["CAM-E"]
    assert seen(city, at(90, 105)) == []
    assert seen(city, at(90 + 28, 80)) == ["CAM-E"]
    assert seen(city, at(90 + 32, 80)) == []
    assert seen(city, at(270, 50)) == []  # behind the camera
    add_camera(city, CameraInput("CAM-DOME", "Chợ Đông Ba", *at(0, 30), fov=360, range_m=50))
    assert seen(city, at(270, 10)) == ["CAM-DOME"]
    both = seen(city, at(80, 20))
    assert both == ["CAM-E", "CAM-DOME"]  # nearest first
    # Moving or turning the camera recomputes its cone.
    camera = city.scalar(select(Camera).where(Camera.code == "CAM-E"))
    camera.direction = 270
    city.flush()
    assert seen(city, at(90, 95)) == [] and seen(city, at(270, 95)) == ["CAM-E"]


def test_camera_validation_and_area(city):
    camera = add_camera(city, CameraInput("CAM-1", "Cầu Trường Tiền", *SITE, direction=10, ai_capabilities=("flood",)))
    assert camera.area_id == area_by_code(city, "T-W-01").id
    for bad in (
        CameraInput("CAM-2", "x", *SITE, direction=None, fov=90),
        CameraInput("CAM-2", "x", *SITE, direction=360),
        CameraInput("CAM-2", "x", *SITE, direction=10, fov=0),
        CameraInput("CAM-2", "x", *SITE, direction=10, range_m=float("nan")),
        CameraInput("CAM-2", "x", *SITE, direction=10, ai_capabilities=("mind_reading",)),
        CameraInput("CAM 2", "x", *SITE, direction=10),
        CameraInput("CAM-2", "x", *SITE, direction=10, stream_url="javascript:alert(1)"),
    ):
        with pytest.raises(Invalid):
            add_camera(city, bad)
    assert city.scalar(select(func.count()).select_from(Camera)) == 1


def test_health_and_counts(city):
    now = datetime(2026, 11, 1, 8, tzinfo=UTC)
    fresh = add_camera(city, CameraInput("A", "a", *SITE, direction=0))
    stale = add_camera(city, CameraInput("B", "b", *SITE, direction=0))
    resting = add_camera(city, CameraInput("C", "c", *SITE, direction=0, state="maintenance"))
    heartbeat(city, fresh, now - timedelta(minutes=3))
    heartbeat(city, stale, now - timedelta(hours=2))
    assert [health(c, now) for c in (fresh, stale, resting)] == ["online", "offline", "maintenance"]
    counts = camera_counts_by_area(city, area_by_code(city, "T").id, now=now)
    assert counts == {"total": 3, "online": 1, "offline": 1, "maintenance": 1, "ai": 0}


def test_camera_api_auth_and_privacy(client, city, auth_headers):
    body = {"code": "CAM-9", "name": "Đập Đá", "lon": SITE[0], "lat": SITE[1], "direction": 45,
            "stream_url": "rtsp://10.0.0.9/live"}
    assert client.post("/api/cameras", json=body).status_code == 401
    assert client.post("/api/cameras", json=body, headers=auth_headers("planner")).status_code == 403
    officer = auth_headers("officer", area_ids=[area_by_code(city, "T-W").id])  # cameras of their own ward
    assert client.post("/api/cameras", json=body, headers=auth_headers("officer")).status_code == 403
    resp = client.post("/api/cameras", json=body, headers=officer)
    assert resp.status_code == 201 and resp.get_json()["stream_url"] == "rtsp://10.0.0.9/live"
    public = client.get("/api/cameras/CAM-9")
    assert "stream_url" not in public.get_json() and b"10.0.0.9" not in client.get("/api/cameras").data
    assert client.post("/api/cameras", json={**body, "lat": "x"}, headers=officer).status_code == 400
    assert client.patch("/api/cameras/CAM-9", json={"fov": 500}, headers=officer).status_code == 400
    resp = client.patch("/api/cameras/CAM-9", json={"direction": 180}, headers=officer)
    assert resp.status_code == 200 and resp.get_json()["direction"] == 180
    # A device token may only speak for its own camera.
    own = auth_headers("device", scopes=["camera:CAM-9"])
    other = auth_headers("device", scopes=["camera:CAM-1"])
    assert client.post("/api/cameras/CAM-9/heartbeat").status_code == 401
    assert client.post("/api/cameras/CAM-9/heartbeat", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.post("/api/cameras/CAM-9/heartbeat", headers=other).status_code == 403
    assert client.post("/api/cameras/CAM-9/heartbeat", headers=own).status_code == 200
    assert client.get("/api/cameras/CAM-9").get_json()["health"] == "online"
    seeing = client.get(f"/api/cameras/seeing?lon={at(180, 30)[0]}&lat={at(180, 30)[1]}").get_json()
    assert [c["code"] for c in seeing["cameras"]] == ["CAM-9"]
    assert client.get("/api/cameras/seeing?lon=abc&lat=1").status_code == 400


def test_camera_import_export_cli(cli, city, tmp_path):
    good = tmp_path / "cams.csv"
    good.write_text("code,name,lon,lat,direction,fov,range_m,ai_capabilities,stream_url\n"
                    "C-1,Cầu Phú Xuân,107.55,16.42,45,90,80,flood;traffic,rtsp://10.0.0.1/a\n"
                    "C-2,Chợ Đông Ba,107.56,16.43,,360,50,,\n", encoding="utf-8")
    result = cli("cameras", "import", str(good))
    assert result.exit_code == 0, result.output
    assert "2 cameras created" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,lon,lat,direction,fov\nC-3,x,107.55,16.42,,90\nC-4,y,107.55,16.42,10,999\n")
    result = cli("cameras", "import", str(bad))
    assert result.exit_code != 0 and "row 1" in result.output and "row 2" in result.output
    out = tmp_path / "out.csv"
    assert cli("cameras", "export", "--format", "csv", "-o", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8-sig")
    assert "C-1,Cầu Phú Xuân,107.55,16.42" in text and "flood,traffic" in text and "rtsp" not in text
    city.rollback()
    assert city.scalar(select(func.count()).select_from(Camera)) == 2
    listing = cli("cameras", "list").output
    assert "C-1\toffline\tT-W-01" in listing
