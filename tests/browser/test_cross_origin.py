"""A map client on another origin (a city portal, MapLibre) reads the public layers; pages riding on the session
cookie stay unreadable from there. In Debian's chromium, which enforces CORS as browsers do."""

from __future__ import annotations

import math
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.browser.conftest import DESKTOP

PORTAL = "<!doctype html><title>Cổng thông tin</title><p>portal</p>"


@pytest.fixture
def portal():
    """Another origin: localhost on its own port (the app is at 127.0.0.1)."""
    server = make_server("127.0.0.1", 0, lambda environ, start: Response(PORTAL, mimetype="text/html")(environ, start),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}/"
    server.shutdown()


FETCH = """async url => {
    try {
        const r = await fetch(url);
        const type = r.headers.get('Content-Type') || '';
        const body = type.includes('json') ? await r.json() : (await r.arrayBuffer()).byteLength;
        return {ok: r.ok, status: r.status, body, etag: r.headers.get('ETag')};
    } catch (e) {
        return {blocked: String(e)};
    }
}"""


def test_another_origin_reads_public_layers_but_not_pages(browser, live_server, portal):
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(portal)
        items = page.evaluate(FETCH, f"{live_server}/ogc/collections/diem-so-tan/items?limit=2")
        assert items.get("ok"), items
        assert len(items["body"]["features"]) == 2
        tileset = page.evaluate(FETCH, f"{live_server}/ogc/collections/quy-hoach-su-dung-dat/tiles/WebMercatorQuad")
        assert tileset.get("ok") and tileset["body"]["dataType"] == "vector", tileset
        tilejson = page.evaluate(FETCH, f"{live_server}/api/layers/quy-hoach-su-dung-dat/tiles.json")
        assert tilejson.get("ok"), tilejson
        z, lon, lat = tilejson["body"]["center"][2], *tilejson["body"]["center"][:2]
        n = 2**z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        tile = page.evaluate(FETCH, tilejson["body"]["tiles"][0].format(z=z, x=x, y=y))
        assert tile.get("ok") and tile["body"] > 0 and tile["etag"], tile  # the ETag is exposed for caching
        # The planner's page and the staff API ride on the session cookie: another origin cannot read them.
        for path in ("/maps/layers", "/api/reports"):
            denied = page.evaluate(FETCH, f"{live_server}{path}")
            assert "blocked" in denied, (path, denied)
    finally:
        context.close()
