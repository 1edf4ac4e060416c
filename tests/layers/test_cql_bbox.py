"""CQL2 bbox and point literals select exactly what shapely says, on Vietnam's real province polygons."""

import json

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from layers.importing import ImportOptions, import_layer

# (minx, miny, maxx, maxy): around Huế (the issue's box: one province), the Red River delta, the Mekong delta, a
# sliver off the coast (none), and one across the whole south.
BOXES = [(107.4, 16.3, 107.7, 16.6), (105.7, 20.8, 106.2, 21.2), (105.0, 9.5, 106.0, 10.5),
         (109.5, 12.0, 109.6, 12.1), (104.0, 10.0, 108.0, 11.0)]
POINTS = [(105.85, 21.03), (106.70, 10.78), (107.59, 16.46)]  # Hà Nội, Hồ Chí Minh City, Huế


def ids(resp) -> set[str]:
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["numberReturned"] == len(body["features"])
    return {f["properties"]["id"] for f in body["features"]}


def expected(frame, geometry) -> set[str]:
    return set(frame[frame.intersects(geometry)]["id"])


def cql_json(client, expression):
    return client.get("/ogc/collections/vn/items", query_string={
        "filter": json.dumps(expression), "filter-lang": "cql2-json", "limit": 100})


def cql_text(client, expression):
    return client.get("/ogc/collections/vn/items", query_string={"filter": expression, "limit": 100})


def test_the_issue_box_is_thua_thien_hue_alone(client, provinces):
    box_filter = {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [107.4, 16.3, 107.7, 16.6]}]}
    assert ids(cql_json(client, box_filter)) == {"VN-26"}
    assert ids(cql_text(client, "S_INTERSECTS(geometry, BBOX(107.4,16.3,107.7,16.6))")) == {"VN-26"}


