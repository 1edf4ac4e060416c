from datetime import UTC, datetime, timedelta

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Point
from sqlalchemy import func, select

from gisserver.core.exceptions import Invalid
from reports.areas.models import Unit
from reports.areas.service import area_by_code
from reports.cameras.models import Camera
from reports.cameras.service import (
    CameraInput,
    add_camera,
    camera_counts_by_area,
    cameras_seeing_point,
    health,
    heartbeat,
)

GEOD = Geod(ellps="WGS84")
SITE = (107.55, 16.42)


def at(bearing, metres):
    lon, lat, _ = GEOD.fwd(SITE[0], SITE[1], bearing, metres)
    return lon, lat


def seen(db, point):
    return [r.code for r in cameras_seeing_point(db, *point)]


def test_view_cone_edges(city):
    add_camera(city, CameraInput("CAM-E", "Ngã tư Lê Lợi", *SITE, direction=90, fov=60, range_m=100))
    # Along the axis: just inside and just outside the range.
    assert seen(city, at(90, 99)) == ["CAM-E"]
    assert seen(city, at(90, 101)) == []
    # Half the field of view is 30°: just inside and just outside either edge of the cone.
    for edge in (90 - 30, 90 + 30):
        inward = 1 if edge < 90 else -1
        assert seen(city, at(edge + 0.5 * inward, 80)) == ["CAM-E"], edge
        assert seen(city, at(edge - 0.5 * inward, 80)) == [], edge
    assert seen(city, at(90 + 29.5, 99)) == ["CAM-E"]  # the far corner of the cone
    assert seen(city, at(90 + 30.5, 99)) == []
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


def test_view_cone_is_computed_in_postgis(city):
    from sqlalchemy import text

    camera = add_camera(city, CameraInput("CAM-C", "Cổng chợ", *SITE, direction=0, fov=90, range_m=200))
    row = city.execute(text("""
        SELECT ST_Area(coverage::geography) AS m2, ST_NPoints(coverage) AS points,
               coverage = camera_view_cone(geom, direction, fov, range_m) AS same
        FROM cameras WHERE id = :id"""), {"id": camera.id}).one()
    # A quarter of a 200 m disc, less the slivers cut off by the arc's chords.
    assert row.same and abs(row.m2 - 3.14159 * 200**2 / 4) / (3.14159 * 200**2 / 4) < 0.01
    assert row.points == 27  # the camera, 25 points on the arc, back to the camera


def test_camera_crud_from_the_command_line(cli, city):
    result = cli("cameras", "add", "CAM-X", "--name", "Cầu Dã Viên", "--lon", "107.55", "--lat", "16.42",
                 "--direction", "45", "--fov", "75", "--range-m", "90", "--owner-unit", "T-W-CA", "--ai",
                 "traffic,flood", "--stream-url", "rtsp://10.1.1.1/s")
    assert result.exit_code == 0, result.output
    assert cli("cameras", "add", "CAM-X", "--name", "again", "--lon", "107.55", "--lat", "16.42",
               "--direction", "1").exit_code != 0
    bad = cli("cameras", "add", "CAM-Y", "--name", "x", "--lon", "107.55", "--lat", "16.42", "--direction", "10",
              "--ai", "telepathy")
    assert bad.exit_code != 0 and "unknown AI capability: telepathy" in bad.output
    aimless = cli("cameras", "add", "CAM-Y", "--name", "x", "--lon", "107.55", "--lat", "16.42")
    assert aimless.exit_code != 0 and "direction" in aimless.output
    assert cli("cameras", "set", "CAM-X", "--state", "maintenance", "--direction", "90").exit_code == 0
    assert cli("cameras", "set", "CAM-X", "--fov", "400").exit_code != 0
    assert cli("cameras", "set", "CAM-X").exit_code != 0
    assert "CAM-X\tmaintenance\tT-W-01\tCầu Dã Viên" in cli("cameras", "list").output
    city.rollback()
    camera = city.scalar(select(Camera).where(Camera.code == "CAM-X"))
    assert (camera.direction, camera.fov, camera.range_m, camera.ai_capabilities) == (90, 75, 90, ["flood", "traffic"])
    assert cli("cameras", "delete", "CAM-X").exit_code == 0
    assert cli("cameras", "delete", "CAM-X").exit_code != 0
    city.rollback()
    assert city.scalar(select(func.count()).select_from(Camera)) == 0


