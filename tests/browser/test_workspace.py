"""The planners' workspace in a real browser: upload a file and publish it, edit a polygon and an attribute (with
the validity check, undo and saving), and compare a layer at two dates side by side."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

import geopandas as gpd
from shapely.geometry import Polygon, box
from sqlalchemy import select, text

from layers.catalog import data_table, get_layer
from layers.crs import SERVED_CRS
from layers.editing import Edit, change_feature, create_feature
from layers.importing import ImportOptions, import_layer
from layers.models import Layer, LayerChange

PAGE_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")  # the browser contexts' time zone (tests/browser/conftest.py)
CENTRE = (107.585, 16.463)


def _square(dx: float, size: float = 0.002) -> Polygon:
    x, y = CENTRE[0] + dx, CENTRE[1]
    return box(x, y, x + size, y + size)


def _layer(session, tmp_path, name: str, geometries, names) -> Layer:
    path = tmp_path / f"{name}.geojson"
    gpd.GeoDataFrame({"ten": names}, geometry=geometries, crs=4326).to_file(path)
    import_layer(session, path, ImportOptions(name=name, title=f"Thử {name}", category="planning",
                                              actor="user:planner"))
    session.commit()
    return get_layer(session, name, include_internal=True)


def _screen(page, map_id: str, lon: float, lat: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        """([id, lat, lon]) => {
            const m = WS.maps[id], p = m.latLngToContainerPoint([lat, lon]);
            const box = m.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""", [map_id, lat, lon]))


def test_upload_then_publish(browser_page, demo_db, tmp_path):
    page = browser_page.page
    browser_page.login("planner")
    frame = gpd.GeoDataFrame(
        {"ten_lo": ["Lô A", "Lô B", "Lô C"], "tang": [3, 5, 2]},
        geometry=[_square(0.0), _square(0.004),
                  Polygon([(107.59, 16.46), (107.591, 16.461), (107.591, 16.46), (107.59, 16.461)])],  # a bow-tie
        crs=4326)
    source = tmp_path / "lo_moi.geojson"
    frame.to_file(source)
    browser_page.goto("/planning/upload")
    page.set_input_files("#file-input", str(source))
    page.wait_for_selector("#report:not([hidden])")
    assert page.text_content("#count-read") == "3" and page.text_content("#count-stored") == "3"
    assert page.text_content("#count-repaired") == "1"
    assert page.get_attribute("#upload-bar", "value") == "100"
    assert page.text_content("#import-text").strip() and page.get_attribute("#import-text", "data-step") == "ready"
    assert page.locator("#preview tbody tr").count() == 3
    assert page.input_value("#publish-form [name=name]") == "lo-moi"  # proposed from the file name
    page.fill("#publish-form [name=name]", "lo-moi-tai-len")
    page.fill("#publish-form [name=title]", "Lô mới tải lên")
    with page.expect_navigation():
        page.click("#publish")
    assert page.url.endswith("/planning/layers/lo-moi-tai-len")
    page.wait_for_selector("#attribute-table tbody tr")
    assert page.locator("#attribute-table tbody tr").count() == 3
    layer = demo_db.scalar(select(Layer).where(Layer.name == "lo-moi-tai-len"))
    assert layer.feature_count == 3 and layer.title == "Lô mới tải lên" and layer.created_by == "user:planner"


def test_edit_a_polygon_and_an_attribute(browser_page, demo_db, tmp_path):
    page = browser_page.page
    layer = _layer(demo_db, tmp_path, "sua-thu", [_square(0.0)], ["Lô cũ"])
    original = demo_db.scalar(text(f"SELECT ST_AsText(geom) FROM layer_data.{layer.data_table} WHERE fid = 1"))
    browser_page.login("planner")
    browser_page.goto("/planning/layers/sua-thu/edit")
    page.wait_for_function("() => WS.maps['edit-map'] && document.querySelector('#edit-map canvas')")
    page.wait_for_load_state("networkidle")
    x0, y0 = CENTRE[0], CENTRE[1]
    # Select the square, then drag its north-east corner outwards.
    page.mouse.click(*_screen(page, "edit-map", x0 + 0.001, y0 + 0.001))
    page.wait_for_selector("#feature-form:not([hidden])")
    assert page.input_value("[name='attr:ten']") == "Lô cũ"
    corner = _screen(page, "edit-map", x0 + 0.002, y0 + 0.002)
    moved = _screen(page, "edit-map", x0 + 0.0026, y0 + 0.0026)
    page.mouse.move(*corner)
    page.mouse.down()
    page.mouse.move(*moved, steps=6)
    page.mouse.up()
    page.wait_for_selector("#validity.valid")
    # Dragging the same corner across the square makes a bow-tie: PostGIS says why, before any save; undo mends it.
    across = _screen(page, "edit-map", x0 + 0.0005, y0 - 0.001)
    page.mouse.move(*moved)
    page.mouse.down()
    page.mouse.move(*across, steps=8)
    page.mouse.up()
    page.wait_for_selector("#validity.invalid")
    assert "Self-intersection" in page.text_content("#validity")
    page.click("#undo")
    page.wait_for_selector("#validity.valid")
    page.fill("[name='attr:ten']", "Lô đã sửa")
    page.fill("#feature-form [name=comment]", "mở rộng theo đo đạc")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('edit-done').textContent.length > 0")
    assert not page.text_content("#edit-error")
    demo_db.expire_all()
    layer = get_layer(demo_db, "sua-thu")
    table = data_table(layer)
    row = demo_db.execute(select(table.c.a0, text("ST_AsText(geom)")).where(table.c.fid == 1)).one()
    assert row[0] == "Lô đã sửa" and row[1] != original
    area = demo_db.scalar(text(f"SELECT ST_Area(geom::geography) FROM layer_data.{layer.data_table} WHERE fid = 1"))
    assert area > 1.1 * 213 * 222  # the square grew to the north-east
    change = demo_db.scalar(select(LayerChange).where(LayerChange.layer_id == layer.id, LayerChange.kind == "update"))
    assert change.actor == "user:planner" and change.comment == "mở rộng theo đo đạc" and change.fid == 1
    # Undo after saving is a new version that brings the old one back.
    page.click("#undo")
    page.wait_for_function("() => document.getElementById('edit-done').textContent === "
                           "document.querySelector('script[src*=\"/edit.\"]').dataset.undone")
    assert page.text_content("#undo-count") == ""
    demo_db.expire_all()
    back = demo_db.execute(select(table.c.a0, text("ST_AsText(geom)")).where(table.c.fid == 1)).one()
    assert back[0] == "Lô cũ" and back[1] == original


def test_an_edit_of_a_version_someone_changed_meanwhile_is_refused_not_lost(browser_page, demo_db, tmp_path):
    """The editor names the version it shows (If-Match): another planner's change in between is kept, the page says
    so and reloads the feature, and the second save (of the reloaded version) goes through."""
    page = browser_page.page
    layer = _layer(demo_db, tmp_path, "tranh-chap", [_square(0.0)], ["Lô gốc"])
    browser_page.login("planner")
    browser_page.goto("/planning/layers/tranh-chap/edit")
    page.wait_for_function("() => WS.maps['edit-map'] && document.querySelector('#edit-map canvas')")
    page.wait_for_load_state("networkidle")
    page.mouse.click(*_screen(page, "edit-map", CENTRE[0] + 0.001, CENTRE[1] + 0.001))
    page.wait_for_selector("#feature-form:not([hidden])")
    page.wait_for_load_state("networkidle")  # the feature's version (its ETag) is read
    # Another planner renames the parcel meanwhile.
    change_feature(demo_db, layer, "1", Edit(properties={"ten": "Lô của người khác"}), actor="user:other",
                   comment="", crs=SERVED_CRS["http://www.opengis.net/def/crs/OGC/1.3/CRS84"], if_match=None,
                   partial=True)
    demo_db.commit()
    page.fill("[name='attr:ten']", "Lô của tôi")
    page.click("#save")
    stale = page.evaluate("() => document.querySelector('script[src*=\"/edit.\"]').dataset.stale")
    page.wait_for_function("(text) => document.getElementById('edit-error').textContent === text", arg=stale)
    page.wait_for_function("() => document.querySelector(\"[name='attr:ten']\").value === 'Lô của người khác'")
    page.screenshot(path=str(tmp_path / "stale-edit.png"))
    # The refused save is the one error the browser logs.
    assert len(browser_page.console_errors) == 1 and "412" in browser_page.console_errors[0]
    browser_page.console_errors.clear()
    table = data_table(layer)
    demo_db.expire_all()
    assert demo_db.scalar(select(table.c.a0).where(table.c.fid == 1)) == "Lô của người khác"
    page.wait_for_load_state("networkidle")
    page.fill("[name='attr:ten']", "Lô của tôi")
    page.click("#save")
    page.wait_for_function("() => document.getElementById('edit-done').textContent.length > 0")
    demo_db.expire_all()
    assert demo_db.scalar(select(table.c.a0).where(table.c.fid == 1)) == "Lô của tôi"


def test_compare_two_dates(browser_page, demo_db, tmp_path):
    page = browser_page.page
    layer = _layer(demo_db, tmp_path, "so-sanh", [_square(0.0)], ["Lô một"])
    imported = demo_db.scalar(select(LayerChange.at).where(LayerChange.layer_id == layer.id))
    time.sleep(1.2)  # the page's date inputs count whole seconds
    geometry = json.loads(gpd.GeoSeries([_square(0.003)]).to_json())["features"][0]["geometry"]
    create_feature(demo_db, layer, Edit(geometry=geometry, properties={"ten": "Lô hai"}), actor="user:planner",
                   comment="", crs=SERVED_CRS["http://www.opengis.net/def/crs/OGC/1.3/CRS84"])
    demo_db.commit()
    browser_page.login("planner")
    browser_page.goto("/planning/layers/so-sanh")
    first = (imported + timedelta(seconds=1)).astimezone(PAGE_ZONE).strftime("%Y-%m-%dT%H:%M:%S")
    page.fill("#compare-form [name=a]", first)
    page.click("#compare-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('compare-a-caption').dataset.count !== undefined && "
                           "document.getElementById('compare-b-caption').dataset.count !== undefined")
    assert page.get_attribute("#compare-a-caption", "data-count") == "1"
    assert page.get_attribute("#compare-b-caption", "data-count") == "2"
    # The two maps move together.
    page.evaluate("() => WS.maps['compare-a'].setView([16.47, 107.59], 16, {animate: false})")
    centre = page.evaluate("() => { const c = WS.maps['compare-b'].getCenter(); return [c.lat, c.lng, "
                           "WS.maps['compare-b'].getZoom()]; }")
    assert abs(centre[0] - 16.47) < 1e-6 and abs(centre[1] - 107.59) < 1e-6 and centre[2] == 16


def test_officer_map_shows_the_citys_own_streets(browser_page, demo_db):
    """No external base map is configured: the officer's map draws the demo city's streets and river from its own
    base map layers, under everything else."""
    page = browser_page.page
    assert sorted(demo_db.scalars(select(Layer.name).where(Layer.basemap.is_(True)))) == [
        "duong-noi-bo", "mang-luoi-giao-thong", "song-ngoi"]
    browser_page.login("officer")
    browser_page.goto("/maps/reports")
    page.wait_for_selector("#report-count:not(:empty)")
    page.wait_for_function("() => document.querySelectorAll('.leaflet-citybase-pane path').length > 20",
                           timeout=20_000)
    pane = page.evaluate("() => { const p = document.querySelector('.leaflet-citybase-pane'); "
                         "return [getComputedStyle(p).zIndex, p.querySelectorAll('path').length]; }")
    assert pane[0] == "120" and pane[1] > 20
