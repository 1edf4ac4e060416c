"""Reporter privacy in every public output, and authentication on every write of reports/.

Both walk the application's URL map, so a route added later is checked without anyone remembering to.
"""

import io
import itertools
import re
from datetime import UTC, datetime

from PIL import Image
from sqlalchemy import select

from reports.cameras.hotspots import HotspotInput, add_hotspot
from reports.cameras.service import CameraInput, add_camera
from reports.workflow.models import Report
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE

NAME, PHONE, EMAIL = "Phạm Thị Kín Đáo", "0912 345 678", "kin.dao@example.vn"
SECRETS = (NAME, PHONE, PHONE.replace(" ", ""), EMAIL, "Kín Đáo")


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 90)).save(out, "JPEG")
    return out.getvalue()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def file_reports_from_every_channel(client, city, auth_headers):
    """The same private reporter through the JSON API, the QR form, Open311 and an officer's phone entry."""
    codes = []
    resp = client.post("/api/reports", data={
        "category": "moi_truong_rac_thai", "description": "Rác đổ trộm ven sông", "lon": str(WEST_INSIDE[0]),
        "lat": str(WEST_INSIDE[1]), "reporter_name": NAME, "reporter_phone": PHONE,
        "photos": [(io.BytesIO(photo()), "a.jpg")]}, content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    codes.append(resp.get_json()["tracking_code"])
    form = client.get("/r/T-W/police").get_data(as_text=True)
    resp = client.post("/r/T-W/police", data={"csrf_token": csrf(form), "category": "gay_roi",
                                              "description": "Đánh nhau ở chợ", "lon": "107.551", "lat": "16.421",
                                              "reporter_name": NAME, "reporter_phone": PHONE})
    assert resp.status_code == 302
    codes.append(resp.headers["Location"].rsplit("/", 1)[-1].split("?")[0])
    resp = client.post("/open311/v2/requests.json", data={
        "service_code": "dien_chieu_sang", "lat": str(EAST_INSIDE[1]), "long": str(EAST_INSIDE[0]),
        "description": "Đèn đường tắt", "first_name": "Phạm Thị", "last_name": "Kín Đáo", "phone": PHONE,
        "email": EMAIL})
    assert resp.status_code == 201
    codes.append(resp.get_json()[0]["service_request_id"])
    resp = client.post("/api/reports", json={
        "category": "trom_cap", "description": "Người dân gọi báo mất xe", "channel": "phone",
        "location": {"lon": EAST_INSIDE[0], "lat": EAST_INSIDE[1]}, "reporter": {"name": NAME, "phone": PHONE}},
        headers=auth_headers("officer"))
    assert resp.status_code == 201, resp.get_json()
    codes.append(resp.get_json()["tracking_code"])
    city.rollback()
    reports = {r.tracking_code: r for r in city.scalars(select(Report))}
    assert {reports[c].channel for c in codes} == {"api", "qr_web", "open311", "phone"}
    assert all(reports[c].reporter_phone for c in codes)  # stored, for officers
    return [reports[c] for c in codes]


def candidates(rule, reports, extra):
    """Values to try for each URL parameter of *rule*."""
    values = {
        "code": [r.tracking_code for r in reports] + ["T-W", "CAM-P", "NGAP-P"],
        "ward_code": ["T-W"], "kind": ["police", "committee"], "fmt": ["json", "xml", "png", "svg"],
        "report_id": [r.id for r in reports], "request_id": [r.tracking_code for r in reports],
        "photo_id": extra["photo_ids"], "alert_id": [1], "name": ["none"], "collection_id": ["none"],
        "feature_id": ["1"], "z": ["0"], "x": ["0"], "y": ["0"], "filename": ["js/flood.js"], "token": ["1.x"],
        "tile_matrix_set_id": ["WebMercatorQuad"], "tile_matrix": ["0"], "tile_row": ["0"], "tile_col": ["0"],
        "dashboard_id": [1], "display_id": [1], "fid": [1], "document_id": [1], "import_id": [1],
    }
    names = sorted(rule.arguments)
    if any(n not in values for n in names):
        return None
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values[n] for n in names))]


