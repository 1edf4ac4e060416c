"""Until Part 2 (CRS by reference) lands, every CRS but CRS84 is refused, naming the supported one.

EPSG:4326 was accepted and read as longitude/latitude although its axis order is latitude/longitude: a client
sending the correct lat/lon order got a 400 'outside' or, worse, an empty answer.
"""

import geopandas as gpd
import pytest
from shapely.geometry import Point

from layers.importing import ImportOptions, import_layer

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"


@pytest.fixture
def stations(db, tmp_path):
    frame = gpd.GeoDataFrame({"ten": ["Hà Nội", "Sài Gòn"]}, geometry=[Point(105.85, 21.03), Point(106.70, 10.78)],
                             crs=4326)
    frame.to_file(tmp_path / "ga.geojson")
    import_layer(db, tmp_path / "ga.geojson", ImportOptions(name="ga"))
    db.commit()


def refused(resp, parameter):
    assert resp.status_code == 400, resp.get_data(as_text=True)
    error = resp.get_json()["error"]
    assert error["details"]["parameter"] == parameter and error["details"]["supported"] == [CRS84]
    assert CRS84 in error["message"]


@pytest.mark.parametrize("crs", [EPSG4326, "http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:4326", ""])
def test_crs_other_than_crs84_is_refused(client, stations, crs):
    refused(client.get("/ogc/collections/ga/items", query_string={"crs": crs}), "crs")
    refused(client.get("/ogc/collections/ga/items/1", query_string={"crs": crs}), "crs")


def test_bbox_crs_epsg4326_in_its_own_lat_lon_order_is_refused_not_misread(client, stations):
    # Saigon in EPSG:4326's own order (lat, lon): was 400 "outside"; lon/lat order in EPSG:4326 answered.
    for bbox in ("10.7,106.6,10.9,106.8", "106.6,10.7,106.8,10.9"):
        refused(client.get("/ogc/collections/ga/items", query_string={"bbox": bbox, "bbox-crs": EPSG4326}),
                "bbox-crs")


def test_filter_crs_epsg4326_is_refused_not_silently_empty(client, stations):
    resp = client.get("/ogc/collections/ga/items", query_string={
        "filter": "S_INTERSECTS(geometry, POINT(21.03 105.85))", "filter-crs": EPSG4326})
    refused(resp, "filter-crs")


def test_crs84_is_accepted_everywhere_and_said_in_content_crs(client, stations):
    resp = client.get("/ogc/collections/ga/items", query_string={
        "crs": CRS84, "bbox-crs": CRS84, "bbox": "106.6,10.7,106.8,10.9", "filter-crs": CRS84,
        "filter": "S_INTERSECTS(geometry, BBOX(106.6,10.7,106.8,10.9))"})
    assert resp.status_code == 200
    assert [f["properties"]["ten"] for f in resp.get_json()["features"]] == ["Sài Gòn"]
    assert resp.headers["Content-Crs"] == f"<{CRS84}>"
    one = client.get("/ogc/collections/ga/items/1", query_string={"crs": CRS84})
    assert one.status_code == 200 and one.headers["Content-Crs"] == f"<{CRS84}>"
    collection = client.get("/ogc/collections/ga").get_json()
    assert collection["crs"] == [CRS84] and collection["storageCrs"] == CRS84
