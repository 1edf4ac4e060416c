"""OGC API - Tiles (tile matrix sets, tileset list and metadata, z/y/x tiles), the XYZ form for Leaflet, and
TileJSON views taken from the data (issue 21, item 6). GDAL's OGCAPI driver reads the tiles.

GDAL here is pyogrio's own (3.10+): Debian 12's gdal-bin 3.6.2 builds its OGCAPI driver without vector tiles
(the vector branch sits behind OGR_ENABLE_DRIVER_GML, which its CMake never defines for that driver).
"""

import json
import math
import subprocess
import sys
import threading

import geopandas as gpd
import mapbox_vector_tile
import pytest
from pyproj import Transformer
from shapely.geometry import Point, box, shape
from werkzeug.serving import make_server

from layers.importing import ImportOptions, import_layer
from tests.layers.real_files import vietnam_provinces

TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
WORLD = 40075016.68557849


@pytest.fixture
def parcels(db, tmp_path):
    frame = gpd.GeoDataFrame(
        {"ma_lo": [f"L{i:02d}" for i in range(25)], "tang": [i % 7 for i in range(25)]},
        geometry=[box(107.58 + (i % 5) * 0.002, 16.46 + (i // 5) * 0.002, 107.5815 + (i % 5) * 0.002,
                      16.4615 + (i // 5) * 0.002) for i in range(25)], crs=4326)
    frame.to_file(tmp_path / "lo.geojson")
    import_layer(db, tmp_path / "lo.geojson", ImportOptions(name="lo-dat", title="Lô đất", category="planning"))
    db.commit()
    return frame


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def link(document, rel, mimetype=None):
    return next(x["href"] for x in document["links"] if x["rel"] == rel and (mimetype is None or x["type"] == mimetype))


def test_tiles_documents_lead_from_the_collection_to_a_tile(client, parcels):
    collection = client.get("/ogc/collections/lo-dat").get_json()
    tilesets_url = link(collection, "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "application/json")
    tileset_list = client.get(tilesets_url).get_json()
    (entry,) = tileset_list["tilesets"]
    assert entry["dataType"] == "vector" and entry["tileMatrixSetURI"] == TMS_URI
    tileset = client.get(link(entry, "self")).get_json()
    assert tileset["dataType"] == "vector" and tileset["crs"].endswith("/EPSG/0/3857")
    template = link(tileset, "item", "application/vnd.mapbox-vector-tile")
    assert template.endswith("/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}")
    # Tile matrix set limits hold the data; the tile at zoom 16 holding the first parcel is among them.
    limits = {limit["tileMatrix"]: limit for limit in tileset["tileMatrixSetLimits"]}
    n = 2**16
    col = int((107.5805 + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(16.4605))) / math.pi) / 2 * n)
    limit = limits["16"]
    assert limit["minTileCol"] <= col <= limit["maxTileCol"] and limit["minTileRow"] <= row <= limit["maxTileRow"]
    tile = client.get(template.replace("{tileMatrix}", "16").replace("{tileRow}", str(row))
                      .replace("{tileCol}", str(col)))
    assert tile.status_code == 200 and tile.mimetype == "application/vnd.mapbox-vector-tile"
    assert "L00" in {f["properties"]["ma_lo"] for f in mapbox_vector_tile.decode(tile.data)["lo-dat"]["features"]}
    # The same tile in the XYZ form, and the transposed OGC path is another (empty) tile.
    assert client.get(f"/api/layers/lo-dat/tiles/16/{col}/{row}.mvt").data == tile.data
    assert client.get(f"/ogc/collections/lo-dat/tiles/WebMercatorQuad/16/{col}/{row}").data == b""
    assert tileset["layers"][0]["id"] == "lo-dat" and tileset["layers"][0]["geometryDimension"] == 2
    assert set(tileset["layers"][0]["propertiesSchema"]["properties"]) == {"ma_lo", "tang"}
    scheme = client.get(link(tileset, "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme")).get_json()
    assert scheme["id"] == "WebMercatorQuad" and scheme["uri"] == TMS_URI
    assert [m["id"] for m in scheme["tileMatrices"]] == [str(z) for z in range(23)]
    z16 = scheme["tileMatrices"][16]
    assert z16["matrixWidth"] == n and z16["cellSize"] == pytest.approx(WORLD / 256 / n)
    assert z16["pointOfOrigin"] == pytest.approx([-WORLD / 2, WORLD / 2])


def test_tile_matrix_sets_conformance_and_unknowns(client, parcels):
    listing = client.get("/ogc/tileMatrixSets").get_json()
    assert [t["id"] for t in listing["tileMatrixSets"]] == ["WebMercatorQuad"]
    conforms = set(client.get("/ogc/conformance").get_json()["conformsTo"])
    for name in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt", "oas30"):
        assert f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{name}" in conforms
    landing = client.get("/ogc").get_json()
    assert link(landing, "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes").endswith("/ogc/tileMatrixSets")
    for path in ("/ogc/tileMatrixSets/WorldCRS84Quad", "/ogc/collections/lo-dat/tiles/WorldCRS84Quad",
                 "/ogc/collections/lo-dat/tiles/WorldCRS84Quad/0/0/0", "/ogc/collections/nope/tiles",
                 "/ogc/collections/lo-dat/tiles/WebMercatorQuad/3/8/0"):
        assert client.get(path).status_code == 404, path
    assert client.get("/ogc/collections/lo-dat/tiles?f=html").status_code == 406
    paths = client.get("/ogc/api").get_json()["paths"]
    assert "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}" in paths


GDAL_READ = """
import json, sys
import pyogrio
source, extent = sys.argv[1], json.loads(sys.argv[2])
layers = [name for name, _ in pyogrio.list_layers(source)]
frame = pyogrio.read_dataframe(source, layer="Zoom level 14", **extent).to_crs(4326)
print(json.dumps({"layers": layers, "crs": "EPSG:4326", "features": json.loads(frame.to_json())["features"]}))
"""


def test_gdal_ogcapi_driver_reads_the_vector_tiles(live_server, parcels):
    # In its own process: pyogrio keeps the GIL while GDAL waits for this process's server thread.
    source = f"OGCAPI:{live_server}/ogc/collections/lo-dat"
    # GDAL compares the collection's extent with the tile matrices as if both were in the matrix set's CRS, so
    # the extent is given in EPSG:3857 (MINX..MAXY); with the collection's CRS84 degrees it finds no tile.
    to_mercator = Transformer.from_crs(4326, 3857, always_xy=True)
    minx, miny = to_mercator.transform(107.58, 16.46)
    maxx, maxy = to_mercator.transform(107.5895, 16.4695)
    extent = {"MINX": minx, "MINY": miny, "MAXX": maxx, "MAXY": maxy}
    run = subprocess.run([sys.executable, "-c", GDAL_READ, source, json.dumps(extent)], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout)
    features = result["features"]
    assert sorted(f["properties"]["ma_lo"] for f in features) == [f"L{i:02d}" for i in range(25)]
    first = next(shape(f["geometry"]) for f in features if f["properties"]["ma_lo"] == "L00")
    # In the right place: GDAL asked for {tileMatrix}/{tileRow}/{tileCol} and got the z/y/x tile.
    assert first.centroid.distance(Point(107.58075, 16.46075)) < 0.0001


def test_tilejson_view_comes_from_the_data(client, db, tmp_path):
    provinces = vietnam_provinces()
    import_layer(db, provinces, ImportOptions(name="vn", category="administrative"))
    frame = gpd.GeoDataFrame({"n": range(3000)}, geometry=gpd.points_from_xy(
        [107.55 + (i % 60) * 0.001 for i in range(3000)], [16.43 + (i // 60) * 0.001 for i in range(3000)]),
        crs=4326)
    frame.to_file(tmp_path / "dense.geojson")
    import_layer(db, tmp_path / "dense.geojson", ImportOptions(name="dense"))
    db.commit()
    shapes = gpd.read_file(provinces)
    for url in ("/ogc/collections/vn/tiles/WebMercatorQuad?f=tilejson", "/api/layers/vn/tiles.json"):
        tilejson = client.get(url).get_json()
        lon, lat, zoom = tilejson["center"]
        # The middle of Vietnam's extent is in Laos; the centre is on Vietnamese land.
        assert not shapes.contains(Point((102.1452 + 109.46) / 2, (8.5633 + 23.3927) / 2)).any()
        assert shapes.contains(Point(lon, lat)).any(), (lon, lat)
        # The zoom that shows the whole country in a 512-pixel view, not always 14.
        assert zoom == 5
        assert tilejson["minzoom"] == 0 and zoom <= tilejson["maxzoom"] < 14
    dense = client.get("/api/layers/dense/tiles.json").get_json()
    # A small dense layer: seen whole at a high zoom, and tiles go deeper so that each stays small.
    assert dense["center"][2] >= 13 and dense["minzoom"] == dense["center"][2] - 5
    assert dense["maxzoom"] >= dense["center"][2]
    assert dense["tiles"][0].endswith("/api/layers/dense/tiles/{z}/{x}/{y}.mvt")