def test_reporter_data_never_leaves_in_a_public_output(app, client, city, auth_headers):
    add_camera(city, CameraInput("CAM-P", "Camera chợ", *WEST_INSIDE, fov=360, range_m=100))
    add_hotspot(city, HotspotInput("NGAP-P", "Điểm ngập chợ", *WEST_INSIDE, 10, 20, 30, ("CAM-P",)))
    city.commit()
    reports = file_reports_from_every_channel(client, city, auth_headers)
    from reports.workflow.models import ReportPhoto

    extra = {"photo_ids": list(city.scalars(select(ReportPhoto.id)))}
    anonymous = app.test_client()
    checked, public = [], []
    queries = {"/status": [f"?code={reports[0].tracking_code}", ""],
               "/open311/v2/requests.<fmt>": ["", "?status=open", f"?service_request_id={reports[2].tracking_code}"],
               "/api/geocode/reverse": [f"?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}"],
               "/api/cameras/seeing": [f"?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}"],
               "/api/areas/lookup": [f"?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}"]}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        combos = candidates(rule, reports, extra)
        assert combos is not None, f"no test values for {rule.rule}: extend candidates()"
        for args in combos:
            for query in queries.get(rule.rule, [""]):
                url = rule.rule
                for key, value in args.items():
                    url = re.sub(rf"<(?:[a-z]+:)?{key}>", str(value), url)
                resp = anonymous.get(url + query, follow_redirects=True)
                checked.append(url + query)
                body = resp.get_data()
                for secret in SECRETS:
                    assert secret.encode() not in body, (url + query, resp.status_code, secret)
                if resp.status_code == 200:
                    public.append(url + query)
    print(f"{len(checked)} public GETs read, {len(public)} answered 200")
    assert len(public) > 60
    # The outputs that do show these reports were among those read.
    for must in (f"/status/{reports[0].tracking_code}", f"/api/reports/{reports[1].tracking_code}/status",
                 f"/open311/v2/requests/{reports[2].tracking_code}.xml", "/open311/v2/requests.json",
                 "/open311/v2/requests.xml"):
        assert must in public, must
    listing = anonymous.get("/open311/v2/requests.json").get_data(as_text=True)
    # Every report is listed but those to the police, which are followed by id only.
    assert {r.tracking_code for r in reports if r.tracking_code in listing} == {
        r.tracking_code for r in reports if r.category.domain != "security_order"}
    # Staff map data is not public, and even there the reporter stays off the map.
    assert anonymous.get("/api/reports.geojson").status_code == 401
    staff_map = client.get("/api/reports.geojson", headers=auth_headers("admin")).get_data(as_text=True)
    assert all(r.tracking_code in staff_map for r in reports)
    assert not any(secret in staff_map for secret in SECRETS)


def test_error_messages_do_not_echo_reporter_data(client, city):
    cases = [
        {"category": "gay_roi", "description": "Đánh nhau", "lon": 108.9, "lat": 16.4,
         "reporter": {"name": NAME, "phone": PHONE}},
        {"category": "gay_roi", "description": "Đánh nhau", "lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1],
         "reporter": {"name": NAME, "phone": f"gọi {PHONE} nhé"}},
        {"category": "nope", "description": "Đánh nhau", "reporter": {"name": NAME, "phone": PHONE}},
        {"category": "gay_roi", "description": "Đánh nhau", "lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1],
         "reporter": {"name": NAME * 20, "phone": PHONE}},
    ]
    for body in cases:
        resp = client.post("/api/reports", json=body)
        assert resp.status_code == 400
        text = resp.get_data(as_text=True)
        assert not any(secret in text for secret in SECRETS), text
    resp = client.post("/open311/v2/requests.xml", data={"service_code": "gay_roi", "description": "x",
                                                         "phone": f"gọi {PHONE}", "first_name": NAME,
                                                         "lat": "16.42", "long": "107.55"})
    assert resp.status_code == 400 and not any(s.encode() in resp.data for s in SECRETS)


