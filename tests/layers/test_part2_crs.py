"""OGC API - Features Part 2 (CRS by reference): answers in every offered CRS land within 0.01 m of pyproj's
transformation of the same points, bbox-crs and filter-crs read in their CRS's axis order, what is served stays
valid on each CRS's grid, and a CRS that is not offered is a 400 naming those that are.

EPSG:4326 is latitude first everywhere (input and output); CRS84 is longitude first. pyproj is asked with the EPSG
authority's own definitions (and axis order), so these tests do not trust the server's PROJ strings.
"""

import json
import math
import subprocess
import sys
import threading
from urllib.parse import unquote

import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer
from pyproj.transformer import TransformerGroup
from shapely.geometry import Point, Polygon, box, shape
from werkzeug.serving import make_server

from layers.crs import SERVED_CRS
from layers.importing import ImportOptions, import_layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
EPSG4326 = EPSG + "4326"
PROJECTED = [uri for uri in SERVED_CRS if uri not in (CRS84, EPSG4326)]
STATIONS = {"Hà Nội": (105.85, 21.03), "Huế": (107.5790, 16.4673), "Sài Gòn": (106.70, 10.78)}
METRES_PER_DEGREE = 111_320  # at the equator: an upper bound for a degree of longitude or latitude


@pytest.fixture
def stations(db, tmp_path):
    frame = gpd.GeoDataFrame({"ten": list(STATIONS)}, geometry=[Point(*p) for p in STATIONS.values()], crs=4326)
    frame.to_file(tmp_path / "ga.geojson")
    import_layer(db, tmp_path / "ga.geojson", ImportOptions(name="ga"))
    db.commit()


def pyproj_to(uri: str, always_xy: bool = False) -> Transformer:
    """pyproj from WGS 84 longitude/latitude to *uri* in the authority's axis order (EPSG:4326: latitude first).

    For VN-2000, EPSG has two shifts from WGS 84 and PROJ picks one per point (at Saigon the older "(1)", 0.8 m
    away): the national one of Decision 05/2007, EPSG's "VN-2000 to WGS 84 (2)", is named here.
    """
    code = "OGC:CRS84" if uri == CRS84 else "EPSG:" + uri.rsplit("/", 1)[1]
    group = TransformerGroup("OGC:CRS84", code, always_xy=always_xy)
    national = [t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description]
    return national[0] if national else Transformer.from_crs("OGC:CRS84", code, always_xy=always_xy)


def metres(uri: str, a, b) -> float:
    """The distance between two positions in *uri*'s coordinates, in metres (an upper bound for degrees)."""
    scale = METRES_PER_DEGREE if uri in (CRS84, EPSG4326) else 1.0
    return math.dist(a, b) * scale


def names(resp) -> set[str]:
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {f["properties"]["ten"] for f in resp.get_json()["features"]}


def refused(resp, parameter):
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["details"]["parameter"] == parameter and error["details"]["supported"] == list(SERVED_CRS)
    assert CRS84 in error["message"] and EPSG4326 in error["message"] and EPSG + "9214" in error["message"]


# -- what is offered -------------------------------------------------------------------------------------------


