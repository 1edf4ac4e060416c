"""The scope rules behind the matrix, case by case: what exactly each caller gets back, and what is left unchanged
when a caller is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from reports.cameras.models import Camera, HotspotReading
from reports.workflow.models import Report
from tests.app.access_world import PEOPLE, REPORTER_PHONE, build_world
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE


@pytest.fixture
def world(app, db, tmp_path):
    return build_world(app, db, tmp_path)


def get(world, path, caller, headers=None):
    return world.client().get(path, headers={**world.headers[caller], **(headers or {})})


def send(world, method, path, caller, **kwargs):
    return world.client().open(path, method=method, headers=world.headers[caller], **kwargs)


def _without_request_id(response) -> dict:
    body = response.get_json()
    body["error"]["details"].pop("request_id", None)
    return body


def test_another_wards_report_looks_exactly_like_no_report(world):
    """The east officer cannot tell the west report from an id that was never used."""
    hidden = get(world, f"/api/reports/{world.names['report_w']}", "officer_e")
    absent = get(world, f"/api/reports/{world.names['missing']}", "officer_e")
    assert hidden.status_code == absent.status_code == 404
    assert _without_request_id(hidden) == _without_request_id(absent)
    for path in (f"/api/reports/{world.names['report_w']}/photos/{world.names['photo_w']}",
                 f"/reports/{world.names['report_w']}"):
        assert get(world, path, "officer_e").status_code == 404
    moved = send(world, "POST", f"/api/reports/{world.names['report_w']}/transition", "officer_e",
                 json={"action": "start"})
    assert moved.status_code == 404
    world.session.expire_all()
    assert world.session.get(Report, world.names["report_w"]).status == "acknowledged"  # unchanged


def test_a_merge_cannot_pull_in_another_wards_report(world):
    main = world.new_report(WEST_INSIDE)
    foreign = world.names["report_e"]
    refused = send(world, "POST", f"/api/reports/{main}/merge", "officer_w", json={"duplicates": [foreign]})
    assert refused.status_code == 404
    world.session.expire_all()
    assert world.session.get(Report, foreign).merged_into_id is None


def test_lists_and_maps_hold_exactly_the_callers_subtree(world):
    def ids(caller, query=""):
        return {r["id"] for r in get(world, f"/api/reports?per_page=200{query}", caller).get_json()["items"]}

    def mapped(caller):
        return {f["id"] for f in get(world, "/api/reports.geojson", caller).get_json()["features"]}

    west, east = world.names["report_w"], world.names["report_e"]
    assert ids("admin") == ids("leader_city") == mapped("leader_city") == {west, east}
    assert ids("officer_w") == ids("leader_w") == mapped("officer_w") == {west}
    assert ids("officer_e") == mapped("officer_e") == {east}
    # A filter narrows the scope, it never widens it.
    assert ids("leader_w", "&area=T-E") == set()
    assert ids("officer_w", "&unit=T-E-UB") == set()


def test_reporter_contact_only_for_the_assigned_unit(world, auth_headers):
    """Leaders and officers of other units see the report, not who sent it; after a reassignment the old unit
    loses the contact and the new one gets it."""
    from reports.areas.service import area_by_code
    from reports.areas.units import unit_by_code

    path = f"/api/reports/{world.names['report_w']}"
    assert get(world, path, "officer_w").get_json()["reporter"]["phone"] == REPORTER_PHONE
    assert get(world, path, "admin").get_json()["reporter"]["phone"] == REPORTER_PHONE
    for caller in ("leader_city", "leader_w"):
        body = get(world, path, caller).get_json()
        assert body["reporter"] is None and REPORTER_PHONE not in str(body)
    # An officer of the ward's committee works in the same area, but the report belongs to the police.
    committee = auth_headers("officer", area_ids=[area_by_code(world.session, "T-W").id],
                             unit_ids=[unit_by_code(world.session, "T-W-UB").id])
    body = world.client().get(path, headers=committee).get_json()
    assert body["id"] == world.names["report_w"] and body["reporter"] is None

    fresh = world.new_report(WEST_INSIDE)
    handed = send(world, "POST", f"/api/reports/{fresh}/reassign", "officer_w",
                  json={"unit": "T-E-CA", "reason": "belongs to the east"})
    assert handed.status_code == 200 and handed.get_json()["reporter"] is None
    assert get(world, f"/api/reports/{fresh}", "officer_e").get_json()["reporter"]["phone"] == REPORTER_PHONE


def test_the_report_page_hides_the_contact_from_leaders(world):
    page = get(world, f"/reports/{world.names['report_w']}", "leader_w", headers={"Accept": "text/html"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and REPORTER_PHONE not in html and "Reporter Wname" not in html


def test_scoped_alerts(world):
    def alerts(caller):
        return {a["id"] for a in get(world, "/api/alerts", caller).get_json()["alerts"]}

    alert = world.names["alert_w"]
    assert alerts("admin") == alerts("officer_w") == alerts("leader_city") == alerts("leader_w") == {alert}
    assert alerts("officer_e") == set()


def test_a_device_writes_only_its_own_camera_and_gauge(world, auth_headers):
    now = datetime.now(UTC).isoformat()
    event = {"type": "fire", "confidence": 0.8, "at": now}
    assert send(world, "POST", "/api/cameras/CAM-W/events", "camera_w", json=event).status_code == 201
    assert send(world, "POST", "/api/cameras/CAM-E/heartbeat", "camera_w").status_code == 403
    assert send(world, "POST", "/api/cameras/CAM-E/events", "camera_w", json=event).status_code == 403

    def reading(code, minute):
        return {"hotspot": code, "at": f"2026-01-01T00:{minute:02d}:00+07:00", "level_cm": 15}

    assert send(world, "POST", "/api/hotspots/readings", "gauge_w",
                json={"readings": [reading("HS-W", 1)]}).status_code == 201
    # One reading of another gauge in the batch: all refused, nothing stored.
    mixed = send(world, "POST", "/api/hotspots/readings", "gauge_w",
                 json={"readings": [reading("HS-W", 2), reading("HS-E", 2)]})
    assert mixed.status_code == 403 and mixed.get_json()["error"]["details"]["index"] == 1
    world.session.rollback()
    assert world.session.scalar(select(HotspotReading.id).where(HotspotReading.at == datetime.fromisoformat(
        "2026-01-01T00:02:00+07:00"))) is None
    # A gauge integration (readings:write) feeds every gauge; a camera's token feeds none.
    integration = auth_headers("device", scopes=["readings:write"])
    both = world.client().post("/api/hotspots/readings", headers=integration,
                               json={"readings": [reading("HS-W", 3), reading("HS-E", 3)]})
    assert both.status_code == 201 and both.get_json()["stored"] == 2
    assert send(world, "POST", "/api/hotspots/readings", "camera_w",
                json={"readings": [reading("HS-W", 4)]}).status_code == 403


def test_an_officer_cannot_move_a_camera_out_of_their_scope(world):
    code = world.new_camera(WEST_INSIDE)
    moved = send(world, "PATCH", f"/api/cameras/{code}", "officer_w", json={"lon": EAST_INSIDE[0],
                                                                            "lat": EAST_INSIDE[1]})
    assert moved.status_code == 403
    world.session.expire_all()
    camera = world.session.scalar(select(Camera).where(Camera.code == code))
    assert world.session.scalar(text("SELECT ST_X(geom) FROM cameras WHERE id = :i"), {"i": camera.id}) < 107.6
    handed = send(world, "PATCH", f"/api/cameras/{code}", "officer_w", json={"owner_unit": "T-E-CA"})
    assert handed.status_code == 200  # still in the officer's area, so still theirs to manage


def test_a_camera_import_touches_only_the_importers_cameras(world):
    import io

    rows = (f"code,name,lon,lat,fov,stream_url\nCAM-W,Taken over,{WEST_INSIDE[0]},{WEST_INSIDE[1]},360,rtsp://evil/x\n"
            f"CAM-NEW,New one,{EAST_INSIDE[0]},{EAST_INSIDE[1]},360,\n")

    def post(caller):
        return send(world, "POST", "/api/cameras/import", caller,
                    data={"file": (io.BytesIO(rows.encode()), "cams.csv")}, content_type="multipart/form-data")

    refused = post("officer_e")  # the west camera is not theirs, even though the new one would be
    assert refused.status_code == 403 and refused.get_json()["error"]["details"]["rows"] == [
        {"row": 1, "code": "CAM-W"}]
    world.session.expire_all()
    assert world.session.scalar(select(Camera).where(Camera.code == "CAM-W")).name == "West camera"
    assert world.session.scalar(select(Camera).where(Camera.code == "CAM-NEW")) is None
    assert post("officer_w").status_code == 403  # the new one would stand in the east ward
    assert post("admin").status_code == 200


def test_stream_addresses_only_for_people_with_a_role(world):
    def stream(caller):
        return get(world, "/api/cameras/CAM-W", caller).get_json().get("stream_url")

    for caller in PEOPLE:
        assert stream(caller) == "rtsp://10.20.30.40/stream-w"
    for caller in ("anonymous", "camera_w", "gauge_w"):
        assert stream(caller) is None
    assert "rtsp" not in get(world, "/api/cameras.geojson", "admin").get_data(as_text=True)


def test_internal_layers_never_reach_shared_caches(world):
    tile = "/ogc/collections/{}/tiles/WebMercatorQuad/0/0/0"
    public = get(world, tile.format("lo-dat"), "anonymous")
    assert public.headers["Cache-Control"].startswith("public")
    internal = get(world, tile.format("tram-bom"), "planner")
    assert "private" in internal.headers["Cache-Control"] and "public" not in internal.headers["Cache-Control"]
    # Even revalidation with the right ETag gives nothing to the public.
    etag = internal.headers["ETag"]
    assert get(world, tile.format("tram-bom"), "anonymous", headers={"If-None-Match": etag}).status_code == 404
    # Whatever a signed-in caller is given stays in their browser: a report's photo, a report, a layer list.
    photo = get(world, f"/api/reports/{world.names['report_w']}/photos/{world.names['photo_w']}", "officer_w")
    assert photo.status_code == 200 and "private" in photo.headers["Cache-Control"]
    assert "public" not in photo.headers["Cache-Control"]
    assert get(world, "/api/reports", "officer_w").headers["Cache-Control"] == "private, no-store"
    assert "Cache-Control" not in get(world, "/api/layers", "anonymous").headers


def test_the_internal_gazetteer_stays_internal(world):
    """An address list built from an internal layer answers staff only, and never fills in a public report."""
    from reports.areas.gazetteer import build_gazetteer

    build_gazetteer(world.session, "tram-bom", ["ten"])
    world.commit()
    assert get(world, "/api/geocode?q=valve", "anonymous").get_json() == {"places": []}
    assert get(world, "/api/geocode?q=valve", "leader_w").get_json()["places"][0]["label"] == "INTERNAL-ATTR valve"
    filed = world.client().post("/api/reports", json={"category": "dien_chieu_sang", "description": "Light is out",
                                                      "lon": 107.585, "lat": 16.465})
    assert filed.status_code == 201
    world.session.expire_all()
    report = world.session.scalar(select(Report).where(Report.description == "Light is out"))
    assert report.address is None
