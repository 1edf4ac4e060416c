"""The HTML pages through the test client: navigation per role, base map, languages, escaping, residents' pages.

What runs in the browser (maps drawing, clicks, drags) is in tests/browser.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from gisserver.accounts.users import create_user, grant
from gisserver.core.i18n import format_number, format_when
from gisserver.core.maps import tooltip_text
from layers.importing import ImportOptions, import_layer
from reports.areas.gazetteer import build_gazetteer
from reports.areas.service import area_by_code
from tests.reports.conftest import WEST_INSIDE, build_small_city
from tests.signing import sign_in


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, username: str) -> None:
    response, _secret = sign_in(client, username, next_url="/")
    assert response.status_code in (200, 302)


@pytest.fixture
def city(db):
    build_small_city(db)
    officer = create_user(db, "officer1", "correct horse battery", ["officer"])
    grant(db, officer, area_id=area_by_code(db, "T-E").id)
    create_user(db, "planner1", "correct horse battery", ["planner"])
    db.commit()
    return db


@pytest.fixture
def layers(city, tmp_path):
    """A small layer (GeoJSON on the page) with hostile text, and one over the GeoJSON limit (tiles)."""
    small = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [107.55, 16.42]},
        "properties": {"loai": "</script><script>alert(1)</script>", "so_nha": "12", "ten_duong": "Lê Lợi"}}]}
    (tmp_path / "small.geojson").write_text(json.dumps(small), encoding="utf-8")
    import_layer(city, tmp_path / "small.geojson", ImportOptions(
        name="nho", title="Lớp nhỏ", category="planning", group="Đồ án </script>",
        style={"stroke": "#ff0000", "by": "loai", "categories": {"</script><script>alert(2)</script>": "#00ff00"}}))
    big = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.5 + i * 1e-4, 16.45]},
         "properties": {"so": f"SO-{i:05d}"}} for i in range(1001)]}
    (tmp_path / "big.geojson").write_text(json.dumps(big), encoding="utf-8")
    import_layer(city, tmp_path / "big.geojson", ImportOptions(name="lon", title="Lớp lớn", category="flood"))
    build_gazetteer(city, "nho", ["so_nha", "ten_duong"])
    city.commit()
    return city


def test_start_page_and_navigation_follow_the_role(client, city):
    anonymous = client.get("/").get_data(as_text=True)
    for path in ("/maps/layers", "/flood", "/r", "/status"):
        assert f'href="{path}"' in anonymous
    assert 'href="/maps/reports"' not in anonymous and 'href="/login"' in anonymous
    _login(client, "officer1")
    officer = client.get("/").get_data(as_text=True)
    assert 'href="/maps/reports"' in officer
    assert 'href="/ogc"' not in officer  # the data catalogue is for planners
    nav = re.search(r'<nav class="nav".*?</nav>', client.get("/maps/reports").get_data(as_text=True), re.S).group(0)
    assert 'href="/maps/reports" aria-current="page"' in nav


def test_planner_map_sends_small_layers_by_url_big_ones_as_tiles_and_no_features(client, layers):
    html = client.get("/maps/layers").get_data(as_text=True)
    config = json.loads(re.search(r'<script id="planner-config" type="application/json">(.*?)</script>', html,
                                  re.S).group(1))
    assert config["layers"]["nho"]["kind"] == "geojson"
    assert config["layers"]["nho"]["data"].startswith("/ogc/collections/nho/items?")
    assert config["layers"]["lon"]["kind"] == "tiles"
    assert "/api/layers/lon/tiles/{z}/{x}/{y}.mvt" in html  # the XYZ form, for Leaflet
    assert "SO-00001" not in html  # no feature of either layer is in the page
    # The style's class names came from a file: shown as text in the legend, never a way out of a <script>.
    assert "<script>alert(2)</script>" not in html and "&lt;/script&gt;&lt;script&gt;alert(2)" in html
    assert html.count("</script>") == html.count("<script")
    data = client.get(config["layers"]["nho"]["data"]).get_json()
    assert data["features"][0]["properties"]["so_nha"] == "12"


def test_base_map_is_configurable_or_absent(database_url, tmp_path, layers):
    from gisserver.app import create_app

    plain = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "a", "TESTING": True})
    assert "L.tileLayer" not in plain.test_client().get("/maps/layers").get_data(as_text=True)
    tiled = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "b", "TESTING": True,
                        "BASEMAP_URL": "http://tiles.intranet/{z}/{x}/{y}.png", "BASEMAP_ATTRIBUTION": "Sở TN&MT"})
    html = tiled.test_client().get("/flood").get_data(as_text=True)
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in html and "L.tileLayer" in html
    for app in (plain, tiled):
        app.extensions["gisserver.db"].dispose()


def test_search_finds_addresses_and_areas(client, layers):
    places = client.get("/api/geocode?q=phuong tay&areas=true").get_json()["places"]
    area = next(p for p in places if p["kind"] == "area")
    assert area["label"] == "Phường Tây" and area["bbox"] == [107.5, 16.4, 107.6, 16.5]
    plain = client.get("/api/geocode?q=le loi").get_json()["places"]
    assert plain and all(p["kind"] == "address" for p in plain)


def test_dates_and_numbers_follow_the_language(app):
    moment = datetime(2026, 11, 24, 3, 5, tzinfo=UTC)
    with app.test_request_context("/?lang=vi"):
        assert format_when(moment) == "24/11/2026 10:05"
        assert format_when(moment.isoformat(), time=False) == "24/11/2026"
        # A calendar day: no time zone shift; two digits, as the browser's popups write it too (gis-common.js).
        assert format_when("2026-11-05", time=False) == "05/11/2026"
        assert format_number(1234.5, 1) == "1.234,5"
    with app.test_request_context("/?lang=en"):
        assert format_when(moment) == "11/24/2026 10:05"
        assert format_when("2026-11-05", time=False) == "11/05/2026"
        assert format_number(1234.5, 1) == "1,234.5"
        assert format_when(None) == ""


def test_tooltip_text_cannot_leave_folium_template_literal():
    text = tooltip_text("<img src=x onerror=alert(1)> `${alert(2)}` \\")
    assert "<" not in text and "${" not in text.replace("\\${", "")
    assert re.sub(r"\\.", "", text).count("`") == 0  # every backtick escaped


def test_status_page_for_an_unknown_code_keeps_the_form(client, city):
    response = client.get("/status/ABCDEFGHJ")
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không có phản ánh nào có mã tra cứu" in html and 'value="ABCDEFGHJ"' in html


def test_residents_choose_their_ward_and_read_refusals_in_their_language(client, city):
    html = client.get("/r").get_data(as_text=True)
    assert "Phường Tây" in html and "Phường Đông" in html
    response = client.get("/r?ward=T-E&kind=police")
    assert response.status_code == 302 and response.headers["Location"].endswith("/r/T-E/police")
    form = client.get("/r/T-E/committee").get_data(as_text=True)
    refused = client.post("/r/T-E/committee", data={"csrf_token": _csrf(form), "category": "dien_chieu_sang",
                                                     "description": "Đèn", "lon": "107.65", "lat": "16.45"})
    assert refused.status_code == 400 and "ít nhất 5 ký tự" in refused.get_data(as_text=True)
    outside = client.post("/r/T-E/committee", data={"csrf_token": _csrf(form), "category": "dien_chieu_sang",
                                                    "description": "Đèn đường hỏng", "lon": "108.5", "lat": "16.45"})
    assert "nằm ngoài thành phố" in outside.get_data(as_text=True)
    client.get("/lang/en")
    english = client.post("/r/T-E/committee", data={"csrf_token": _csrf(form), "category": "dien_chieu_sang",
                                                    "description": "x", "lon": "107.65", "lat": "16.45"})
    assert "at least 5 characters" in english.get_data(as_text=True)


def test_report_page_offers_only_the_actions_that_apply(client, city):
    from reports.intake.submit import ReportInput, submit_report

    report, _ = submit_report(city, ReportInput(category="dien_chieu_sang", description="Đèn đường hỏng",
                                                lon=107.65, lat=16.45, channel="phone"), staff=True)
    city.commit()
    _login(client, "officer1")
    html = client.get(f"/reports/{report.id}").get_data(as_text=True)
    actions = re.findall(r'<option value="(\w+)">', html)
    assert actions == ["acknowledge", "start", "resolve", "reject"]  # not "reopen": it is not resolved
    config = json.loads(re.search(r'<script id="report-config" type="application/json">(.*?)</script>', html,
                                  re.S).group(1))
    # Rejecting needs a reason; resolving and rejecting both need the answer the resident will read.
    assert set(config["needsNote"]) == {"resolve", "reject"} and config["answers"] == ["resolve", "reject"]
    assert "Kênh: Số điện thoại" in html  # the channel in the reader's language, not "channel phone"


def test_report_and_status_pages_name_the_group_with_its_ward(client, city):
    from reports.intake.submit import ReportInput, submit_report

    report, _ = submit_report(city, ReportInput(category="dien_chieu_sang", description="Đèn đường hỏng",
                                                lon=WEST_INSIDE[0], lat=WEST_INSIDE[1], channel="qr_web"))
    west_officer = create_user(city, "officer-west", "correct horse battery", ["officer"])
    grant(city, west_officer, area_id=area_by_code(city, "T-W").id)
    city.commit()
    assert "<dd>Tổ 1, Phường Tây</dd>" in client.get(f"/status/{report.tracking_code}").get_data(as_text=True)
    _login(client, "officer-west")
    html = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "<dd>Tổ 1, Phường Tây</dd>" in html
    # Without a base map, the ward's residential groups are drawn around the point.
    outlines = [json.dumps({"name": name})[1:-1] for name in ("Tổ 1", "Tổ 2")]  # as embedded in the map script
    assert all(outline in html for outline in outlines)