def test_collections_list_their_crs_and_conformance_declares_part_2(client, stations):
    collection = client.get("/ogc/collections/ga").get_json()
    assert collection["storageCrs"] == CRS84
    assert collection["crs"][0] == CRS84 and set(collection["crs"]) == set(SERVED_CRS)
    # CRS84, EPSG:4326, Web Mercator, VN-2000 UTM 48N/49N and every provincial TM-3 zone the importer knows.
    assert {EPSG4326, EPSG + "3857", EPSG + "3405", EPSG + "3406", EPSG + "9214", EPSG + "5899"} <= set(
        collection["crs"])
    listed = client.get("/ogc/collections").get_json()["collections"]
    assert next(c for c in listed if c["id"] == "ga")["crs"] == collection["crs"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in client.get(
        "/ogc/conformance").get_json()["conformsTo"]


# -- crs: the answer's coordinates -----------------------------------------------------------------------------


@pytest.mark.parametrize("uri", list(SERVED_CRS))
def test_items_and_an_item_in_every_crs_land_where_pyproj_puts_them(client, stations, uri):
    to = pyproj_to(uri)
    resp = client.get("/ogc/collections/ga/items", query_string={"crs": uri})
    assert resp.status_code == 200 and resp.headers["Content-Crs"] == f"<{uri}>"
    served = {f["properties"]["ten"]: f["geometry"]["coordinates"] for f in resp.get_json()["features"]}
    assert all("crs" not in f["geometry"] for f in resp.get_json()["features"])  # Content-Crs says it
    assert served.keys() == STATIONS.keys()
    for name, (lon, lat) in STATIONS.items():
        assert metres(uri, served[name], to.transform(lon, lat)) < 0.01, (name, served[name])
    one = client.get("/ogc/collections/ga/items/2", query_string={"crs": uri})
    assert one.headers["Content-Crs"] == f"<{uri}>" and one.get_json()["geometry"]["coordinates"] == served["Huế"]
    # The next page keeps the CRS.
    page = client.get("/ogc/collections/ga/items", query_string={"crs": uri, "limit": 1}).get_json()
    following = next(link["href"] for link in page["links"] if link["rel"] == "next")
    assert client.get(following).headers["Content-Crs"] == f"<{uri}>"


def test_epsg_4326_is_latitude_first_and_crs84_longitude_first(client, stations):
    def hue(uri):
        return client.get("/ogc/collections/ga/items/2", query_string={"crs": uri}).get_json()["geometry"]

    assert hue(EPSG4326)["coordinates"] == [16.4673, 107.579]
    assert hue(CRS84)["coordinates"] == [107.579, 16.4673]
    default = client.get("/ogc/collections/ga/items/2")
    assert default.headers["Content-Crs"] == f"<{CRS84}>" and default.get_json()["geometry"] == hue(CRS84)
    # The past is served in the asked CRS too.
    past = client.get("/ogc/collections/ga/items", query_string={"crs": EPSG4326, "at": "2999-01-01T00:00:00Z"})
    assert past.headers["Content-Crs"] == f"<{EPSG4326}>"
    assert [16.4673, 107.579] in [f["geometry"]["coordinates"] for f in past.get_json()["features"]]


def test_polygons_in_a_vn2000_zone_match_pyproj_vertex_by_vertex(client, provinces):
    uri = EPSG + "9214"  # VN-2000 TM-3 107°, Huế's zone
    to = pyproj_to(uri)
    served = client.get("/ogc/collections/vn/items", query_string={"crs": uri, "limit": 100}).get_json()
    stored = client.get("/ogc/collections/vn/items", query_string={"limit": 100}).get_json()
    by_id = {f["id"]: f for f in stored["features"]}
    compared = 0
    for feature in served["features"]:
        if feature["properties"]["id"] not in ("VN-26", "VN-SG", "VN-HN"):  # Huế, Hồ Chí Minh City, Hà Nội
            continue
        mine, theirs = shape(feature["geometry"]), shape(by_id[feature["id"]]["geometry"])
        expected = shapely.transform(theirs, lambda xy: list(zip(*to.transform(xy[:, 0], xy[:, 1]), strict=True)))
        mine_xy, expected_xy = shapely.get_coordinates(mine), shapely.get_coordinates(expected)
        assert len(mine_xy) == len(expected_xy) > 10
        assert max(math.dist(a, b) for a, b in zip(mine_xy, expected_xy, strict=True)) < 0.01
        compared += 1
    assert compared == 3


# -- bbox-crs --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", list(SERVED_CRS))
def test_bbox_in_every_crs_selects_what_it_covers(client, stations, uri):
    # A box of about 20 km around Saigon, written in the CRS's own coordinates and axis order.
    to = pyproj_to(uri)
    corners = [to.transform(106.6, 10.7), to.transform(106.8, 10.9)]
    numbers = [min(c[0] for c in corners), min(c[1] for c in corners), max(c[0] for c in corners),
               max(c[1] for c in corners)]
    bbox = ",".join(f"{v:.7f}" for v in numbers)
    assert names(client.get("/ogc/collections/ga/items", query_string={"bbox": bbox, "bbox-crs": uri})) == {
        "Sài Gòn"}
    # The same box with its axes swapped is another place: nothing there, or not a place at all.
    swapped = ",".join(f"{v:.7f}" for v in (numbers[1], numbers[0], numbers[3], numbers[2]))
    resp = client.get("/ogc/collections/ga/items", query_string={"bbox": swapped, "bbox-crs": uri})
    assert resp.status_code == 400 or names(resp) == set()


def test_bbox_in_epsg_4326_is_latitude_first(client, stations):
    items = "/ogc/collections/ga/items"
    assert names(client.get(items, query_string={"bbox": "10.7,106.6,10.9,106.8", "bbox-crs": EPSG4326})) == {
        "Sài Gòn"}
    assert names(client.get(items, query_string={"bbox": "10.7,106.6,0,10.9,106.8,50", "bbox-crs": "EPSG:4326"})) == {
        "Sài Gòn"}
    # Longitude first in EPSG:4326 is a latitude of 106.6: refused, not misread.
    wrong = client.get(items, query_string={"bbox": "106.6,10.7,106.8,10.9", "bbox-crs": EPSG4326})
    assert wrong.status_code == 400 and "minlat,minlon,maxlat,maxlon" in wrong.get_json()["error"]["message"]


@pytest.mark.parametrize("uri", [EPSG + "9214", EPSG + "3405", EPSG + "3857"])
def test_a_projected_bbox_selects_what_shapely_finds_in_that_crs(client, provinces, uri):
    """Boxes of 50-300 km in metres: their edges are curves in degrees (PostGIS divides them before moving them)."""
    code = "EPSG:" + uri.rsplit("/", 1)[1]
    projected = provinces.to_crs(code)
    to = pyproj_to(uri)
    for lon, lat, half in ((107.58, 16.46, 25_000), (106.0, 21.0, 60_000), (105.9, 10.2, 150_000)):
        x, y = to.transform(lon, lat)
        area = box(x - half, y - half, x + half, y + half)
        expected = set(projected[projected.intersects(area)]["id"])
        resp = client.get("/ogc/collections/vn/items", query_string={
            "bbox": ",".join(f"{v:.3f}" for v in area.bounds), "bbox-crs": uri, "limit": 100})
        assert resp.status_code == 200, resp.get_json()
        assert {f["properties"]["id"] for f in resp.get_json()["features"]} == expected and expected


# -- filter-crs ------------------------------------------------------------------------------------------------


def test_filter_crs_epsg_4326_reads_points_and_boxes_latitude_first(client, stations):
    def ask(expression, **extra):
        return names(client.get("/ogc/collections/ga/items", query_string={
            "filter": expression, "filter-crs": EPSG4326, **extra}))

    # The example: silently empty when read as longitude/latitude.
    assert ask("S_INTERSECTS(geometry, POINT(21.03 105.85))") == {"Hà Nội"}
    assert ask("S_INTERSECTS(geometry, BBOX(10.7, 106.6, 10.9, 106.8))") == {"Sài Gòn"}
    assert ask(json.dumps({"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [16.4, 107.5, 16.5,
                                                                                             107.7]}]}),
               **{"filter-lang": "cql2-json"}) == {"Huế"}
    refusal = client.get("/ogc/collections/ga/items", query_string={
        "filter": "S_INTERSECTS(geometry, POINT(105.85 21.03))", "filter-crs": EPSG4326})
    assert refusal.status_code == 400 and refusal.get_json()["error"]["details"]["parameter"] == "filter-crs"


