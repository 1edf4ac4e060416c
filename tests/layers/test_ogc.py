"""OGC API - Features, filters, tiles and identify, through HTTP and through real clients (GDAL, OWSLib)."""

import io
import json
import subprocess
import threading

import geopandas as gpd
import mapbox_vector_tile
import pytest
from shapely.geometry import Point, box
from werkzeug.serving import make_server

from layers.importing import ImportOptions, import_layer

# Tile 10/818/464 covers the whole test layer (lon 107.58-107.59, lat 16.46-16.47).
TILE = "10/818/464"


@pytest.fixture
def layers(db, tmp_path):
    parcels = gpd.GeoDataFrame(
        {"ma_lo": [f"L{i:02d}" for i in range(25)],
         "loai_dat": ["ODT" if i % 3 else "CXX" for i in range(25)],
         "tang_cao": [i % 7 for i in range(25)],
         "ten": [None if i == 4 else f"Lô số {i}" for i in range(25)],
         "ngay_duyet": [f"2025-{1 + i % 12:02d}-15" for i in range(25)]},
        geometry=[box(107.58 + (i % 5) * 0.002, 16.46 + (i // 5) * 0.002, 107.5815 + (i % 5) * 0.002,
                      16.4615 + (i // 5) * 0.002) for i in range(25)],
        crs=4326,
    )
    parcels["ngay_duyet"] = gpd.pd.to_datetime(parcels["ngay_duyet"])
    path = tmp_path / "lo.gpkg"
    parcels.to_file(path, driver="GPKG")
    import_layer(db, path, ImportOptions(name="lo-dat", title="Lô đất", category="planning"))
    pumps = gpd.GeoDataFrame({"ten": ["Trạm bơm"]}, geometry=[Point(107.5805, 16.4605)], crs=4326)
    pumps.to_file(tmp_path / "p.geojson")
    import_layer(db, tmp_path / "p.geojson", ImportOptions(name="tram-bom", visibility="internal"))
    db.commit()
    return db


def items(client, query="", collection="lo-dat"):
    return client.get(f"/ogc/collections/{collection}/items{query}")


def codes(resp):
    return [f["properties"]["ma_lo"] for f in resp.get_json()["features"]]


def test_landing_conformance_collections(client, layers):
    landing = client.get("/ogc").get_json()
    assert {"self", "service-desc", "conformance", "data"} <= {link["rel"] for link in landing["links"]}
    conformance = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conformance
    assert client.get("/ogc/api").get_json()["openapi"].startswith("3.0")
    collections = client.get("/ogc/collections").get_json()["collections"]
    assert [c["id"] for c in collections] == ["lo-dat"]  # the internal layer is not public
    assert client.get("/ogc/collections/tram-bom").status_code == 404
    collection = client.get("/ogc/collections/lo-dat").get_json()
    assert collection["extent"]["spatial"]["bbox"][0][0] == pytest.approx(107.58)
    assert "Lô đất" in client.get("/ogc/collections?f=html").get_data(as_text=True)
    queryables = client.get("/ogc/collections/lo-dat/queryables").get_json()
    assert queryables["properties"]["tang_cao"]["type"] == "integer"


def test_items_paging_bbox_and_property_filters(client, layers):
    first = items(client, "?limit=10")
    body = first.get_json()
    assert first.mimetype == "application/geo+json"
    assert body["numberMatched"] == 25 and body["numberReturned"] == 10 and len(body["features"]) == 10
    rels = {link["rel"]: link["href"] for link in body["links"]}
    assert "next" in rels and "prev" not in rels
    second = client.get(rels["next"]).get_json()
    assert codes_from(second)[0] == "L10"
    assert "next" in {link["rel"] for link in second["links"]}  # a keyset cursor: no offset, so no prev
    last = items(client, "?limit=10&offset=20").get_json()
    assert last["numberReturned"] == 5 and "next" not in {link["rel"] for link in last["links"]}
    assert "offset=10" in next(link["href"] for link in last["links"] if link["rel"] == "prev")
    assert codes(items(client, "?bbox=107.5799,16.4599,107.5816,16.4616")) == ["L00"]
    assert codes(items(client, "?bbox=107.5799,16.4599,0,107.5816,16.4616,100")) == ["L00"]
    assert len(codes(items(client, "?loai_dat=CXX&limit=100"))) == 9
    assert codes(items(client, "?tang_cao=6&loai_dat=ODT")) == ["L13", "L20"]
    assert codes(items(client, "?datetime=2025-03-01/2025-03-31")) == ["L02", "L14"]
    feature = client.get("/ogc/collections/lo-dat/items/1").get_json()
    assert feature["properties"]["ten"] == "Lô số 0" and feature["geometry"]["type"] == "Polygon"


def codes_from(body):
    return [f["properties"]["ma_lo"] for f in body["features"]]


@pytest.mark.parametrize("query", [
    "?limit=0", "?limit=10001", "?limit=abc", "?offset=-1", "?bbox=1,2,3", "?bbox=a,b,c,d", "?bbox=0,95,1,96",
    "?nope=1", "?tang_cao=many", "?datetime=yesterday", "?filter=nope%20%3D%201", "?filter=tang_cao%20%3E",
    "?filter=x&filter-lang=sql", "?filter-crs=EPSG:2263&filter=tang_cao=1", "?f=xml",
    "?filter=ten%20%3E%205",
])
def test_bad_requests_are_400_with_a_reason(client, layers, query):
    resp = items(client, query)
    assert resp.status_code == 400, query
    assert resp.get_json()["error"]["message"]


def test_unknown_things_are_404(client, layers):
    assert client.get("/ogc/collections/nope/items").status_code == 404
    assert client.get("/ogc/collections/lo-dat/items/9999").status_code == 404
    assert client.get("/ogc/collections/lo-dat/items/abc").status_code == 404


CQL_TEXT = {
    "tang_cao = 6": ["L06", "L13", "L20"],
    "tang_cao <> 0 AND tang_cao < 2": ["L01", "L08", "L15", "L22"],
    "loai_dat = 'CXX' OR tang_cao >= 6": ["L00", "L03", "L06", "L09", "L12", "L13", "L15", "L18", "L20", "L21",
                                          "L24"],
    "NOT (tang_cao > 0)": ["L00", "L07", "L14", "L21"],
    "ma_lo LIKE 'L2%'": ["L20", "L21", "L22", "L23", "L24"],
    "ma_lo IN ('L01', 'L05')": ["L01", "L05"],
    "tang_cao BETWEEN 5 AND 6": ["L05", "L06", "L12", "L13", "L19", "L20"],
    "ten IS NULL": ["L04"],
    "S_INTERSECTS(geometry, POLYGON((107.5799 16.4599, 107.5816 16.4599, 107.5816 16.4616, 107.5799 16.4599)))":
        ["L00"],
}


@pytest.mark.parametrize(("expression", "expected"), CQL_TEXT.items())
def test_cql2_text(client, layers, expression, expected):
    resp = client.get("/ogc/collections/lo-dat/items", query_string={"filter": expression, "limit": 100})
    assert resp.status_code == 200, resp.get_json()
    assert codes(resp) == expected


def test_cql2_json(client, layers):
    expression = {"op": "and", "args": [
        {"op": "=", "args": [{"property": "loai_dat"}, "ODT"]},
        {"op": "between", "args": [{"property": "tang_cao"}, 5, 6]},
        {"op": "s_intersects", "args": [{"property": "geometry"},
                                        {"type": "Polygon", "coordinates": [[[107.57, 16.45], [107.6, 16.45],
                                                                             [107.6, 16.47], [107.57, 16.47],
                                                                             [107.57, 16.45]]]}]},
    ]}
    resp = client.get("/ogc/collections/lo-dat/items",
                      query_string={"filter": json.dumps(expression), "filter-lang": "cql2-json", "limit": 100})
    assert resp.status_code == 200, resp.get_json()
    assert codes(resp) == ["L05", "L13", "L19", "L20"]
    bad = client.get("/ogc/collections/lo-dat/items", query_string={"filter": "{", "filter-lang": "cql2-json"})
    assert bad.status_code == 400


@pytest.mark.parametrize(("url", "empty", "tilejson"), [
    # OGC API - Tiles: {tileMatrix}/{tileRow}/{tileCol}, that is z/y/x.
    ("/ogc/collections/lo-dat/tiles/WebMercatorQuad/{z}/{y}/{x}",
     "/ogc/collections/lo-dat/tiles/WebMercatorQuad/14/0/0",
     "/ogc/collections/lo-dat/tiles/WebMercatorQuad?f=tilejson"),
    # The XYZ form Leaflet asks for.
    ("/api/layers/lo-dat/tiles/{z}/{x}/{y}.mvt", "/api/layers/lo-dat/tiles/14/0/0.mvt",
     "/api/layers/lo-dat/tiles.json"),
])
def test_vector_tiles_etag_and_change(client, layers, auth_headers, tmp_path, url, empty, tilejson):
    z, x, y = TILE.split("/")
    tile_url = url.format(z=z, x=x, y=y)
    resp = client.get(tile_url)
    assert resp.status_code == 200 and resp.mimetype == "application/vnd.mapbox-vector-tile"
    decoded = mapbox_vector_tile.decode(resp.data)
    assert len(decoded["lo-dat"]["features"]) == 25
    assert decoded["lo-dat"]["features"][0]["properties"]["ma_lo"].startswith("L")
    etag = resp.headers["ETag"]
    assert client.get(tile_url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(empty).data == b""
    assert client.get(url.format(z=30, x=0, y=0)).status_code == 404
    assert client.get(url.format(z=2, x=9, y=0)).status_code == 404
    assert client.get(url.format(z=2, x=0, y=9)).status_code == 404
    assert client.get(url.format(z="a", x="b", y="c")).status_code == 400
    document = client.get(tilejson).get_json()
    assert document["tilejson"] == "3.0.0"
    assert document["tiles"][0].endswith("/{z}/{y}/{x}" if "/ogc/" in url else "/{z}/{x}/{y}.mvt")
    assert "tang_cao" in document["vector_layers"][0]["fields"]
    # New data: new ETag, new content, at once.
    replacement = tmp_path / "new.geojson"
    new = gpd.GeoDataFrame({"ma_lo": ["MOI"]}, geometry=[box(107.581, 16.461, 107.582, 16.462)], crs=4326)
    new.to_file(replacement)
    resp = client.put("/api/layers/lo-dat/data", data={"file": (io.BytesIO(replacement.read_bytes()), "new.geojson")},
                      headers=auth_headers("planner"), content_type="multipart/form-data")
    assert resp.status_code == 200
    changed = client.get(tile_url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert [f["properties"]["ma_lo"] for f in mapbox_vector_tile.decode(changed.data)["lo-dat"]["features"]] == ["MOI"]


def test_identify(client, layers, auth_headers):
    resp = client.get("/api/identify?lon=107.5807&lat=16.4607")
    assert resp.status_code == 200
    (hit,) = resp.get_json()["layers"]  # the internal pump station is not shown to the public
    assert hit["layer"] == "lo-dat" and hit["features"][0]["properties"]["ma_lo"] == "L00"
    staff = client.get("/api/identify?lon=107.5807&lat=16.4607&tolerance_m=50", headers=auth_headers("planner"))
    assert {h["layer"] for h in staff.get_json()["layers"]} == {"lo-dat", "tram-bom"}
    near = client.get("/api/identify?lon=107.58175&lat=16.4607&tolerance_m=30&layers=lo-dat").get_json()
    assert [f["properties"]["ma_lo"] for f in near["layers"][0]["features"]] == ["L00", "L01"]
    assert client.get("/api/identify?lon=107.58&lat=16.46&tolerance_m=5000").status_code == 400
    assert client.get("/api/identify?lon=nan&lat=16.46").status_code == 400
    assert client.get("/api/identify?lon=107.58&lat=16.46&layers=nope").status_code == 404


@pytest.fixture
def live_server(app, layers):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_gdal_oapif_client(live_server, tmp_path):
    info = subprocess.run(["ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc", "lo-dat"], capture_output=True,
                          text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    assert "Feature Count: 25" in info.stdout
    out = tmp_path / "copy.gpkg"
    copy = subprocess.run(["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server}/ogc", "lo-dat",
                           "-oo", "PAGE_SIZE=7"], capture_output=True, text=True, timeout=60)
    assert copy.returncode == 0, copy.stderr
    frame = gpd.read_file(out)
    assert len(frame) == 25 and set(frame["ma_lo"]) == {f"L{i:02d}" for i in range(25)}
    assert "Lô số 3" in set(frame["ten"])


def test_owslib_features_client(live_server):
    from owslib.ogcapi.features import Features

    api = Features(live_server + "/ogc")
    assert "lo-dat" in [c["id"] for c in api.collections()["collections"]]
    page = api.collection_items("lo-dat", limit=5, loai_dat="CXX")
    assert page["numberMatched"] == 9 and len(page["features"]) == 5
    assert api.collection_queryables("lo-dat")["properties"]["ma_lo"]["type"] == "string"


def test_identify_tolerance_limit_is_the_documented_one(client, layers):
    from layers.identify import MAX_TOLERANCE_M

    document = client.get("/api/openapi.json").get_json()
    (tolerance,) = [p for p in document["paths"]["/api/identify"]["get"]["parameters"] if p["name"] == "tolerance_m"]
    assert tolerance["schema"]["maximum"] == MAX_TOLERANCE_M == 1000
    assert client.get("/api/identify?lon=107.58&lat=16.46&tolerance_m=1000").status_code == 200
    assert client.get("/api/identify?lon=107.58&lat=16.46&tolerance_m=1000.5").status_code == 400