@pytest.mark.parametrize("bounds", BOXES)
def test_bbox_literals_agree_with_shapely(client, provinces, bounds):
    want = expected(provinces, box(*bounds))
    text = ",".join(map(str, bounds))
    assert ids(cql_json(client, {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": list(bounds)}]})
               ) == want
    assert ids(cql_text(client, f"S_INTERSECTS(geometry, BBOX({text}))")) == want
    # The bbox parameter and the six-number (3D) form say the same.
    assert ids(client.get("/ogc/collections/vn/items", query_string={"bbox": text, "limit": 100})) == want
    minx, miny, maxx, maxy = bounds
    assert ids(cql_text(client, f"S_INTERSECTS(geometry, BBOX({minx},{miny},-10,{maxx},{maxy},100))")) == want


@pytest.mark.parametrize("lon_lat", POINTS)
def test_point_literals_agree_with_shapely(client, provinces, lon_lat):
    want = expected(provinces, Point(*lon_lat))
    assert len(want) == 1
    lon, lat = lon_lat
    assert ids(cql_text(client, f"S_INTERSECTS(geometry, POINT({lon} {lat}))")) == want
    point = {"type": "Point", "coordinates": [lon, lat]}
    assert ids(cql_json(client, {"op": "s_intersects", "args": [{"property": "geometry"}, point]})) == want


def test_other_spatial_functions_and_combinations(client, provinces):
    hue = provinces[provinces["id"] == "VN-26"].geometry.iloc[0]
    central = box(106.0, 15.0, 109.0, 18.0)
    within = set(provinces[provinces.within(central)]["id"])
    assert within and ids(cql_text(client, "S_WITHIN(geometry, BBOX(106.0,15.0,109.0,18.0))")) == within
    touching = set(provinces[provinces.touches(hue)]["id"])
    rep = hue.representative_point()
    contains = ids(cql_text(client, f"S_CONTAINS(geometry, POINT({rep.x} {rep.y}))"))
    assert contains == {"VN-26"}
    both = ids(cql_text(client, "S_INTERSECTS(geometry, BBOX(107.0,15.5,108.5,17.0)) AND TYPE_ENG = 'Province'"))
    assert both == set(provinces[provinces.intersects(box(107.0, 15.5, 108.5, 17.0))
                                 & (provinces["TYPE_ENG"] == "Province")]["id"])
    disjoint = ids(cql_text(client, "S_DISJOINT(geometry, BBOX(107.4,16.3,107.7,16.6))"))
    assert len(disjoint) == 63 and "VN-26" not in disjoint
    assert touching  # Huế has neighbours: the shapes are real


def test_case_and_accent_insensitive_comparison(client, provinces):
    assert ids(cql_text(client, "CASEI(NAME_ENG) = CASEI('DA NANG')")) == {"VN-DN"}
    assert ids(cql_text(client, "ACCENTI(name) = ACCENTI('Đà Nẵng')")) == {"VN-DN"}
    assert ids(cql_text(client, "CASEI(ACCENTI(name)) = CASEI(ACCENTI('ĐÀ NẴNG'))")) == {"VN-DN"}
    assert ids(cql_json(client, {"op": "=", "args": [{"op": "accenti", "args": [{"property": "name"}]},
                                                     {"op": "accenti", "args": ["Đà Nẵng"]}]})) == {"VN-DN"}


@pytest.mark.parametrize(("lang", "expression"), [
    ("cql2-text", "S_INTERSECTS(geometry, BBOX(107.4,16.3,107.7))"),
    ("cql2-text", "S_INTERSECTS(geometry, BBOX(16.3,107.4,16.6,107.7))"),  # latitude first: outside CRS84
    ("cql2-text", "S_INTERSECTS(geometry, POINT(21.03 105.85))"),
    ("cql2-text", "S_INTERSECTS(geometry, SRID=3857;POINT(11900000 1900000))"),
    ("cql2-text", "BBOX(geometry, 107.4, 16.3, 107.7, 16.6, 'EPSG:3857')"),
    ("cql2-text", "NOPE(name) = 'x'"),
    ("cql2-json", '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [107.4, 16.3]}]}'),
    ("cql2-json", '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2, "3", 4]}]}'),
    ("cql2-json", '{"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [1, 2, NaN, 4]}]}'),
    ("cql2-json", '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point", '
                  '"coordinates": [1, 2], "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}]}'),
])
def test_bad_literals_are_400(client, provinces, lang, expression):
    resp = client.get("/ogc/collections/vn/items", query_string={"filter": expression, "filter-lang": lang})
    assert resp.status_code == 400, (expression, resp.get_json())
    assert resp.get_json()["error"]["details"]["parameter"] == "filter"


def test_antimeridian_bbox_literal(client, db, tmp_path):
    islands = gpd.GeoDataFrame({"ten": ["west", "east", "middle"]},
                               geometry=[Point(179.5, -17), Point(-179.5, -17), Point(0, -17)], crs=4326)
    islands.to_file(tmp_path / "islands.geojson")
    import_layer(db, tmp_path / "islands.geojson", ImportOptions(name="islands"))
    db.commit()
    resp = client.get("/ogc/collections/islands/items", query_string={
        "filter": "S_INTERSECTS(geometry, BBOX(179,-18,-179,-16))"})
    assert sorted(f["properties"]["ten"] for f in resp.get_json()["features"]) == ["east", "west"]


def test_conformance_declares_cql2_1_0(client, provinces):
    conforms = set(client.get("/ogc/conformance").get_json()["conformsTo"])
    for name in ("cql2-text", "cql2-json", "basic-cql2", "basic-spatial-functions", "basic-spatial-functions-plus",
                 "spatial-functions", "advanced-comparison-operators", "case-insensitive-comparison",
                 "accent-insensitive-comparison"):
        assert f"http://www.opengis.net/spec/cql2/1.0/conf/{name}" in conforms
    assert not any("basic-spatial-operators" in uri for uri in conforms)  # a draft's name


@pytest.mark.parametrize("expression", [
    "S_CROSSES(geometry, LINESTRING(107.0 16.5, 108.0 16.5))",
    "S_TOUCHES(geometry, POINT(107.4 16.3))",
    "S_OVERLAPS(geometry, POLYGON((107.4 16.3, 107.7 16.3, 107.7 16.6, 107.4 16.6, 107.4 16.3)))",
    "S_EQUALS(geometry, POINT(107.5 16.4))",
    "S_INTERSECTS(geometry, MULTIPOINT((105.85 21.03), (106.70 10.78)))",
    "S_INTERSECTS(geometry, MULTILINESTRING((107.0 16.5, 108.0 16.5), (105.8 21.0, 105.9 21.0)))",
    "S_INTERSECTS(geometry, MULTIPOLYGON(((107.4 16.3, 107.7 16.3, 107.7 16.6, 107.4 16.3))))",
    "S_INTERSECTS(geometry, GEOMETRYCOLLECTION(POINT(105.85 21.03), LINESTRING(107.0 16.5, 108.0 16.5)))",
])
def test_every_spatial_function_and_literal_agrees_with_shapely(client, provinces, expression):
    from shapely import wkt

    op, _, literal = expression.partition("(geometry, ")
    geometry = wkt.loads(literal[:-1])
    predicate = {"S_CROSSES": "crosses", "S_TOUCHES": "touches", "S_OVERLAPS": "overlaps", "S_EQUALS": "geom_equals",
                 "S_INTERSECTS": "intersects"}[op]
    want = set(provinces[getattr(provinces, predicate)(geometry)]["id"])
    assert ids(cql_text(client, expression)) == want


def test_accenti_finds_hue_without_accents(client, provinces):
    assert ids(cql_text(client, "ACCENTI(name) LIKE ACCENTI('%Hue%')")) == {"VN-26"}
