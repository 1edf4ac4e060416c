"""The live officer map in a real browser: a report filed from another session shows on the open map of the
ward's officer within seconds, without a reload; an officer of another ward hears nothing of it; an urgent AI
alert raises the banner."""

from __future__ import annotations

import requests
from sqlalchemy import select

from gisserver.accounts.demo import DEMO_PASSWORD
from gisserver.accounts.users import create_user, grant
from reports.areas.models import Area, Unit
from reports.cameras.alerts import EventInput, record_event, transition_alert
from reports.cameras.service import CameraInput, add_camera
from tests.browser.conftest import DESKTOP, _watch
from tests.browser.helpers import point_in_area

OFFICER_WARD = "HUE-01"
OTHER_WARD = "HUE-02"


def _other_officer(session) -> str:
    name = "officer-hue-02"
    if session.scalar(select(Unit.id).where(Unit.code == f"{OTHER_WARD}-CA")) is None:
        raise AssertionError("the demo city has no second ward")
    from gisserver.accounts.models import User

    if session.scalar(select(User.id).where(User.username == name)) is None:
        user = create_user(session, name, DEMO_PASSWORD, ["officer"])
        grant(session, user, area_id=session.scalar(select(Area.id).where(Area.code == OTHER_WARD)))
        for code in (f"{OTHER_WARD}-CA", f"{OTHER_WARD}-UB"):
            grant(session, user, unit_id=session.scalar(select(Unit.id).where(Unit.code == code)))
        session.commit()
    return name


def test_the_officer_map_shows_a_new_report_live_and_only_in_scope(browser, live_server, browser_page, demo_db,
                                                                    tmp_path):
    other_name = _other_officer(demo_db)
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    page.wait_for_function("() => window.gisLive && window.gisLive.open")

    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    other = _watch(context, live_server)
    other.login(other_name)
    other.goto("/maps/reports")
    other.page.wait_for_function("() => window.gisLive && window.gisLive.open")

    lon, lat = point_in_area(demo_db, OFFICER_WARD)
    resp = requests.post(f"{live_server}/api/reports", json={
        "category": "dien_chieu_sang", "description": "Đèn đường tắt cả đoạn (live)",
        "location": {"lon": lon + 0.0004, "lat": lat + 0.0004}}, timeout=10)
    assert resp.status_code == 201, resp.text
    code = resp.json()["tracking_code"]
    page.wait_for_function(f"() => window.officerMap.hasReport({code!r})", timeout=5_000)
    assert page.evaluate("window.gisLive.received") >= 1

    # The urgent alert: a fire seen by a camera of the ward raises the banner.
    camera = add_camera(demo_db, CameraInput(code="CAM-LIVE-FIRE", name="Chợ", lon=lon, lat=lat, fov=360,
                                             ai_capabilities=("fire",)))
    fire = record_event(demo_db, camera, EventInput(type="fire", confidence=0.93, at="2026-01-01T00:00:00Z")).alert
    demo_db.commit()
    try:
        page.wait_for_selector("#live-banner:not([hidden])", timeout=5_000)
        assert "Cháy" in page.locator("#live-banner").inner_text()
        page.screenshot(path=str(tmp_path / "live-banner.png"))
    finally:  # the other map tests count the ward's open alerts: leave none behind
        transition_alert(demo_db, fire, "resolve", actor="test")
        demo_db.commit()

    other.page.wait_for_timeout(1500)  # time enough for anything that would have come
    assert other.page.evaluate("window.gisLive.received") == 0
    assert not other.page.evaluate(f"window.officerMap.hasReport({code!r})")
    assert other.page.locator("#live-banner").is_hidden()
    context.close()
    other.assert_clean()
