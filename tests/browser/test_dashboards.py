"""Dashboards in chromium: a leader lands on the city dashboard, builds one of their own (add panels, drag to
arrange, save), drills down from the city to a ward and to the records behind a figure, and puts a dashboard on
a wall screen that refreshes by itself."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text

from gisserver.demo.geography import CITY_CODE
from reports.areas.models import Area
from reports.dashboards.models import Dashboard
from reports.intake.submit import ReportInput, submit_report
from tests.browser.helpers import point_in_area

READY = "document.getElementById('dash-grid').dataset.state === 'ready'"


def _ready(page, panels: int | None = None):
    page.wait_for_function("() => " + READY)
    if panels is not None:
        page.wait_for_function(f"() => document.querySelectorAll('#dash-grid .dpanel').length === {panels}")


def _add(page, chart: str, indicator: str, **choices):
    page.click("#dash-add")
    page.select_option("#panel-form select[name=chart]", chart)
    page.select_option("#panel-form select[name=indicator]", indicator)
    for name, value in choices.items():
        page.select_option(f"#panel-form select[name={name}]", value)
    count = page.locator("#dash-grid .dpanel").count()
    page.click("#panel-ok")
    _ready(page, count + 1)


def test_leader_lands_on_the_city_dashboard_and_builds_their_own(browser_page, demo_db):
    page = browser_page.page
    city = demo_db.scalar(select(Dashboard).where(Dashboard.template.is_(False)).order_by(Dashboard.id))
    browser_page.login("leader")
    assert page.url.endswith(f"/dashboards/{city.id}")  # where a leader starts
    _ready(page, len(city.panels))
    assert page.locator("#dash-grid .dpanel-error").count() == 0
    assert page.locator("#dash-grid canvas").count() >= 4 and page.locator("#dash-grid .dmap path").count() > 10

    browser_page.goto("/dashboards")
    with page.expect_navigation():
        page.click("#dash-new")
    assert page.url.endswith("?edit=1")
    _ready(page, 0)
    page.fill("#dash-editbar input[name=title]", "Theo dõi quá hạn")
    _add(page, "number", "reports_overdue", width="3")
    _add(page, "ranking", "reports_on_time_rate", width="6", height="2")
    _add(page, "bar", "layer_count", layer="diem-so-tan", within="vung-nguy-co-ngap", width="6", height="2")
    assert page.locator("#panel-form select[name=dimension]").input_value() == "children"
    # Drag the ranking onto the number card: it moves first.
    order = page.locator("#dash-grid .dpanel").evaluate_all("els => els.map(e => e.dataset.chart)")
    assert order == ["number", "ranking", "bar"]
    page.drag_and_drop("#dash-grid .dpanel-ranking", "#dash-grid .dpanel-number")
    assert page.locator("#dash-grid .dpanel").evaluate_all("els => els.map(e => e.dataset.chart)") == [
        "ranking", "number", "bar"]
    page.click("#dash-save")
    page.wait_for_function("() => document.getElementById('dash-status').textContent.length > 0")
    saved = demo_db.scalar(select(Dashboard).where(Dashboard.title == "Theo dõi quá hạn"))
    assert [p["chart"] for p in saved.panels] == ["ranking", "number", "bar"]
    assert saved.panels[2]["indicators"] == [{"key": "layer_count", "layer": "diem-so-tan",
                                              "within": "vung-nguy-co-ngap"}]
    # Opened again (not editing): the same three panels, with figures.
    browser_page.goto(f"/dashboards/{saved.id}")
    _ready(page, 3)
    assert page.locator(".dpanel-number .dnum-value").inner_text().strip() != ""


def test_drill_down_from_the_city_to_a_ward_and_to_the_records(browser_page, demo_db, demo_app):
    page = browser_page.page
    city = demo_db.scalar(select(Dashboard).where(Dashboard.template.is_(False)).order_by(Dashboard.id))
    browser_page.login("leader")
    browser_page.goto(f"/dashboards/{city.id}")
    _ready(page, len(city.panels))
    assert page.locator("#dash-grid").get_attribute("data-area") == CITY_CODE
    # Click a ward in the table of the areas: the whole dashboard shows that ward, with a breadcrumb back up.
    drill = page.locator("#dash-grid .dpanel-table button.drill").first
    ward_code = drill.get_attribute("data-drill")
    ward = demo_db.scalar(select(Area).where(Area.code == ward_code))
    drill.click()
    page.wait_for_function(f"() => document.getElementById('dash-grid').dataset.area === '{ward_code}' && {READY}")
    assert f"area={ward_code}" in page.url
    assert page.locator("#dash-crumbs strong").inner_text() == ward.name
    received = page.locator(".dpanel[data-panel=received] .dnum-value")
    value = int(received.get_attribute("data-value"))
    period = page.evaluate("new URLSearchParams(location.search).get('last_days')")
    assert period in (None, "365")
    # The number is the summary's, and its link lists exactly those records.
    with page.expect_navigation():
        received.click()
    assert f"/summaries/{ward_code}/records" in page.url
    admin = demo_app.test_client()
    assert page.locator("main p.hint").first.inner_text().startswith(ward.name)
    total = page.evaluate("document.querySelectorAll('main table tbody tr').length")
    assert total == min(value, 50) or value == 0
    page.go_back()
    page.wait_for_function("() => " + READY)
    page.locator("#dash-crumbs a", has_text="Thành phố").click()
    page.wait_for_function(f"() => document.getElementById('dash-grid').dataset.area === '{CITY_CODE}' && {READY}")
    del admin


def test_wall_screen_shows_the_dashboard_large_and_refreshes_itself(browser, browser_page, demo_db):
    page = browser_page.page
    city = demo_db.scalar(select(Dashboard).where(Dashboard.template.is_(False)).order_by(Dashboard.id))
    browser_page.login("ward-leader")
    browser_page.goto(f"/dashboards/{city.id}")
    _ready(page, len(city.panels))
    ward = page.locator("#dash-grid").get_attribute("data-area")  # a shared city dashboard opens on their ward
    page.click("#dash-wall")
    page.select_option("#wall-form select[name=refresh]", "30")
    page.click("#wall-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('wall-url').value.includes('/wall#gsd_')")
    url = page.locator("#wall-url").input_value()

    # The screen: a fresh browser with no session, its clock under the test's control.
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN",
                                  timezone_id="Asia/Ho_Chi_Minh")
    try:
        screen = context.new_page()
        errors = []
        screen.on("pageerror", lambda e: errors.append(str(e)))
        screen.clock.install()
        screen.goto(url)
        screen.wait_for_url("**/wall")  # the token has left the address bar for a cookie
        assert "gsd_" not in screen.url
        screen.wait_for_function("() => document.getElementById('dash-grid').dataset.refreshes === '1'")
        assert screen.locator("#wall-area").inner_text() != "" and screen.locator(".dpanel").count() == len(
            city.panels)
        size = screen.evaluate("parseFloat(getComputedStyle(document.querySelector('.dnum-value')).fontSize)")
        assert size >= 48  # large type, read from across the room
        # Internal layers stay off the wall (the drainage panel), whatever its owner sees.
        assert screen.locator(".dpanel[data-panel=drainage].dpanel-error").count() == 1
        before = int(screen.locator(".dpanel[data-panel=received] .dnum-value").get_attribute("data-value"))
        # A report filed in the ward shows at the next refresh, without reloading the page.
        # (In the ward's last group, away from the spots where the map tests place their reports.)
        ward_id = demo_db.scalar(select(Area.id).where(Area.code == ward))
        group = demo_db.scalar(select(Area.code).where(Area.parent_id == ward_id).order_by(Area.code.desc()))
        lon, lat = point_in_area(demo_db, group)
        submit_report(demo_db, ReportInput("moi_truong_rac_thai", "Rác thải bên đường", lon, lat),
                      now=datetime.now(UTC))
        demo_db.commit()
        screen.clock.run_for(31_000)
        screen.wait_for_function("() => document.getElementById('dash-grid').dataset.refreshes === '2'")
        after = int(screen.locator(".dpanel[data-panel=received] .dnum-value").get_attribute("data-value"))
        assert after == before + 1
        assert errors == []
        screen.screenshot(path="/tmp/wall.png")
    finally:
        context.close()


def test_a_leader_asks_for_the_dashboard_by_mail_every_week(browser_page, demo_db):
    import os

    from gisserver.accounts.models import User
    from reports.dashboards.models import DashboardMail
    from reports.notifications.admin import save_profile

    page = browser_page.page
    city = demo_db.scalar(select(Dashboard).where(Dashboard.template.is_(False)).order_by(Dashboard.id))
    leader = demo_db.scalar(select(User.id).where(User.username == "leader"))
    browser_page.login("leader")
    browser_page.goto(f"/dashboards/{city.id}")
    _ready(page, len(city.panels))
    page.click("#dash-mail")
    page.wait_for_function("() => document.getElementById('mail-dialog').open")
    assert page.locator("#mail-to a").get_attribute("href") == "/me/notifications"  # no email yet: where to give it
    page.select_option("#mail-form select[name=weekday]", "1")
    page.click("#mail-save")
    page.wait_for_function("() => document.getElementById('mail-status').className === 'error-message'")
    browser_page.console_errors.clear()  # that refusal's 400, expected
    page.click("#mail-cancel")
    save_profile(demo_db, leader, {"email": "lanh-dao@example.vn"})
    demo_db.commit()
    try:
        page.click("#dash-mail")
        page.wait_for_function("() => document.getElementById('mail-to').textContent.includes('lanh-dao@')")
        page.select_option("#mail-form select[name=weekday]", "1")
        page.select_option("#mail-form select[name=hour]", "7")
        page.click("#mail-save")
        page.wait_for_function("() => !document.getElementById('mail-stop').hidden")
        assert "07:00" in page.inner_text("#mail-status")
        if os.environ.get("GISSERVER_TEST_SHOTS"):
            page.screenshot(path=f"{os.environ['GISSERVER_TEST_SHOTS']}/dashboard-mail.png")
        mail = demo_db.scalar(select(DashboardMail).where(DashboardMail.user_id == leader))
        assert (mail.dashboard_id, mail.weekday, mail.hour) == (city.id, 1, 7)
        page.click("#mail-stop")
        page.wait_for_function("() => document.getElementById('mail-stop').hidden")
        demo_db.expire_all()
        assert demo_db.scalar(select(DashboardMail).where(DashboardMail.user_id == leader)) is None
    finally:
        demo_db.rollback()
        demo_db.execute(text("DELETE FROM dashboard_mails WHERE user_id = :u"), {"u": leader})
        demo_db.execute(text("DELETE FROM notification_profiles WHERE user_id = :u"), {"u": leader})
        demo_db.commit()


def test_camera_and_hotspot_figures_open_their_records(browser_page, demo_db):
    import os

    page = browser_page.page
    browser_page.login("leader")
    shots = os.environ.get("GISSERVER_TEST_SHOTS")
    browser_page.goto(f"/dashboards/camera-records?area={CITY_CODE}")
    rows = page.locator("table.dash-records tbody tr").count()
    assert rows >= 10 and page.locator("tr.health-online, tr.health-offline, tr.health-maintenance").count() == rows
    if shots:
        page.screenshot(path=f"{shots}/camera-records.png")
    browser_page.goto(f"/dashboards/hotspot-records?area={CITY_CODE}&level=all")
    assert page.locator("table.dash-records tbody tr a").count() >= 1
    if shots:
        page.screenshot(path=f"{shots}/hotspot-records.png")
    with page.expect_navigation():
        page.locator("table.dash-records tbody tr a").first.click()
    assert "/flood/" in page.url
