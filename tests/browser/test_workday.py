"""A working day in chromium, as each kind of user has it (issue 22): the officer's queue, a phone call from another
ward, a flagged duplicate merged from the page; the resident's form and the answer on the status page; the planner's
readable map, measured and printed; the leader's labelled areas; keychains; the phone menu and the form's weight.

Every page is watched (see conftest): a console error, a dialog or a request leaving 127.0.0.1 fails the test.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select, text

from gisserver.accounts.models import User
from gisserver.accounts.users import issue_token
from reports.intake.submit import ReportInput, submit_report
from reports.workflow.models import Report
from tests.browser.helpers import click_at, map_config, point_in_area, screen_point, set_view
from tests.conftest import PUBLIC_URL

OFFICER_WARD = "HUE-01"
OTHER_WARD = "HUE-03"


def _report(session, lon, lat, description, category="moi_truong_rac_thai", **kwargs) -> Report:
    report, _ = submit_report(session, ReportInput(category=category, description=description, lon=lon, lat=lat,
                                                   channel="qr_web", **kwargs))
    session.commit()
    return report


def _jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), colour).save(out, "JPEG")
    return out.getvalue()


def test_officer_finds_by_code_merges_a_flagged_duplicate_and_takes_a_call_from_another_ward(browser_page, demo_db):
    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    main = _report(demo_db, lon + 0.0004, lat, "Rác đổ trộm cạnh cột điện số 12")
    twin = _report(demo_db, lon + 0.00045, lat, "Có người đổ rác ở chân cột điện")
    assert twin.possible_duplicate_of_id == main.id  # the intake flagged it
    page = browser_page.page
    browser_page.login("officer")

    # The queue: the code typed in the search box finds the report.
    browser_page.goto("/reports")
    page.fill("#queue-filter input[name=q]", twin.tracking_code.lower())
    with page.expect_navigation():
        page.press("#queue-filter input[name=q]", "Enter")
    assert page.locator("#queue-table a.code").all_inner_texts() == [twin.tracking_code]
    with page.expect_navigation():
        page.click(f"#queue-table a.code:text-is('{twin.tracking_code}')")

    # Its page names the likely duplicate, with a link and a one-click merge.
    assert page.get_attribute("#flagged-duplicate a.code", "href").endswith(f"/reports/{main.id}")
    with page.expect_navigation():
        page.click("#merge-flagged")
    assert page.url.endswith(f"/reports/{main.id}")
    history = page.inner_text("#history")
    assert f"Đã gộp các phản ánh trùng: {twin.tracking_code}" in history
    assert "Nguyễn Văn An" in history  # a person, not "user:officer"
    demo_db.expire_all()
    assert demo_db.get(Report, twin.id).merged_into_id == main.id

    # A call about a place in another ward: warned before sending, then the code to read back and the unit.
    other_lon, other_lat = point_in_area(demo_db, OTHER_WARD)
    browser_page.goto("/maps/reports")
    config = map_config(page, "officer-config")
    page.wait_for_selector("#report-count:not(:empty)")
    set_view(page, config["map"], other_lat, other_lon, 17)
    page.click("a.leaflet-draw-draw-marker")
    click_at(page, config["map"], other_lat, other_lon)
    form = page.wait_for_selector(".leaflet-popup-content form.popup-form")
    page.select_option(".popup-form select[name=category]", "cay_xanh")
    warning = page.wait_for_selector(".popup-form .elsewhere:not([hidden])")
    assert "ngoài địa bàn của bạn" in warning.inner_text() and "Phường" in warning.inner_text()
    page.fill(".popup-form textarea[name=description]", "Người gọi báo cây đổ chắn đường bên kia phường")
    form.eval_on_selector("button[type=submit]", "b => b.click()")
    assert "Đánh dấu ô này" in page.wait_for_selector(".popup-form .error-message:not(:empty)").inner_text()
    page.check(".popup-form input[name=confirm_elsewhere]")
    form.eval_on_selector("button[type=submit]", "b => b.click()")
    filed = page.wait_for_selector(".popup-report.filed")
    code = filed.query_selector(".big-code").inner_text().replace(" ", "")
    demo_db.expire_all()
    report = demo_db.scalar(select(Report).where(Report.tracking_code == code))
    assert report is not None and report.filed_by == "officer" and report.channel == "phone"
    assert report.unit.name in filed.query_selector(".filed-unit").inner_text()
    # Outside the officer's area, it stays in "reports I filed".
    browser_page.goto("/reports?mine=true&status=all")
    assert code in page.locator("#queue-table a.code").all_inner_texts()


def test_resident_sends_from_a_qr_code_and_reads_the_answer_with_the_fix_photo(phone_page, demo_db, demo_app, tmp_path):
    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    # The address nearest the ward, as the gazetteer has it, to type in; a report already open next to it.
    label, at_lon, at_lat = demo_db.execute(text(
        "SELECT label, ST_X(geom), ST_Y(geom) FROM gazetteer "
        "ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1"), {"lon": lon, "lat": lat}).one()
    earlier = _report(demo_db, at_lon + 0.0002, at_lat, "Rác ùn ứ nhiều ngày ở đầu kiệt")
    page = phone_page.page
    phone_page.goto(f"/r/{OFFICER_WARD}/ub")
    page.click("label.category-card:has(input[value=moi_truong_rac_thai])")
    page.fill("textarea[name=description]", "Rác thải ùn ứ ở đầu kiệt, bốc mùi")
    # The address, searched while typing: a pick moves the pin; open reports near it show before sending.
    page.fill("#address", ",".join(label.split(",")[:2]))
    page.wait_for_selector(f"#address-suggestions li[role=option]:text-is('{label}')").click()
    page.wait_for_function("() => document.getElementById('lat').value !== ''")
    page.wait_for_selector("#nearby:not([hidden]) li")
    assert earlier.tracking_code in page.get_attribute("#nearby li a", "href")
    # Photos: previewed, one taken out again.
    page.set_input_files("#photos", [{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((200, 40, 40))},
                                     {"name": "b.jpg", "mimeType": "image/jpeg", "buffer": _jpeg((40, 40, 200))}])
    assert page.locator("#photo-previews img").count() == 2
    page.click("#photo-previews li:first-child .remove")
    assert page.locator("#photo-previews img").count() == 1
    assert page.evaluate("document.getElementById('photos').files.length") == 1
    if page.is_visible("#other-ward"):  # an address across the ward's border: say where it goes
        page.click("#other-ward [data-choice=place]")
    with page.expect_navigation():
        page.click("#send")
    code = page.inner_text(".notice .code")

    # The officer closes it with an answer and a photo of the fix; the resident sees both.
    demo_db.expire_all()
    report = demo_db.scalar(select(Report).where(Report.tracking_code == code))
    assert len(report.description) > 0 and report.channel == "qr_web"
    # (Through the API, as the report's page does; an admin's token, wherever the address put the report.)
    admin = demo_db.scalar(select(User).where(User.username == "admin"))
    _, secret = issue_token(demo_db, "workday-test", user=admin)
    demo_db.commit()
    done = demo_app.test_client().post(
        f"/api/reports/{report.id}/transition", headers={"Authorization": f"Bearer {secret}"},
        content_type="multipart/form-data", data={"action": "resolve", "note": "Đã thu gom rác, khu vực đã sạch",
                                                  "photos": (io.BytesIO(_jpeg((30, 160, 60))), "sach.jpg")})
    assert done.status_code == 200, done.get_data(as_text=True)
    phone_page.goto(f"/status/{code}")
    answer = page.inner_text("#answer")
    assert "Đã thu gom rác, khu vực đã sạch" in answer
    fix = page.locator("#answer .photos.fix img")
    assert fix.count() == 1
    # The photo loads lazily: it comes once the resident scrolls to it.
    fix.scroll_into_view_if_needed()
    page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=fix.element_handle())
    assert page.evaluate("i => i.naturalWidth", fix.element_handle()) == 80
    assert "Rác thải ùn ứ ở đầu kiệt, bốc mùi" in page.inner_text(".status-card")
    assert page.locator(".timeline li").count() >= 2


def test_the_qr_form_is_light_on_a_first_visit_and_comes_from_the_cache_on_the_next(browser, live_server):
    # A context of its own: the watched ones intercept requests, which turns the browser's cache off.
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="vi-VN")
    page = context.new_page()
    elsewhere = []
    page.on("request", lambda r: r.url.startswith(live_server) or r.url.startswith("data:") or elsewhere.append(r.url))
    weight = """() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))
                  .reduce((sum, e) => sum + e.transferSize, 0)"""
    page.goto(f"{live_server}/r/{OFFICER_WARD}/ub", wait_until="networkidle")
    first = page.evaluate(weight)
    page.goto(f"{live_server}/r/{OFFICER_WARD}/ub", wait_until="networkidle")
    second = page.evaluate(weight)
    context.close()
    # Compressed, and only what the form uses (no Bootstrap, jQuery or icon fonts); then only the page itself.
    assert first < 250 * 1024 and second < 20 * 1024, (first, second)
    assert elsewhere == []


def test_planner_map_reads_labels_aliases_and_numbers_and_measures_and_prints(browser_page, demo_app, tmp_path):
    page = browser_page.page
    browser_page.goto("/maps/layers")
    config = map_config(page, "planner-config")
    # The catalog's defaults: the house numbers are off at first, the parcels on; headings as written.
    assert not page.is_checked(".layer-toggle[value='dia-chi']")
    assert page.is_checked(".layer-toggle[value='quy-hoach-su-dung-dat']")
    tree = page.inner_text(".layer-tree")
    assert "Phòng chống thiên tai" in tree and "Quy hoạch" in tree and "planning" not in tree
    assert "Đất ở tại đô thị" in tree  # the legend reads labels, not ODT alone
    # Popups write days as the pages do (gisserver.core.formats): two-digit day and month, the city's time.
    assert page.evaluate("GIS.formatDate('2026-12-04T03:05:00Z')") == "04/12/2026 10:05"
    # Up and down: the stack follows the list.
    before = dict(page.evaluate("window.plannerMap.stack()"))
    page.click(".layer-entry[data-layer='mang-luoi-giao-thong'] .layer-up")
    after = dict(page.evaluate("window.plannerMap.stack()"))
    roads = "mang-luoi-giao-thong"
    passed = [name for name in before if before[name] > before[roads] and after[name] < after[roads]]
    assert after[roads] > before[roads] and len(passed) == 1, (before, after)  # one place up, past one layer
    page.fill(".layer-entry[data-layer='quy-hoach-su-dung-dat'] .layer-opacity", "40")
    assert page.evaluate("m => window[m].getPane('layer-quy-hoach-su-dung-dat').style.opacity", config["map"]) == "0.4"

    # Identify: aliases, a year as a year, an area with its unit, a coded value with its label.
    parcel = demo_app.test_client().get("/ogc/collections/quy-hoach-su-dung-dat/items?limit=1&f=json").get_json()
    props = parcel["features"][0]["properties"]
    x = sum(c[0] for c in parcel["features"][0]["geometry"]["coordinates"][0][:4]) / 4
    y = sum(c[1] for c in parcel["features"][0]["geometry"]["coordinates"][0][:4]) / 4
    set_view(page, config["map"], y, x, 18)
    click_at(page, config["map"], y, x)
    page.wait_for_selector(".leaflet-popup-content .identify table.props")
    rows = dict(zip(page.locator(".identify table.props th").all_inner_texts(),
                    page.locator(".identify table.props td").all_inner_texts(), strict=False))
    assert rows["Năm hoàn thành"] == str(props["nam_hoan_thanh"])  # 2027, not 2.027
    assert rows["Diện tích"].endswith(" m²") and "nam_hoan_thanh" not in rows
    assert rows["Loại đất"].endswith(f"({props['loai_dat']})") and len(rows["Loại đất"]) > 8
    assert rows["Mật độ xây dựng"].endswith("%")
    page.keyboard.press("Escape")
    page.evaluate("m => window[m].closePopup()", config["map"])

    # Measure a distance: two clicks, the last one again to finish; the length in metres.
    page.click("#measure-distance")
    start = screen_point(page, config["map"], y, x)
    for dx in (-100, 100, 100):  # Leaflet.draw's cursor follows the pointer: move there, rest, then press
        page.mouse.move(start[0] + dx, start[1], steps=3)
        page.wait_for_timeout(100)
        page.mouse.move(start[0] + dx + 1, start[1] + 1)
        page.wait_for_timeout(100)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(300)
    result = page.wait_for_selector("#measure-result:not(:empty)").inner_text()
    assert re.fullmatch(r"Chiều dài: [\d.,]+ (m|km)", result), result

    # Print: the view with its legend, its scale and the day.
    page.click("#measure-clear")
    page.evaluate("window.plannerMap.fillPrintLegend()")
    page.emulate_media(media="print")
    pdf = PdfReader(io.BytesIO(page.pdf(format="A4", landscape=True, print_background=True)))
    printed = "\n".join(p.extract_text() for p in pdf.pages)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%d/%m/%Y")
    assert "Bản đồ quy hoạch" in printed and "Chú giải" in printed and "Đất ở tại đô thị" in printed
    assert today in printed and re.search(r"\d+ (m|km)", printed)
    assert len(pdf.pages) == 1


def test_leader_map_names_its_areas_and_the_phone_menu_reaches_every_page(phone_page):
    page = phone_page.page
    phone_page.login("leader")
    # Every page of the menu, reachable on a phone: behind the menu button, each within the screen.
    phone_page.goto("/")
    links = page.locator("#site-nav a")
    assert links.count() >= 5 and not links.first.is_visible()
    page.click(".menu-toggle")
    for i in range(links.count()):
        box = links.nth(i).bounding_box()
        assert links.nth(i).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= 390, links.nth(i)
    assert "Tra cứu phản ánh" in page.inner_text("#site-nav")
    # Area names on the map, no hovering needed; those too small for a label are listed beside it.
    for area in ("HUE", OFFICER_WARD):
        phone_page.goto(f"/maps/leader?area={area}")
        page.wait_for_function("a => document.querySelector('.leader-page .folium-map').dataset.area === a", arg=area)
        page.wait_for_selector(".leaflet-tooltip.area-label", state="attached")
        labels = page.locator(".leaflet-tooltip.area-label:not(.does-not-fit)").count()
        small = page.locator("#small-areas li").count()
        # Each part is named once: on the map where its name fits, in the list otherwise.
        assert labels + small == int(page.get_attribute(".leader-page .folium-map", "data-features")), area
    assert labels >= 2  # a ward's residential groups are large enough to carry their names on a phone


def test_keychain_page_previews_and_its_sheet_decodes_to_the_public_address(browser_page):
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/keychains")
    preview = page.inner_text("#keychain-preview")
    assert "Quét để phản ánh" in preview and f"{PUBLIC_URL.split('://')[1]}/r/{OFFICER_WARD}/ca" in preview
    href = page.get_attribute("#keychain-pdf", "href")
    pdf = page.request.get(browser_page.base + href)
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.body()))
    links = {r.text for image in reader.pages[0].images
             for r in zxingcpp.read_barcodes(image.image.convert("L"))}
    assert links == {f"{PUBLIC_URL}/r/{OFFICER_WARD}/ca", f"{PUBLIC_URL}/r/{OFFICER_WARD}/ub"}
    # Ten cards (the default), each with the call to action, eight to an A4 page.
    assert sum(page.extract_text().count("Quét để phản ánh") for page in reader.pages) == 10
