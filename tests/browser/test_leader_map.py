"""The leader map in chromium: city shaded by an indicator, drilled down two levels and back up by the breadcrumb."""

from __future__ import annotations

from sqlalchemy import select

from gisserver.demo.geography import CITY_CODE
from reports.areas.models import Area
from tests.browser.helpers import click_at, map_config, point_in_area


def _shown(page) -> tuple[str, int]:
    box = page.locator(".leader-page .folium-map")
    return box.get_attribute("data-area"), int(box.get_attribute("data-features") or 0)


def _wait_for_area(page, code: str) -> None:
    page.wait_for_function("code => document.querySelector('.leader-page .folium-map').dataset.area === code",
                           arg=code)
    page.wait_for_load_state("networkidle")
    # The map flies to the area's parts; a click computed before it lands would hit another place.
    map_var = map_config(page, "leader-config")["map"]
    page.wait_for_function("m => !window[m]._animatingZoom && !(window[m]._panAnim && window[m]._panAnim._inProgress)",
                           arg=map_var)


def test_leader_drills_down_city_ward_group_and_back(browser_page, demo_db):
    city = demo_db.scalar(select(Area).where(Area.code == CITY_CODE))
    ward = demo_db.scalars(select(Area).where(Area.parent_id == city.id, Area.valid_to.is_(None))
                           .order_by(Area.code)).first()
    group = demo_db.scalars(select(Area).where(Area.parent_id == ward.id, Area.valid_to.is_(None))
                            .order_by(Area.code)).first()
    wards = len(demo_db.scalars(select(Area.id).where(Area.parent_id == city.id, Area.valid_to.is_(None))).all())
    groups = len(demo_db.scalars(select(Area.id).where(Area.parent_id == ward.id, Area.valid_to.is_(None))).all())

    page = browser_page.page
    browser_page.login("leader")
    browser_page.goto("/leader")
    _wait_for_area(page, CITY_CODE)
    map_var = map_config(page, "leader-config")["map"]
    assert _shown(page) == (CITY_CODE, wards)
    # Shaded with a legend whose classes count every ward once.
    counts = page.locator("#leader-legend li .hint").all_inner_texts()
    assert counts and sum(int(c.strip("()")) for c in counts) <= wards
    assert page.locator("#leader-crumbs strong").inner_text() == city.name

    # Level 1: a ward, with the breadcrumb city > ward.
    lon, lat = point_in_area(demo_db, ward.code)
    click_at(page, map_var, lat, lon)
    _wait_for_area(page, ward.code)
    assert _shown(page) == (ward.code, groups)
    assert page.locator("#leader-crumbs a").all_inner_texts() == [city.name]
    assert page.locator("#leader-crumbs strong").inner_text() == ward.name
    assert "area=" + ward.code in page.url  # the view can be shared

    # Level 2: a residential group has no parts; its figures open beside the map, with a link to its summary.
    lon, lat = point_in_area(demo_db, group.code)
    click_at(page, map_var, lat, lon)
    page.wait_for_function("name => document.querySelector('#leader-info h3').textContent === name", arg=group.name)
    link = page.locator("#leader-info a.button-link")
    assert f"/summaries/{group.code}?" in link.get_attribute("href")
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").first.inner_text().startswith(group.name)
    page.go_back()

    # Back up by the breadcrumb.
    _wait_for_area(page, ward.code)
    page.locator("#leader-crumbs a", has_text=city.name).click()
    _wait_for_area(page, CITY_CODE)
    assert _shown(page) == (CITY_CODE, wards)


def test_ward_leader_cannot_climb_above_the_ward(browser_page, demo_db):
    page = browser_page.page
    browser_page.login("ward-leader")
    browser_page.goto("/leader")
    page.wait_for_function("() => document.querySelector('.leader-page .folium-map').dataset.area")
    code, features = _shown(page)
    own = demo_db.scalar(select(Area).where(Area.code == code))
    assert own.level == "ward" and features > 0
    assert page.locator("#leader-crumbs a").count() == 0  # nothing above the ward to go back to
    refused = page.request.get(browser_page.base + f"/api/summaries/{CITY_CODE}/map")
    assert refused.status == 404
