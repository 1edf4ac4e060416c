"""What browser tests do to a Folium map: find it, move it, click or drag at a place, count what it draws."""

from __future__ import annotations

from sqlalchemy import text


def map_config(page, config_id: str) -> dict:
    """The page's JSON configuration (<script type="application/json" id=...>), as the page's JS reads it."""
    return page.evaluate("id => JSON.parse(document.getElementById(id).textContent)", config_id)


def set_view(page, map_var: str, lat: float, lon: float, zoom: int) -> None:
    page.wait_for_load_state("load")  # the page's own scripts have set their first view
    page.wait_for_function("m => !window[m]._animatingZoom", arg=map_var)  # and no zoom is still running
    page.evaluate("([m, lat, lon, z]) => { window[m].setView([lat, lon], z, {animate: false}); }",
                  [map_var, lat, lon, zoom])
    page.wait_for_load_state("networkidle")
    state = page.evaluate("m => [window[m].getZoom(), window[m].getSize(), document.readyState]", map_var)
    assert state[0] == zoom, state


def screen_point(page, map_var: str, lat: float, lon: float) -> tuple[float, float]:
    """Where a place is on the screen, in page pixels."""
    return tuple(page.evaluate(
        """([m, lat, lon]) => {
            const map = window[m], p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""", [map_var, lat, lon]))


def place_at(page, map_var: str, x: float, y: float) -> tuple[float, float]:
    """The (lat, lon) under a page pixel."""
    return tuple(page.evaluate(
        """([m, x, y]) => {
            const map = window[m], box = map.getContainer().getBoundingClientRect();
            const at = map.containerPointToLatLng([x - box.left, y - box.top]);
            return [at.lat, at.lng];
        }""", [map_var, x, y]))


def click_at(page, map_var: str, lat: float, lon: float) -> None:
    x, y = screen_point(page, map_var, lat, lon)
    page.mouse.move(x, y)
    page.mouse.click(x, y)


def drag(page, x: float, y: float, dx: float, dy: float) -> tuple[float, float]:
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=5)
    page.mouse.move(x + dx, y + dy, steps=5)
    page.mouse.up()
    return x + dx, y + dy


def point_in_area(session, code: str) -> tuple[float, float]:
    """(lon, lat) of a point surely inside an area."""
    row = session.execute(text("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM areas "
                               "WHERE code = :code) s"), {"code": code}).one()
    return row[0], row[1]


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance between two (lon, lat) points, close enough for checking a click landed where it should."""
    import math

    dx = (a[0] - b[0]) * 111_320 * math.cos(math.radians(a[1]))
    dy = (a[1] - b[1]) * 110_540
    return math.hypot(dx, dy)