@pytest.mark.parametrize("uri", [EPSG + "9214", EPSG + "3406", EPSG + "3857"])
def test_filter_crs_in_metres(client, provinces, uri):
    to = pyproj_to(uri)
    x, y = to.transform(107.58, 16.46)  # Huế's citadel
    around = Polygon([(x - 500, y - 500), (x + 500, y - 500), (x + 500, y + 500), (x - 500, y + 500)])

    def ask(expression, lang="cql2-text"):
        resp = client.get("/ogc/collections/vn/items", query_string={
            "filter": expression, "filter-lang": lang, "filter-crs": uri, "limit": 100})
        assert resp.status_code == 200, resp.get_json()
        return {f["properties"]["id"] for f in resp.get_json()["features"]}

    assert ask(f"S_INTERSECTS(geometry, {around.wkt})") == {"VN-26"}
    assert ask(f"S_INTERSECTS(geometry, BBOX({x - 500}, {y - 500}, {x + 500}, {y + 500}))") == {"VN-26"}
    assert ask(f"S_INTERSECTS(geometry, POINT({x} {y}))") == {"VN-26"}
    assert ask(json.dumps({"op": "s_intersects", "args": [{"property": "geometry"},
                                                          {"bbox": list(around.bounds)}]}), "cql2-json") == {"VN-26"}