def test_camera_delete_over_http_is_for_admins_and_keeps_cameras_with_alerts(client, city, auth_headers):
    from reports.cameras.alerts import EventInput, record_event

    add_camera(city, CameraInput("CAM-1", "a", *SITE, direction=0))
    watched = add_camera(city, CameraInput("CAM-2", "b", *SITE, direction=0, ai_capabilities=("traffic",)))
    record_event(city, watched, EventInput("traffic", 0.9, datetime.now(UTC)))
    city.commit()
    assert client.delete("/api/cameras/CAM-1").status_code == 401
    assert client.delete("/api/cameras/CAM-1", headers=auth_headers("officer")).status_code == 403
    admin = auth_headers("admin")
    assert client.delete("/api/cameras/CAM-1", headers=admin).status_code == 204
    assert client.get("/api/cameras/CAM-1").status_code == 404
    kept = client.delete("/api/cameras/CAM-2", headers=admin)
    assert kept.status_code == 409 and "maintenance" in kept.get_json()["error"]["message"]


def test_geojson_import_and_export_round_trip(cli, city, tmp_path):
    source = tmp_path / "cameras.geojson"
    gpd.GeoDataFrame({"code": ["G-1", "G-2"], "name": ["Cầu Trường Tiền", "Phu Văn Lâu"], "direction": [10.0, None],
                      "fov": [60.0, 360.0], "range_m": [120.0, 40.0], "ai_capabilities": ["fire", ""],
                      "owner_unit": ["T-W-CA", None]},
                     geometry=[Point(107.55, 16.42), Point(107.65, 16.45)], crs=4326).to_file(source)
    result = cli("cameras", "import", str(source))
    assert result.exit_code == 0, result.output
    out = tmp_path / "out.geojson"
    assert cli("cameras", "export", "--format", "geojson", "-o", str(out)).exit_code == 0
    back = gpd.read_file(out)
    assert list(back["code"]) == ["G-1", "G-2"] and back.crs.to_epsg() == 4326
    assert back.loc[0, "owner_unit"] == "T-W-CA" and back.loc[0, "ai_capabilities"] == "fire"
    assert abs(back.geometry[1].x - 107.65) < 1e-7
    # Importing the export again changes nothing but updates in place.
    assert "0 cameras created, 2 updated" in cli("cameras", "import", str(out)).output


def test_offline_after_the_configured_silence(database_url, tmp_path, city):
    from gisserver.app import create_app

    camera = add_camera(city, CameraInput("CAM-H", "h", *SITE, direction=0))
    heartbeat(city, camera, datetime.now(UTC) - timedelta(minutes=20))
    city.commit()
    for minutes, expected in ((10, "offline"), (30, "online")):
        app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                          "CAMERA_OFFLINE_MINUTES": minutes})
        client = app.test_client()
        assert client.get("/api/cameras/CAM-H").get_json()["health"] == expected
        assert client.get("/api/cameras.geojson").get_json()["features"][0]["properties"]["health"] == expected
        app.extensions["gisserver.db"].dispose()
    area = area_by_code(city, "T-W")
    assert camera_counts_by_area(city, area.id, window=timedelta(minutes=30))["online"] == 1
    assert camera_counts_by_area(city, area.id, window=timedelta(minutes=10))["offline"] == 1
    assert camera_counts_by_area(city, area_by_code(city, "T-E").id)["total"] == 0


