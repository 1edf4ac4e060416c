"""The OpenAPI 3.0 description of the OGC API - Features and OGC API - Tiles endpoints."""

from __future__ import annotations

from gisserver.core.openapi import (
    BBOX,
    GEOJSON,
    INTEGER,
    JSON,
    LAT,
    LON,
    NULLABLE_STRING,
    NUMBER,
    POINT,
    STRING,
    json_body,
    list_of,
    obj,
    op,
    param,
    path_param,
    ref,
)
from layers.identify import MAX_TOLERANCE_M


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


COLLECTION_ID = _param("collectionId", "path", {"type": "string"}, "layer name", True)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
ONLY_CRS84 = {"type": "string", "enum": [CRS84]}
PARAMS = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}, "page size"),
    _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
    _param("cursor", "query", {"type": "integer", "minimum": 0},
           "keyset paging: features after this feature id (the next links carry it)"),
    _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
           "minx,miny,maxx,maxy in CRS84"),
    _param("datetime", "query", {"type": "string"}, "instant or interval (a/b, ../b, a/..)"),
    _param("filter", "query", {"type": "string"}, "CQL2 filter"),
    _param("filter-lang", "query", {"type": "string", "enum": ["cql2-text", "cql2-json"]}, "filter language"),
    _param("crs", "query", ONLY_CRS84, "CRS of the answer; only CRS84 until Part 2"),
    _param("bbox-crs", "query", ONLY_CRS84, "CRS of bbox; only CRS84"),
    _param("filter-crs", "query", ONLY_CRS84, "CRS of the filter's geometries; only CRS84"),
    _param("f", "query", {"type": "string", "enum": ["json", "html"]}, "output format"),
]
TMS_ID = _param("tileMatrixSetId", "path", {"type": "string", "enum": ["WebMercatorQuad"]}, "tile matrix set", True)
TILE = [_param(name, "path", {"type": "integer", "minimum": 0}, description, True) for name, description in (
    ("tileMatrix", "zoom level"), ("tileRow", "row (y), from the top"), ("tileCol", "column (x), from the left"))]


def _get(summary: str, params: list, content: str = "application/json") -> dict:
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": {"description": "OK", "content": {content: {}}},
                                  "400": {"description": "bad request"}, "404": {"description": "not found"}}}}


def openapi_document(base_url: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "gisserver OGC API - Features and Tiles", "version": "1.0.0",
                 "license": {"name": "open source"}},
        "servers": [{"url": base_url}],
        "paths": {
            "/": _get("landing page", []),
            "/conformance": _get("conformance classes", []),
            "/collections": _get("layers", []),
            "/collections/{collectionId}": _get("one layer", [COLLECTION_ID]),
            "/collections/{collectionId}/queryables": _get("queryable properties", [COLLECTION_ID],
                                                           "application/schema+json"),
            "/collections/{collectionId}/items": _get("features", [COLLECTION_ID, *PARAMS], "application/geo+json"),
            "/collections/{collectionId}/items/{featureId}": _get(
                "one feature", [COLLECTION_ID, _param("featureId", "path", {"type": "string"}, "feature id", True)],
                "application/geo+json"),
            "/tileMatrixSets": _get("tile matrix sets", []),
            "/tileMatrixSets/{tileMatrixSetId}": _get("a tile matrix set definition (TMS 2.0)", [TMS_ID]),
            "/collections/{collectionId}/tiles": _get("vector tilesets of the layer", [COLLECTION_ID]),
            "/collections/{collectionId}/tiles/{tileMatrixSetId}": _get(
                "vector tileset metadata (f=tilejson: TileJSON)", [COLLECTION_ID, TMS_ID, _param(
                    "f", "query", {"type": "string", "enum": ["json", "tilejson"]}, "json or tilejson")]),
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": _get(
                "vector tile (z/y/x)", [COLLECTION_ID, TMS_ID, *TILE], "application/vnd.mapbox-vector-tile"),
        },
    }


# -- the catalog's /api routes, merged into /api/openapi.json ---------------------------------------------------


