"""OGC API - Tiles documents: the WebMercatorQuad tile matrix set and each layer's vector tileset.

Plain data built from the catalog and a layer's tile view; the views add the URLs. The tile matrix set is the
OGC Two Dimensional Tile Matrix Set 2.0 definition of WebMercatorQuad (EPSG:3857, 256 px tiles, zoom 0..22),
so that clients (GDAL's OGCAPI driver, QGIS) do not have to know it by name.
"""

from __future__ import annotations

import math

from layers.models import Layer
from layers.tiles import MAX_ZOOM, WORLD, TileView, vector_fields

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WEB_MERCATOR_QUAD = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
EPSG_3857 = "http://www.opengis.net/def/crs/EPSG/0/3857"
ORIGIN = WORLD / 2  # 20037508.3427892 m
TILE_PIXELS = 256
# OGC's scale denominators assume 0.28 mm pixels.
SCALE_ZERO = WORLD / TILE_PIXELS / 0.00028
MVT = "application/vnd.mapbox-vector-tile"
GEOMETRY_DIMENSION = {"Point": 0, "MultiPoint": 0, "LineString": 1, "MultiLineString": 1, "Polygon": 2,
                      "MultiPolygon": 2}


def tile_matrix_set() -> dict:
    """WebMercatorQuad as a TileMatrixSet 2.0 JSON document, carrying the 1.0 members as well.

    TMS 2.0 is what OGC API - Tiles 1.0 asks for; GDAL before 3.7 (Debian 12's 3.6) reads only the 1.0 encoding
    ("type": "TileMatrixSetType", "supportedCRS", "tileMatrix" with "topLeftCorner"). Both sets of names in one
    document serve both; readers of either version ignore the other's.
    """
    matrices = []
    legacy = []
    for z in range(MAX_ZOOM + 1):
        common = {"scaleDenominator": SCALE_ZERO / 2**z, "tileWidth": TILE_PIXELS, "tileHeight": TILE_PIXELS,
                  "matrixWidth": 2**z, "matrixHeight": 2**z}
        matrices.append({"id": str(z), **common, "cellSize": WORLD / TILE_PIXELS / 2**z, "cornerOfOrigin": "topLeft",
                         "pointOfOrigin": [-ORIGIN, ORIGIN]})
        legacy.append({"type": "TileMatrixType", "identifier": str(z), **common, "topLeftCorner": [-ORIGIN, ORIGIN]})
    return {
        "id": WEB_MERCATOR_QUAD,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": EPSG_3857,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {"lowerLeft": [-ORIGIN, -ORIGIN], "upperRight": [ORIGIN, ORIGIN], "crs": EPSG_3857,
                        "orderedAxes": ["E", "N"], "type": "BoundingBoxType",
                        "lowerCorner": [-ORIGIN, -ORIGIN], "upperCorner": [ORIGIN, ORIGIN]},
        "tileMatrices": matrices,
        # TMS 1.0 (17-083r2) names of the same definition.
        "type": "TileMatrixSetType",
        "identifier": WEB_MERCATOR_QUAD,
        "supportedCRS": EPSG_3857,
        "tileMatrix": legacy,
    }


def _tile_index(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat = max(min(lat, 85.05112878), -85.05112878)
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(col, 0), n - 1), min(max(row, 0), n - 1)


def matrix_limits(bounds, minzoom: int, maxzoom: int) -> list[dict]:
    """tileMatrixSetLimits: the rows and columns holding the data, per tile matrix of the layer's zoom range."""
    minx, miny, maxx, maxy = bounds
    limits = []
    for z in range(minzoom, maxzoom + 1):
        min_col, min_row = _tile_index(minx, maxy, z)
        max_col, max_row = _tile_index(maxx, miny, z)
        limits.append({"tileMatrix": str(z), "minTileRow": min_row, "maxTileRow": max_row, "minTileCol": min_col,
                       "maxTileCol": max_col})
    return limits


def tileset(layer: Layer, view: TileView, links: list[dict]) -> dict:
    """The layer's vector tileset metadata (OGC API - Tiles 'tileset', TileSetMetadata 2.0)."""
    minx, miny, maxx, maxy = view.bounds
    schema = {a["name"]: {"type": {"Number": "number", "Boolean": "boolean"}.get(kind, "string")}
              for a, kind in zip(layer.attributes, vector_fields(layer).values(), strict=True)}
    entry = {"id": layer.name, "title": layer.title, "dataType": "vector", "minTileMatrix": str(view.minzoom),
             "maxTileMatrix": str(view.maxzoom), "propertiesSchema": {"type": "object", "properties": schema}}
    if layer.geometry_type in GEOMETRY_DIMENSION:
        entry["geometryDimension"] = GEOMETRY_DIMENSION[layer.geometry_type]
    return {
        "title": layer.title,
        "description": layer.description,
        "dataType": "vector",
        "crs": EPSG_3857,
        "tileMatrixSetURI": TMS_URI,
        "links": links,
        "tileMatrixSetLimits": matrix_limits(view.bounds, view.minzoom, view.maxzoom),
        "boundingBox": {"lowerLeft": [minx, miny], "upperRight": [maxx, maxy], "crs": CRS84},
        "centerPoint": {"coordinates": list(view.center), "crs": CRS84, "tileMatrix": str(view.center_zoom)},
        "layers": [entry],
    }