def test_cameras_seeing_a_report(client, city, auth_headers):
    from reports.intake.submit import ReportInput, submit_report

    add_camera(city, CameraInput("FAR", "xa", *at(270, 80), direction=90, range_m=100))
    add_camera(city, CameraInput("NEAR", "gần", *at(270, 10), fov=360, range_m=50))
    add_camera(city, CameraInput("AWAY", "ngoảnh đi", *at(270, 20), direction=270, range_m=100))
    report, _ = submit_report(city, ReportInput("gay_roi", "Đánh nhau ở ngã tư", *SITE))
    addressed, _ = submit_report(city, ReportInput("gay_roi", "Đánh nhau ở đâu đó", address="kiệt 1",
                                                   area_code="T-W", channel="qr_web"))
    city.commit()
    headers = auth_headers("admin")
    seeing = client.get(f"/api/reports/{report.id}/cameras", headers=headers).get_json()["cameras"]
    assert [c["code"] for c in seeing] == ["NEAR", "FAR"]
    assert seeing[0]["distance_m"] < seeing[1]["distance_m"]
    assert client.get(f"/api/reports/{addressed.id}/cameras", headers=headers).get_json() == {"cameras": []}
    assert client.get(f"/api/reports/{report.id}/cameras").status_code == 401
    east_police = city.scalar(select(Unit).where(Unit.code == "T-E-CA"))
    other = auth_headers("officer", unit_ids=[east_police.id])
    assert client.get(f"/api/reports/{report.id}/cameras", headers=other).status_code == 404


def test_import_and_export_over_http(client, city, auth_headers):
    import io

    csv = ("code,name,lon,lat,direction,fov,range_m,ai_capabilities,stream_url\n"
           "H-1,Cầu Phú Xuân,107.55,16.42,45,90,80,flood,rtsp://10.0.0.1/a\n"
           "H-2,Chợ Đông Ba,107.65,16.45,,360,50,,\n").encode()
    officer = auth_headers("officer", area_ids=[area_by_code(city, "T").id])  # the whole city's cameras
    assert client.post("/api/cameras/import", data={"file": (io.BytesIO(csv), "cams.csv")},
                       content_type="multipart/form-data").status_code == 401
    resp = client.post("/api/cameras/import", data={"file": (io.BytesIO(csv), "cams.csv")},
                       content_type="multipart/form-data", headers=officer)
    assert resp.status_code == 200 and resp.get_json() == {"created": 2, "updated": 0}
    bad = b"code,name,lon,lat,direction,fov\nH-3,x,107.55,16.42,,90\n"
    resp = client.post("/api/cameras/import", data={"file": (io.BytesIO(bad), "bad.csv")},
                       content_type="multipart/form-data", headers=officer)
    assert resp.status_code == 400 and resp.get_json()["error"]["details"]["rows"][0]["row"] == 1
    assert client.post("/api/cameras/import", data={"file": (io.BytesIO(b"x"), "cams.exe")},
                       content_type="multipart/form-data", headers=officer).status_code == 400
    assert client.get("/api/cameras/export").status_code == 401
    exported = client.get("/api/cameras/export?format=csv", headers=officer)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    text = exported.data.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("code,name,lon,lat") and "H-2,Chợ Đông Ba,107.65,16.45" in text
    assert "rtsp" not in text
    geojson = client.get("/api/cameras/export?format=geojson", headers=officer).get_json()
    assert [f["properties"]["code"] for f in geojson["features"]] == ["H-1", "H-2"]
    assert client.get("/api/cameras/export?format=xlsx", headers=officer).status_code == 400
    # The exported file imports back unchanged.
    resp = client.post("/api/cameras/import", data={"file": (io.BytesIO(exported.data), "back.csv")},
                       content_type="multipart/form-data", headers=officer)
    assert resp.get_json() == {"created": 0, "updated": 2}
    # Stream addresses are not in the file, and importing it back keeps them.
    assert client.get("/api/cameras/H-1", headers=officer).get_json()["stream_url"] == "rtsp://10.0.0.1/a"