# -- validity on every grid ------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", list(SERVED_CRS))
def test_every_served_province_is_valid_on_the_grid_of_every_crs(client, provinces, uri):
    decimals = 7 if uri in (CRS84, EPSG4326) else 3
    resp = client.get("/ogc/collections/vn/items", query_string={"crs": uri, "limit": 100})
    assert resp.status_code == 200
    geometries = [shape(f["geometry"]) for f in resp.get_json()["features"]]
    assert len(geometries) == len(provinces)
    assert [shapely.is_valid_reason(g) for g in geometries if not g.is_valid] == []
    coordinates = shapely.get_coordinates(geometries)
    assert (abs(coordinates * 10**decimals - (coordinates * 10**decimals).round()) < 1e-3).all()


@pytest.mark.parametrize("uri", [EPSG + "9214", EPSG + "3857"])
def test_a_polygon_that_snapping_in_metres_would_break_is_served_valid(client, db, tmp_path, uri):
    """A notch 0.4 mm above the polygon's own edge: valid as stored, a self-touching ring once rounded to 1 mm."""
    code = "EPSG:" + uri.rsplit("/", 1)[1]
    x, y = pyproj_to(uri, always_xy=True).transform(107.58, 16.46)
    x, y = round(x), round(y)
    ring = [(x, y), (x + 100, y), (x + 100, y + 100), (x + 50, y + 0.0004), (x, y + 100), (x, y)]
    projected = Polygon(ring)
    assert projected.is_valid and not shapely.set_precision(projected, 0.001, mode="pointwise").is_valid
    stored = gpd.GeoSeries([projected], crs=code).to_crs(4326)
    gpd.GeoDataFrame({"ten": ["khía"]}, geometry=stored, crs=4326).to_file(tmp_path / "notch.geojson")
    import_layer(db, tmp_path / "notch.geojson", ImportOptions(name="notch"))
    db.commit()
    served = client.get("/ogc/collections/notch/items/1", query_string={"crs": uri}).get_json()["geometry"]
    assert shape(served).is_valid and "crs" not in served
    assert shape(served).symmetric_difference(projected).area < 0.05  # the same shape but for the notch's tip


