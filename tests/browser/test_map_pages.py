"""The map pages in a real browser over the small demo city: planners, officers and residents.

Every page is watched (see conftest): a console error, a dialog or a request leaving 127.0.0.1 fails the test.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from shapely.geometry import shape
from sqlalchemy import select

from layers.importing import ImportOptions, import_layer
from reports.cameras.alerts import EventInput, record_event
from reports.cameras.hotspots import record_readings
from reports.cameras.service import CameraInput, add_camera
from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Report, ReportEvent
from tests.browser.helpers import (
    click_at,
    drag,
    map_config,
    metres_between,
    place_at,
    point_in_area,
    screen_point,
    set_view,
)

OFFICER_WARD = "HUE-01"  # the demo officer works this ward's police and committee queues
XSS_TEXT = "<img src=x onerror=alert(1)> ${alert(2)} `${alert(3)}` </script><script>alert(4)</script>"

DECODED_FEATURES = """cfg => {
    const out = {};
    for (const [name, e] of Object.entries(cfg.layers)) {
        const layer = window[e.var];
        if (!cfg.map || !window[cfg.map].hasLayer(layer)) { out[name] = null; continue; }
        out[name] = e.kind === "tiles"
            ? layer.getContainer ? layer.getContainer().querySelectorAll("path").length : 0
            : layer.getLayers().length;
    }
    return out;
}"""


def _report(session, lon, lat, description="Đèn đường không sáng cả đoạn", **kwargs) -> Report:
    report, _ = submit_report(session, ReportInput(category="dien_chieu_sang", description=description, lon=lon,
                                                   lat=lat, channel="phone", **kwargs), actor="test", staff=True)
    session.commit()
    return report


def _spot(session, dlon: float, dlat: float) -> tuple[float, float]:
    """A point of the officer's ward, moved a little so that each test's pins stand apart."""
    lon, lat = point_in_area(session, OFFICER_WARD)
    return lon + dlon, lat + dlat


def _wait_for_features(page, config_id: str, names: list[str]):
    """Wait until each named layer has features drawn; return the counts."""
    config = map_config(page, config_id)
    page.wait_for_function(f"cfg => {{ const c = ({DECODED_FEATURES})(cfg); return {json.dumps(names)}"
                           ".every(n => c[n] > 0); }", arg=config, timeout=20_000)
    return page.evaluate(DECODED_FEATURES, config)


# -- every page, as each kind of visitor ------------------------------------------------------------------

# Each visitor's pages, and what shows that a page is ready (its map drawn, its list filled).
PAGES = {
    "resident": [("/", "h1"), ("/maps/layers", ".layer-tree"), ("/flood", "#hotspot-list li"),
                 ("/status", "form.inline-form"), ("/r", "#choose-ward"),
                 (f"/r/{OFFICER_WARD}/committee", "#report-form .folium-map"),
                 (f"/r/{OFFICER_WARD}/police", "#report-form .folium-map")],
    "planner": [("/", ".cards"), ("/maps/layers", ".layer-tree")],
    "officer": [("/", ".cards"), ("/maps/reports", "#report-count:not(:empty)")],
    "ward-leader": [("/maps/reports", "#report-count:not(:empty)")],
}


@pytest.mark.parametrize("user", list(PAGES))
def test_pages_load_clean_on_desktop_and_phone(browser_page, phone_page, user):
    for watched in (browser_page, phone_page):
        if user != "resident":
            watched.login(user)
        for path, ready in PAGES[user]:
            watched.goto(path)
            watched.page.wait_for_selector(ready, state="attached")
            # Usable on a phone: nothing wider than the screen, the map (if any) has room.
            width = watched.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert width <= 1, f"{path} is {width}px wider than the screen"
            box = watched.page.evaluate("(() => { const m = document.querySelector('.folium-map'); "
                                        "return m ? [m.clientWidth, m.clientHeight] : null; })()")
            if box:
                assert box[0] >= 300 and box[1] >= 250, f"{path}: the map is {box}"
            watched.assert_clean()


def test_start_page_gives_each_role_its_pages(browser_page):
    page = browser_page.page
    browser_page.goto("/")
    resident = page.locator(".cards a").all_inner_texts()
    assert any("Bản đồ quy hoạch" in t for t in resident) and any("Gửi phản ánh" in t for t in resident)
    assert not any("Bản đồ phản ánh" in t for t in resident)
    browser_page.login("officer")
    browser_page.goto("/")
    page.click(".cards a[href='/maps/reports']")
    page.wait_for_selector("#report-count:not(:empty)")
    assert page.locator(".nav a[aria-current=page]").inner_text() == "Bản đồ phản ánh"


# -- planner map ----------------------------------------------------------------------------------------------

def test_planner_map_tiles_geojson_toggle_identify_and_shared_url(browser_page, demo_app):
    page = browser_page.page
    browser_page.goto("/maps/layers")
    config = map_config(page, "planner-config")
    kinds = {name: e["kind"] for name, e in config["layers"].items()}
    assert kinds["quy-hoach-su-dung-dat"] == "tiles" and kinds["dia-chi"] == "tiles"  # the big ones
    assert kinds["diem-so-tan"] == "geojson" and kinds["mang-luoi-giao-thong"] == "geojson"
    counts = _wait_for_features(page, "planner-config", ["quy-hoach-su-dung-dat", "diem-so-tan",
                                                         "mang-luoi-giao-thong", "vung-nguy-co-ngap"])
    assert counts["diem-so-tan"] == 80  # small layers arrive whole

    # Identify: click a land-use parcel; its attributes show in the popup.
    parcel = demo_app.test_client().get("/ogc/collections/quy-hoach-su-dung-dat/items?limit=1&f=json").get_json()
    feature = parcel["features"][0]
    # The page carries no features itself: they come as tiles and from the OGC API.
    assert feature["properties"]["ma_lo"] not in page.content()
    at = shape(feature["geometry"]).representative_point()
    set_view(page, config["map"], at.y, at.x, 18)
    click_at(page, config["map"], at.y, at.x)
    popup = page.wait_for_selector(".leaflet-popup-content .identify")
    assert "Quy hoạch sử dụng đất 2030" in popup.inner_text()
    cells = page.locator(".identify table.props td").all_inner_texts()
    assert any(c.endswith(f"({feature['properties']['loai_dat']})") for c in cells)  # its label, then the code

    # Switch the parcels off: gone from the map and from the URL; a reload of that URL keeps it all.
    page.uncheck(".layer-toggle[value='quy-hoach-su-dung-dat']")
    assert not page.evaluate("c => window[c.map].hasLayer(window[c.layers['quy-hoach-su-dung-dat'].var])", config)
    url = page.url
    assert "layers=" in url and "quy-hoach-su-dung-dat" not in url.split("layers=")[1]
    assert "map=18/" in url
    centre_js = "m => { const c = window[m].getCenter(); return [c.lng, c.lat]; }"
    before = page.evaluate(centre_js, config["map"])
    assert metres_between(before, (at.x, at.y)) < 50
    page.reload(wait_until="networkidle")
    config = map_config(page, "planner-config")  # Folium names the map anew on each page
    assert not page.is_checked(".layer-toggle[value='quy-hoach-su-dung-dat']")
    assert page.is_checked(".layer-toggle[value='diem-so-tan']")
    assert page.evaluate("m => window[m].getZoom()", config["map"]) == 18
    assert metres_between(page.evaluate(centre_js, config["map"]), before) < 1

    # The share button gives that link to copy.
    page.click("#share-view")
    assert page.input_value("#share-url") == page.url


def test_planner_search_flies_to_an_address_and_a_ward(browser_page):
    page = browser_page.page
    browser_page.goto("/maps/layers")
    config = map_config(page, "planner-config")
    page.fill("#place-search input[name=q]", "le loi")
    page.press("#place-search input[name=q]", "Enter")
    first = page.wait_for_selector("#search-results li a")
    label = first.inner_text()
    assert "Lê Lợi" in label
    first.click()
    page.wait_for_function("m => window[m].getZoom() === 18", arg=config["map"], timeout=10_000)
    page.wait_for_selector(".leaflet-marker-icon")
    page.fill("#place-search input[name=q]", "phu xuan")
    page.press("#place-search input[name=q]", "Enter")
    page.wait_for_selector("#search-results li a:text-is('Phường Phú Xuân')").click()
    page.wait_for_function("m => window[m].getZoom() < 18", arg=config["map"], timeout=10_000)


# -- officer map ---------------------------------------------------------------------------------------------

def test_officer_map_shows_reports_filters_cameras_and_alerts(browser_page, demo_db):
    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    _report(demo_db, lon, lat, "Cây đổ chắn đường")
    done = _report(demo_db, lon + 0.002, lat, "Đèn đường đã sửa xong")
    workflow.transition(demo_db, done, "resolve", actor="test", note="Đã thay bóng đèn")
    # A camera of the ward looking north-east, and a flood it has just seen.
    camera = add_camera(demo_db, CameraInput(code="TEST-CAM-1", name="Ngã tư thử", lon=lon - 0.002, lat=lat,
                                             direction=45, ai_capabilities=("flood",)))
    demo_db.flush()
    record_event(demo_db, camera, EventInput("flood", 0.93, datetime.now(UTC)))
    demo_db.commit()
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    config = map_config(page, "officer-config")
    page.wait_for_selector("#report-count:not(:empty)")
    shown = page.evaluate("c => window[c].getLayers().length", config["cluster"])
    assert shown >= 1
    assert page.locator(".report-pin, .report-cluster-icon").count() >= 1
    # Every report shown is open (the default filter), coloured by its status.
    statuses = page.evaluate("c => window[c].getLayers().map(m => m.options.status)", config["cluster"])
    assert set(statuses) <= {"new", "acknowledged", "in_progress"}
    # The alert is on the map; its popup names it in the page's language.
    page.wait_for_function("() => window.officerMap.alertCount() === 1")
    # Filters: everything ever, then one category, then nothing before the city existed.
    page.select_option("select[name=status]", "all")
    page.wait_for_function("([c, n]) => window[c].getLayers().length > n", arg=[config["cluster"], shown])
    page.select_option("select[name=category]", "dien_chieu_sang")
    page.wait_for_function("c => window[c].getLayers().every(m => m.feature.properties.category === "
                           "'dien_chieu_sang')", arg=config["cluster"])
    page.select_option("select[name=area]", OFFICER_WARD)
    page.fill("input[name=to]", "2001-01-01")
    page.dispatch_event("input[name=to]", "change")
    page.wait_for_function("c => window[c].getLayers().length === 0", arg=config["cluster"])
    # Cameras: their view cones appear once zoomed in on them, and go when zoomed out.
    set_view(page, config["map"], lat, lon - 0.002, 13)
    assert page.evaluate("window.officerMap.cameraCount()") == 0 and page.locator("#camera-hint").is_visible()
    set_view(page, config["map"], lat, lon - 0.002, 17)
    page.wait_for_function("() => window.officerMap.cameraCount() > 0")
    assert page.locator("#camera-hint").is_hidden()
    x, y = screen_point(page, config["map"], lat, lon - 0.002)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    page.wait_for_selector(".leaflet-popup-content:has-text('Ngập úng')")
    set_view(page, config["map"], lat, lon - 0.002, 14)
    page.wait_for_function("() => window.officerMap.cameraCount() === 0")


def test_officer_places_a_report_by_click_and_moves_it_by_drag(browser_page, demo_db):
    lon, lat = _spot(demo_db, 0.0012, 0)
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    config = map_config(page, "officer-config")
    page.wait_for_selector("#report-count:not(:empty)")
    set_view(page, config["map"], lat, lon, 18)

    # Place: the marker tool, a click, the form in the popup.
    page.click("a.leaflet-draw-draw-marker")
    x, y = screen_point(page, config["map"], lat, lon)
    clicked = place_at(page, config["map"], x, y)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    form = page.wait_for_selector(".leaflet-popup-content form.popup-form")
    page.select_option(".popup-form select[name=category]", "cay_xanh")
    page.fill(".popup-form textarea[name=description]", "Cành cây gãy đè lên dây điện")
    page.fill(".popup-form input[name=reporter_phone]", "0905123456")
    form.eval_on_selector("button[type=submit]", "b => b.click()")
    page.wait_for_selector(".leaflet-popup-content form.popup-form", state="detached")
    demo_db.rollback()
    report = demo_db.scalar(select(Report).where(Report.description == "Cành cây gãy đè lên dây điện"))
    assert report is not None and report.channel == "phone" and report.reporter_phone == "0905123456"
    saved = demo_db.scalar(select(Report.geom.ST_X()).where(Report.id == report.id)), \
        demo_db.scalar(select(Report.geom.ST_Y()).where(Report.id == report.id))
    assert metres_between(saved, (clicked[1], clicked[0])) < 2
    # The new report is on the map, draggable, where it was placed.
    pin = page.wait_for_selector(f".report-pin[title='{report.tracking_code}']")
    assert page.locator(".leaflet-marker-icon:not(.report-pin)").count() == 0  # the drawing marker is gone

    # Move: drag the pin 80 px right and 50 px down, confirm in the popup.
    box = pin.bounding_box()
    to_x, to_y = drag(page, box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, 80, 50)
    expected = place_at(page, config["map"], to_x, to_y)
    page.fill(".popup-form input[name=reason]", "đặt nhầm phía bên kia đường")
    page.click(".popup-form button[type=submit]")
    page.wait_for_selector(".leaflet-tooltip:has-text('Đã lưu vị trí')")
    demo_db.rollback()
    moved = demo_db.scalar(select(Report.geom.ST_X()).where(Report.id == report.id)), \
        demo_db.scalar(select(Report.geom.ST_Y()).where(Report.id == report.id))
    assert metres_between(moved, (expected[1], expected[0])) < 3
    assert metres_between(moved, saved) > 15
    event = demo_db.scalar(select(ReportEvent).where(ReportEvent.report_id == report.id,
                                                     ReportEvent.action == "move"))
    assert event is not None and event.note == "đặt nhầm phía bên kia đường"


def test_officer_form_refusal_is_shown_in_the_page_language(browser_page, demo_db):
    lon, lat = _spot(demo_db, 0, -0.0012)
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    config = map_config(page, "officer-config")
    page.wait_for_selector("#report-count:not(:empty)")
    set_view(page, config["map"], lat, lon, 18)
    page.click("a.leaflet-draw-draw-marker")
    click_at(page, config["map"], lat, lon)
    page.wait_for_selector(".popup-form")
    # Too short for the service (the browser's own minlength is bypassed to reach the API's check).
    page.eval_on_selector(".popup-form textarea", "t => { t.removeAttribute('minlength'); t.value = 'abc'; }")
    page.click(".popup-form button[type=submit]")
    page.wait_for_selector(".popup-form .error-message:has-text('ít nhất 5 ký tự')")
    # Cancelling removes the marker that was being placed.
    page.click(".popup-form button[name=cancel]")
    page.wait_for_selector(".popup-form", state="detached")
    assert page.locator(".leaflet-marker-icon:not(.report-pin):not(.report-cluster-icon)").count() == 0
    # The browser asked the API once and was refused; that 400 is the only console error.
    assert len(browser_page.console_errors) == 1 and "400" in browser_page.console_errors[0]
    browser_page.console_errors.clear()


def test_report_page_has_history_cameras_and_actions(browser_page, demo_db):
    lon, lat = _spot(demo_db, 0, 0.0012)
    report = _report(demo_db, lon, lat, "Nắp hố ga bị vỡ")
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto(f"/reports/{report.id}")
    assert page.inner_text("h1").endswith(report.tracking_code)
    assert page.locator(".folium-map").count() == 1
    assert page.locator(".timeline li").count() == 1
    page.select_option("#transition select[name=action]", "acknowledge")
    with page.expect_navigation():
        page.click("#transition button[type=submit]")
    assert page.locator(".timeline li").count() == 2
    assert "Đã xác nhận" in page.inner_text("dd.status")
    # Reject needs a reason: the form says so before the API does.
    page.select_option("#transition select[name=action]", "reject")
    assert page.is_visible("#note-needed")


# -- escaping -----------------------------------------------------------------------------------------------

def test_user_text_is_shown_never_run(browser_page, demo_db, tmp_path):
    lon, lat = _spot(demo_db, -0.0012, 0)
    report = _report(demo_db, lon, lat, XSS_TEXT, reporter_name="<b onmouseover=alert(5)>Lê</b> ${alert(6)}")
    # A layer whose title, group, attribute names and values and style classes were written to hurt.
    data = {"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon + 0.0005, lat + 0.0005]},
        "properties": {"ghi_chu": XSS_TEXT, "`${alert(7)}`": "<svg onload=alert(8)>", "loai": "</script>x"}}]}
    path = tmp_path / "xss.geojson"
    path.write_text(json.dumps(data), encoding="utf-8")
    import_layer(demo_db, path, ImportOptions(
        name="xss-test", title="Lớp </script><script>alert(9)</script>", category="other",
        group="<img src=x onerror=alert(10)>", style={"stroke": "#ff0000", "by": "loai",
                                                      "categories": {"</script>x": "#00ff00"}}))
    demo_db.commit()
    page = browser_page.page

    browser_page.goto("/maps/layers")
    config = map_config(page, "planner-config")
    assert "Lớp </script><script>alert(9)</script>" in page.inner_text(".layer-tree")
    assert "<img src=x onerror=alert(10)>" in page.inner_text(".layer-tree")
    _wait_for_features(page, "planner-config", ["xss-test"])
    set_view(page, config["map"], lat + 0.0005, lon + 0.0005, 19)
    click_at(page, config["map"], lat + 0.0005, lon + 0.0005)
    page.wait_for_selector(".identify table.props")
    cells = page.locator(".identify table.props td").all_inner_texts()
    headers = page.locator(".identify table.props th").all_inner_texts()
    assert XSS_TEXT in cells and "<svg onload=alert(8)>" in cells and "`${alert(7)}`" in headers

    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    config = map_config(page, "officer-config")
    page.wait_for_selector("#report-count:not(:empty)")
    set_view(page, config["map"], lat, lon, 19)
    page.click(f".report-pin[title='{report.tracking_code}']")
    assert page.inner_text(".popup-report p") == XSS_TEXT

    browser_page.goto(f"/reports/{report.id}")
    assert page.inner_text(".description") == XSS_TEXT
    assert "<b onmouseover=alert(5)>Lê</b> ${alert(6)}" in page.inner_text(".facts")
    page.hover(".description")
    page.wait_for_timeout(300)
    assert browser_page.dialogs == []
    assert page.evaluate("document.querySelectorAll('img[src=x], svg[onload], b[onmouseover]').length") == 0


# -- residents ---------------------------------------------------------------------------------------------

def test_resident_sends_a_report_from_the_phone(phone_page, demo_db):
    page = phone_page.page
    phone_page.goto("/r")
    page.select_option("select[name=ward]", OFFICER_WARD)
    with page.expect_navigation():
        page.click("#choose-ward button[type=submit]")
    assert page.url.endswith(f"/r/{OFFICER_WARD}/committee")
    map_var = page.get_attribute("script[data-map]", "data-map")
    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    page.locator(".folium-map").scroll_into_view_if_needed()
    set_view(page, map_var, lat, lon, 17)
    x, y = screen_point(page, map_var, lat, lon)
    page.mouse.click(x, y)  # a tap on the ward's map
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    tapped = float(page.input_value("#lon")), float(page.input_value("#lat"))
    assert metres_between(tapped, (lon, lat)) < 5
    page.click("label.category-card:has(input[value=moi_truong_rac_thai])")
    page.fill("textarea[name=description]", "Rác thải ùn ứ ở đầu kiệt")
    with page.expect_navigation():
        page.click("#report-form button[type=submit]")
    assert "/status/" in page.url and "sent=1" in page.url
    code = page.inner_text(".notice .code")
    demo_db.rollback()
    report = demo_db.scalar(select(Report).where(Report.tracking_code == code))
    assert report.channel == "qr_web" and report.description == "Rác thải ùn ứ ở đầu kiệt"
    assert report.category.code == "moi_truong_rac_thai"
    assert page.locator(".timeline li").count() == 1


def test_flood_map_refreshes_without_reloading(browser_page, demo_db):
    page = browser_page.page
    page.clock.install()
    browser_page.goto("/flood")
    page.wait_for_selector("#hotspot-list li")
    hotspots = page.evaluate("Object.keys(window.floodMap.markers)")
    assert len(hotspots) == 12
    page.evaluate("window.__stillHere = true")
    code = sorted(hotspots)[-1]
    record_readings(demo_db, [{"hotspot": code, "at": datetime.now(UTC).isoformat(), "level_cm": 1999}])
    demo_db.commit()
    page.clock.fast_forward(61_000)
    page.wait_for_function("c => window.floodMap.markers[c].options.status === 'danger'", arg=code)
    assert page.evaluate("window.__stillHere") is True  # the same page, not a reload
    assert page.evaluate("c => window.floodMap.markers[c].options.fillColor", code) == "#bd0026"
    assert "1.999" in page.inner_text("#hotspot-list li.level-danger")  # 1.999,0 cm in Vietnamese
    # Each hotspot links its own page, with the chart of its levels.
    page.clock.resume()
    with page.expect_navigation():
        page.click("#hotspot-list li.level-danger a.chart-link")
    assert page.url.endswith(f"/flood/{code}")
    page.wait_for_selector("#hotspot-chart")


# -- languages -----------------------------------------------------------------------------------------------

def test_language_choice_sticks_and_formats_follow(browser_page, demo_db):
    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    report, _ = submit_report(demo_db, ReportInput(category="tieng_on", description="Hát karaoke quá 22 giờ",
                                                   lon=lon, lat=lat, channel="qr_web"),
                              now=datetime(2026, 11, 24, 3, 30, tzinfo=UTC))
    demo_db.commit()
    page = browser_page.page
    browser_page.goto(f"/status/{report.tracking_code}")
    assert page.get_attribute("html", "lang") == "vi"
    assert "24/11/2026 10:30" in page.inner_text(".facts")  # 03:30 UTC is 10:30 in Hue
    with page.expect_navigation():
        page.click("a.lang")
    assert page.get_attribute("html", "lang") == "en"
    assert "11/24/2026 10:30" in page.inner_text(".facts")
    assert "Report status" in page.inner_text("h1")
    # Other pages, and a new visit, stay in English.
    browser_page.goto("/maps/layers")
    assert page.inner_text(".map-side h2") == "Layers"
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Zoom in"
    assert page.evaluate("GIS.formatNumber(1234.5, 1)") == "1,234.5"
    browser_page.goto("/")
    assert "Planning map" in page.inner_text(".nav")
    with page.expect_navigation():
        page.click("a.lang")
    assert page.get_attribute("html", "lang") == "vi"
    assert "Bản đồ quy hoạch" in page.inner_text(".nav")
    browser_page.goto("/flood")
    assert page.evaluate("GIS.formatNumber(1234.5, 1)") == "1.234,5"
    assert page.get_attribute(".leaflet-control-zoom-in", "title") == "Phóng to"