# Writes anyone may make: citizen intake (rate-limited), signing in and choosing a language.
PUBLIC_WRITES = {
    ("POST", "/api/reports"), ("POST", "/open311/v2/requests.<fmt>"), ("POST", "/r/<ward_code>/<kind>"),
    ("POST", "/login"), ("POST", "/logout"), ("POST", "/status/<code>/support"),
    ("POST", "/csp-report"),  # browsers' violation reports: logged, nothing stored
    # A resident's unsubscribe link: the token in the URL is the credential (tests/reports/notifications).
    ("POST", "/api/unsubscribe/<token>"), ("POST", "/n/unsubscribe/<token>"),
}


def test_every_write_needs_authentication(app, city):
    anonymous = app.test_client()
    writes = 0
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            if (method, rule.rule) in PUBLIC_WRITES:
                continue
            url = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: "1" if m.group(1).endswith("id") else "X", rule.rule)
            resp = anonymous.open(url, method=method, json={})
            if resp.status_code == 302:  # a page: off to the sign-in form
                assert "/login" in resp.headers["Location"], (method, rule.rule)
                continue
            assert resp.status_code in (401, 400), (method, rule.rule, resp.status_code)
            if resp.status_code == 400:  # only a CSRF refusal may come before the authentication check
                assert resp.get_json()["error"]["code"] == "csrf_failed", (method, rule.rule)
            bad_token = anonymous.open(url, method=method, json={}, headers={"Authorization": "Bearer gs_nope"})
            assert bad_token.status_code == 401, (method, rule.rule)
            writes += 1
    print(f"{writes} writes refused without authentication")
    assert writes >= 15
    city.rollback()
    assert city.scalar(select(Report.id)) is None


def test_png_and_webp_photos_are_accepted_and_stored_as_jpeg(client, city, app, auth_headers):
    for fmt in ("PNG", "WEBP"):
        out = io.BytesIO()
        Image.new("RGBA", (120, 80), (0, 0, 255, 128)).save(out, fmt)
        resp = client.post("/api/reports", data={
            "category": "moi_truong_rac_thai", "description": f"Ảnh {fmt}", "lon": "107.55", "lat": "16.42",
            "photos": [(io.BytesIO(out.getvalue()), f"x.{fmt.lower()}")]}, content_type="multipart/form-data")
        assert resp.status_code == 201, (fmt, resp.get_json())
    city.rollback()
    headers = auth_headers("admin")
    for report in city.scalars(select(Report)):
        (photo_,) = client.get(f"/api/reports/{report.id}", headers=headers).get_json()["photos"]
        data = client.get(photo_["url"], headers=headers).data
        assert Image.open(io.BytesIO(data)).format == "JPEG" and (photo_["width"], photo_["height"]) == (120, 80)


def test_duplicate_distance_and_window_are_configurable(database_url, tmp_path, city):
    from gisserver.app import create_app

    body = {"category": "moi_truong_rac_thai", "description": "Rác ùn ứ", "lon": 107.55, "lat": 16.42}
    for metres, hours, expected in ((100, 48, True), (20, 48, False), (100, 0, False)):
        app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                          "DUPLICATE_METRES": metres, "DUPLICATE_HOURS": hours,
                          "INTAKE_RATE_LIMIT": "1000 per minute"})
        client = app.test_client()
        first = client.post("/api/reports", json=body).get_json()["tracking_code"]
        second = client.post("/api/reports", json={**body, "lon": 107.5505}).get_json()["tracking_code"]  # ~53 m
        city.rollback()
        rows = {r.tracking_code: r for r in city.scalars(select(Report))}
        assert (rows[second].possible_duplicate_of_id == rows[first].id) is expected, (metres, hours)
        app.extensions["gisserver.db"].dispose()
        # Close the reports so the next round starts clean.
        for r in rows.values():
            r.status, r.closed_at = "resolved", datetime.now(UTC)
        city.commit()