# -- refusals --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["http://www.opengis.net/def/crs/EPSG/0/2263", "EPSG:32648", "", "wgs84"])
def test_a_crs_not_offered_is_a_400_naming_those_offered(client, stations, auth_headers, value):
    refused(client.get("/ogc/collections/ga/items", query_string={"crs": value}), "crs")
    refused(client.get("/ogc/collections/ga/items/1", query_string={"crs": value}), "crs")
    refused(client.get("/ogc/collections/ga/items", query_string={"bbox": "1,2,3,4", "bbox-crs": value}),
            "bbox-crs")
    refused(client.get("/ogc/collections/ga/items", query_string={
        "filter": "S_INTERSECTS(geometry, POINT(1 2))", "filter-crs": value}), "filter-crs")
    refused(client.post("/ogc/collections/ga/items", headers={**auth_headers("planner"), "Content-Crs": f"<{value}>"},
                        json={"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.5, 16.4]},
                              "properties": {}}), "Content-Crs")


def test_boxes_outside_their_crs_are_a_400(client, stations):
    items = "/ogc/collections/ga/items"
    for bbox, crs in (("500000,1800000,400000,1900000", EPSG + "9214"),  # minx > maxx
                      ("1e12,1e12,2e12,2e12", EPSG + "3857")):  # beyond the poles
        resp = client.get(items, query_string={"bbox": bbox, "bbox-crs": crs})
        assert resp.status_code == 400 and resp.get_json()["error"]["details"]["parameter"] == "bbox-crs", bbox


def test_html_pages_draw_their_maps_in_longitude_latitude_whatever_crs_says(client, stations):
    for path in ("/ogc/collections/ga/items", "/ogc/collections/ga/items/2"):
        resp = client.get(path, query_string={"crs": EPSG + "3857", "f": "html"})
        assert resp.status_code == 200 and b"107.579" in resp.data


# -- real clients ----------------------------------------------------------------------------------------------


@pytest.fixture
def live_server(app, stations):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


# GDAL 3.7 brought Part 2 to the OAPIF driver (the CRS open option); Debian's ogr2ogr is 3.6, pyogrio's wheel
# carries a newer GDAL. It runs in a process of its own: GDAL holds the interpreter while it reads.
GDAL_READ = """
import json, sys, pyogrio
frame = pyogrio.read_dataframe("OAPIF:" + sys.argv[1], layer="ga", CRS=sys.argv[2])
print(json.dumps({"gdal": pyogrio.__gdal_version_string__, "crs": frame.crs.to_string(),
                  "points": {n: [g.x, g.y] for n, g in zip(frame["ten"], frame.geometry)}}))
"""


@pytest.mark.parametrize("code", ["EPSG:9214", "EPSG:3405", "EPSG:3857"])
def test_gdal_reads_in_another_crs(live_server, caplog, code):
    run = subprocess.run([sys.executable, "-c", GDAL_READ, live_server + "/ogc", code], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    read = json.loads(run.stdout)
    assert read["crs"] == code
    # It asked the server for that CRS (not for CRS84 to reproject itself).
    assert f"/items?limit=1000&crs=http://www.opengis.net/def/crs/EPSG/0/{code[5:]}" in unquote(caplog.text)
    # GDAL gives its geometries in the traditional GIS order (longitude first, easting first) whatever the CRS.
    to = pyproj_to(EPSG + code.split(":")[1], always_xy=True)
    for name, (lon, lat) in STATIONS.items():
        assert metres(code, read["points"][name], to.transform(lon, lat)) < 0.01


def test_owslib_reads_in_another_crs(live_server):
    from owslib.ogcapi.features import Features

    api = Features(live_server + "/ogc")
    uri = EPSG + "3405"
    assert uri in api.collection("ga")["crs"]
    page = api.collection_items("ga", crs=uri, bbox=[600000, 1100000, 800000, 1300000], **{"bbox-crs": uri})
    to = pyproj_to(uri)
    assert [f["properties"]["ten"] for f in page["features"]] == ["Sài Gòn"]
    assert metres(uri, page["features"][0]["geometry"]["coordinates"], to.transform(*STATIONS["Sài Gòn"])) < 0.01