def api_document() -> dict:
    """The layers' part of /api/openapi.json (the catalog API and identify)."""
    schemas = {
        "Layer": obj(("name", "title", "category", "geometry_type", "feature_count", "attributes", "visibility"),
                     name=STRING, title=STRING, description=NULLABLE_STRING, category=STRING, group=NULLABLE_STRING,
                     geometry_type=STRING, feature_count=INTEGER,
                     extent={"type": "array", "items": NUMBER, "nullable": True}, source_crs=NULLABLE_STRING,
                     attributes={"type": "array", "items": {"type": "object"}}, style={"type": "object"},
                     visibility=STRING, data_version=INTEGER, updated_at=NULLABLE_STRING,
                     shown_by_default={"type": "boolean"}, sort_order=INTEGER),
        "LayerUpload": obj(("file",), name=STRING, file={"type": "string", "format": "binary"}, title=STRING,
                           category=STRING, group=STRING, description=STRING, layer=STRING, crs=STRING,
                           province=STRING, visibility={"type": "string", "enum": ["public", "internal"]},
                           style={"type": "string", "description": "JSON object"}),
    }
    paths = {
        "/api/identify": {"get": op("features of every layer at a point", "layers", params=[
            *POINT, param("tolerance_m", {"type": "number", "minimum": 0, "maximum": MAX_TOLERANCE_M}),
            param("layers", STRING, description="comma-separated layer names")],
            ok=(200, JSON, list_of("layers", {"type": "object"}, lon=LON, lat=LAT, tolerance_m=NUMBER)))},
        "/api/layers": {
            "get": op("the layer catalog", "layers", params=[param("category", STRING), param("group", STRING),
                                                             param("q", STRING)],
                      ok=(200, JSON, list_of("layers", ref("Layer")))),
            "post": op("import a planning file as a new layer", "layers",
                       body={"multipart/form-data": {"schema": ref("LayerUpload")}},
                       ok=(201, JSON, obj(("import", "layer"), layer=ref("Layer"))), roles=("planner",)),
        },
        "/api/layers/{name}": {
            "get": op("one layer", "layers", params=[path_param("name")], ok=(200, JSON, ref("Layer"))),
            "patch": op("change a layer's title, style (with legend labels), category, visibility, whether the map "
                        "shows it at first, its place in the catalog, or its attributes' aliases, formats and units",
                        "layers", params=[path_param("name")], body=json_body({"type": "object"}),
                        ok=(200, JSON, ref("Layer")),
                        roles=("planner",)),
            "delete": op("remove a layer", "layers", params=[path_param("name")], ok=(204, JSON, None),
                         roles=("planner",)),
        },
        "/api/layers/{name}/data": {"put": op(
            "replace a layer's data atomically", "layers", params=[path_param("name")],
            body={"multipart/form-data": {"schema": ref("LayerUpload")}},
            ok=(200, JSON, obj(("import", "layer"), layer=ref("Layer"))), roles=("planner",))},
        "/api/layers/{name}/export": {"get": op(
            "download a layer", "layers", params=[
                path_param("name"), param("format", {"type": "string", "enum": ["geojson", "gpkg", "shp", "csv"]}),
                BBOX, param("crs", STRING, description="CRS of the file: EPSG:3405, vn2000:107.75 (default WGS 84)"),
                param("province", STRING, description="the VN-2000 TM-3 zone of a province, e.g. hue")],
            ok=(200, (GEOJSON, "application/geopackage+sqlite3", "application/zip", "text/csv"), None),
            description="X-Export-Notes (a JSON list) says what the format could not keep, e.g. Shapefile text "
                        "cut to 254 bytes.")},
        "/api/layers/{name}/tiles/{z}/{x}/{y}.mvt": {"get": op(
            "a vector tile in XYZ order (OGC API - Tiles at /ogc has z/y/x)", "layers",
            params=[path_param("name"), *[path_param(n, {"type": "integer", "minimum": 0}) for n in "zxy"]],
            ok=(200, "application/vnd.mapbox-vector-tile", None))},
        "/api/layers/{name}/tiles.json": {"get": op(
            "TileJSON of the layer's XYZ tiles", "layers", params=[path_param("name")], ok=(200, JSON, None))},
    }
    return {"paths": paths, "schemas": schemas}
