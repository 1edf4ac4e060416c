"""Links and formats as OGC API - Features Part 1 asks (item 7), and CORS on the public reads only (item 8)."""

from urllib.parse import parse_qsl, urlparse

import geopandas as gpd
import pytest
from shapely.geometry import Point

from layers.importing import ImportOptions, import_layer

HTML = "text/html"


@pytest.fixture
def layers(db, tmp_path):
    # A layer with its own "id" attribute, as Vietnam's provinces have ("VN-26").
    wards = gpd.GeoDataFrame({"id": [f"P-{i:02d}" for i in range(12)], "ten": [f"Phường {i}" for i in range(12)]},
                             geometry=[Point(107.58 + i * 0.001, 16.46) for i in range(12)], crs=4326)
    wards.to_file(tmp_path / "phuong.geojson")
    import_layer(db, tmp_path / "phuong.geojson", ImportOptions(name="phuong", title="Phường"))
    pumps = gpd.GeoDataFrame({"ten": ["Trạm bơm kín"]}, geometry=[Point(107.5805, 16.4605)], crs=4326)
    pumps.to_file(tmp_path / "p.geojson")
    import_layer(db, tmp_path / "p.geojson", ImportOptions(name="tram-bom", visibility="internal"))
    db.commit()


def rel(body, name, mimetype=None) -> list[dict]:
    return [x for x in body["links"] if x["rel"] == name and (mimetype is None or x["type"] == mimetype)]


@pytest.mark.parametrize("path", ["/ogc/collections/phuong", "/ogc/collections/phuong/items",
                                  "/ogc/collections/phuong/items/3", "/ogc", "/ogc/collections"])
def test_json_answers_link_their_html_alternate(client, layers, path):
    body = client.get(path).get_json()
    (alternate,) = rel(body, "alternate", HTML)
    page = client.get(alternate["href"])
    assert page.status_code == 200 and page.mimetype == HTML
    assert path == "/ogc" or "Phường" in page.get_data(as_text=True)


def test_html_answers_are_html_or_406(client, layers):
    queryables = client.get("/ogc/collections/phuong/queryables?f=html")
    assert queryables.status_code == 200 and queryables.mimetype == HTML and "ten" in queryables.get_data(as_text=True)
    api = client.get("/ogc/api?f=html")
    assert api.status_code == 406 and "not available as html" in api.get_data(as_text=True)
    assert client.get("/ogc/api").mimetype == "application/vnd.oai.openapi+json"


@pytest.mark.parametrize("path", ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/phuong",
                                  "/ogc/collections/phuong/items", "/ogc/collections/phuong/items/1",
                                  "/ogc/collections/phuong/queryables", "/ogc/api", "/ogc/tileMatrixSets",
                                  "/ogc/collections/phuong/tiles"])
def test_xml_is_not_acceptable(client, layers, path):
    resp = client.get(path, headers={"Accept": "application/xml"})
    assert resp.status_code == 406, path
    assert resp.get_json()["error"]["message"]
    # A client that takes anything, or JSON, still gets JSON; a browser gets HTML where there is some.
    assert client.get(path, headers={"Accept": "application/xml, */*;q=0.1"}).status_code == 200
    browser = client.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 200


def test_items_page_has_one_id_column_a_map_and_clean_next_links(client, layers):
    page = client.get("/ogc/collections/phuong/items?f=html&limit=5")
    html = page.get_data(as_text=True)
    header = html.split("<thead>")[1].split("</thead>")[0]
    assert header.count(">id<") == 1 and "<th>#</th>" in header  # the layer's own id, and the feature number
    assert "P-00" in html and "L.map(" in html and '"type": "Point"' in html  # the page's features on a map
    (next_href,) = [part.split('"')[0] for part in html.split('rel="next" href="')[1:]]
    query = parse_qsl(urlparse(next_href.replace("&amp;", "&")).query)
    assert sorted(k for k, _ in query) == ["cursor", "f", "limit"]  # each parameter once
    second = client.get(next_href.replace("&amp;", "&")).get_data(as_text=True)
    assert "P-05" in second and "P-00" not in second
    for _ in range(3):  # following next links never piles parameters up
        nexts = [part.split('"')[0] for part in second.split('rel="next" href="')[1:]]
        if not nexts:
            break
        assert len(parse_qsl(urlparse(nexts[0].replace("&amp;", "&")).query)) == 3
        second = client.get(nexts[0].replace("&amp;", "&")).get_data(as_text=True)
    item = client.get("/ogc/collections/phuong/items/1?f=html").get_data(as_text=True)
    assert "L.map(" in item and "P-00" in item


PUBLIC_READS = ["/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/phuong",
                "/ogc/collections/phuong/items", "/ogc/collections/phuong/items/1",
                "/ogc/collections/phuong/queryables",
                "/ogc/tileMatrixSets", "/ogc/collections/phuong/tiles", "/ogc/collections/phuong/tiles/WebMercatorQuad",
                "/ogc/collections/phuong/tiles/WebMercatorQuad?f=tilejson",
                "/ogc/collections/phuong/tiles/WebMercatorQuad/10/464/818", "/api/layers/phuong/tiles.json",
                "/api/layers/phuong/tiles/10/818/464.mvt", "/api/layers", "/api/layers/phuong"]
ORIGIN = {"Origin": "https://cong-thong-tin.hue.gov.vn"}


@pytest.mark.parametrize("path", PUBLIC_READS)
def test_public_reads_are_open_to_other_origins(client, layers, path):
    resp = client.get(path, headers=ORIGIN)
    assert resp.status_code == 200, path
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in resp.headers
    assert "ETag" in resp.headers["Access-Control-Expose-Headers"]


def test_preflight_for_conditional_tile_requests(client, layers):
    resp = client.options("/ogc/collections/phuong/tiles/WebMercatorQuad/10/464/818", headers={
        **ORIGIN, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "if-none-match"})
    assert resp.status_code == 200
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert "If-None-Match" in resp.headers["Access-Control-Allow-Headers"]
    assert "Authorization" not in resp.headers["Access-Control-Allow-Headers"]


def test_no_cors_where_a_session_or_token_is_involved(client, layers, auth_headers):
    staff = auth_headers("planner")
    # What a signed-in caller gets may hold internal layers: never readable by another origin.
    for path in ("/ogc/collections", "/ogc/collections/tram-bom/items", "/api/layers"):
        resp = client.get(path, headers={**ORIGIN, **staff})
        assert resp.status_code == 200 and "Access-Control-Allow-Origin" not in resp.headers, path
    # Routes of the session-cookie pages and staff APIs never carry it, for anyone.
    for path in ("/api/reports", "/login", "/maps/layers", "/api/identify?lon=107.58&lat=16.46"):
        resp = client.get(path, headers=ORIGIN)
        assert "Access-Control-Allow-Origin" not in resp.headers, path
    # Nor do the layer writes, even in a preflight.
    resp = client.options("/api/layers/phuong", headers={**ORIGIN, "Access-Control-Request-Method": "DELETE"})
    assert "Access-Control-Allow-Origin" not in resp.headers
