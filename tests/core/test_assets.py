"""Static files by content-hashed names (cached for good), gzipped; pages gzipped; the city's name and logo."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from gisserver.app import create_app

STATIC = Path(__file__).resolve().parents[2] / "static"


def _hashed(html: str, name: str) -> str:
    stem, ext = name.rsplit(".", 1)
    found = re.search(rf'"(/static/{re.escape(stem)}\.[0-9a-f]{{10}}\.{ext})"', html)
    assert found, f"{name} is not linked by a hashed name"
    return found.group(1)


def test_assets_have_hashed_names_are_immutable_and_gzipped(client):
    html = client.get("/login").get_data(as_text=True)
    css = _hashed(html, "css/app.css")
    plain = client.get(css)
    assert plain.status_code == 200 and plain.data == (STATIC / "css/app.css").read_bytes()
    assert plain.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Encoding" not in plain.headers and plain.mimetype == "text/css"
    packed = client.get(css, headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data and len(packed.data) < len(plain.data) / 2
    # Asked again with its validator: nothing to send.
    again = client.get(css, headers={"If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    # The plain name (what stylesheets use for their images) and an old digest: served, but checked each time.
    assert client.get("/static/css/app.css").headers["Cache-Control"] == "no-cache"
    stale = client.get("/static/css/app.0123456789.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get("/static/css/nothing.0123456789.css").status_code == 404
    assert client.get("/static/../setup.cfg").status_code == 404
    # Images are not compressed again.
    png = client.get("/static/vendor/leaflet/dist/images/marker-icon.png", headers={"Accept-Encoding": "gzip"})
    assert png.status_code == 200 and "Content-Encoding" not in png.headers


def test_pages_are_gzipped_for_browsers_that_take_it(client):
    page = client.get("/r", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "<html" in gzip.decompress(page.data).decode()
    assert "Content-Encoding" not in client.get("/r").headers


def test_map_pages_load_leaflet_without_the_icon_libraries(client):
    html = client.get("/flood").get_data(as_text=True)
    assert re.search(r"/static/vendor/leaflet/dist/leaflet\.[0-9a-f]{10}\.js", html)
    for unused in ("jquery", "bootstrap", "fontawesome", "awesome-markers"):
        assert unused not in html, unused


def test_product_name_and_logo_come_from_the_settings(database_url, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"/>')
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "data", "TESTING": True,
                      "PRODUCT_NAME": "Huế-S", "PRODUCT_LOGO": str(logo)})
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    assert "<title>Đăng nhập · Huế-S</title>" in html and '<span>Huế-S</span>' in html
    assert 'src="/brand/logo"' in html and "gisserver" not in html
    answer = client.get("/brand/logo")
    assert answer.status_code == 200 and answer.mimetype == "image/svg+xml" and b"<svg" in answer.data
    app.extensions["gisserver.db"].dispose()


def test_without_settings_the_name_is_a_plain_one(client):
    html = client.get("/r").get_data(as_text=True)
    assert "Bản đồ và phản ánh đô thị" in html and "gisserver" not in html.split("<main")[0]
    assert client.get("/brand/logo").status_code == 302  # to the default icon
