"""The OpenAPI 3.0 description of the OGC API - Features and OGC API - Tiles endpoints."""

from __future__ import annotations

from gisserver.core.openapi import (
    BBOX,
    BOOLEAN,
    DATABASE_ID,
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
from layers.crs import CRS84, SERVED_CRS
from layers.identify import MAX_TOLERANCE_M


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


COLLECTION_ID = _param("collectionId", "path", {"type": "string"}, "layer name", True)
SERVED = {"type": "string", "enum": list(SERVED_CRS), "default": CRS84}
CRS = _param("crs", "query", SERVED, "CRS of the answer's coordinates (Part 2), in its axis order; said in Content-Crs")
PARAMS = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}, "page size"),
    _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
    _param("cursor", "query", {"type": "integer", "minimum": 0},
           "keyset paging: features after this feature id (the next links carry it)"),
    _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
           "minx,miny,maxx,maxy in bbox-crs (CRS84 by default; EPSG:4326 is minlat,minlon,maxlat,maxlon)"),
    _param("datetime", "query", {"type": "string"}, "instant or interval (a/b, ../b, a/..)"),
    _param("filter", "query", {"type": "string"}, "CQL2 filter"),
    _param("filter-lang", "query", {"type": "string", "enum": ["cql2-text", "cql2-json"]}, "filter language"),
    CRS,
    _param("bbox-crs", "query", SERVED, "CRS of bbox, in its axis order"),
    _param("filter-crs", "query", SERVED, "CRS of the filter's geometry literals, in its axis order"),
    _param("f", "query", {"type": "string", "enum": ["json", "html"]}, "output format"),
]
TMS_ID = _param("tileMatrixSetId", "path", {"type": "string", "enum": ["WebMercatorQuad"]}, "tile matrix set", True)
TILE = [_param(name, "path", {"type": "integer", "minimum": 0}, description, True) for name, description in (
    ("tileMatrix", "zoom level"), ("tileRow", "row (y), from the top"), ("tileCol", "column (x), from the left"))]
AT = _param("at", "query", {"type": "string"},
            "the layer as it was at this instant (RFC 3339 with a time zone, or a date: its start in UTC)")
FEATURE_ID = _param("featureId", "path", {"type": "string"}, "feature id", True)
WRITE_PARAMS = [
    _param("comment", "query", {"type": "string", "maxLength": 2000}, "why, for the layer's history"),
    _param("Content-Crs", "header", {"type": "string"}, "the CRS of the body's coordinates, as <uri> (default CRS84)"),
]
IF_MATCH = _param("If-Match", "header", {"type": "string"},
                  "the ETag of the version being changed (a stale one: 412; none: 428; * changes any version)",
                  required=True)
REFUSALS = {"400": "bad request", "401": "not signed in", "403": "not a planner", "404": "not found",
            "412": "the feature changed since that ETag", "413": "body too large", "415": "not JSON",
            "428": "If-Match missing (PUT, PATCH, DELETE)"}


def _get(summary: str, params: list, content: str = "application/json") -> dict:
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": {"description": "OK", "content": {content: {}}},
                                  "400": {"description": "bad request"}, "404": {"description": "not found"}}}}


def _write(summary: str, params: list, status: int, body: bool = True) -> dict:
    """A Part 4 operation: planners and admins, a GeoJSON feature in, the stored feature (or nothing) out."""
    responses = {str(status): {"description": "done", **({"content": {GEOJSON_TYPE: {}}} if status != 204 else {})}}
    responses.update({code: {"description": text} for code, text in REFUSALS.items()
                      if status != 201 or code not in ("412", "428")})  # a new feature has no version yet
    operation = {"summary": summary, "parameters": params, "responses": responses,
                 "description": "For callers with the role planner (admins pass every check)."}
    if body:
        operation["requestBody"] = {"required": True, "content": {GEOJSON_TYPE: {"schema": {"type": "object"}},
                                                                  "application/json": {"schema": {"type": "object"}}}}
    return operation


GEOJSON_TYPE = "application/geo+json"


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
            "/collections/{collectionId}/items": {
                **_get("features", [COLLECTION_ID, *PARAMS, AT], GEOJSON_TYPE),
                "post": _write("add a feature (OGC API - Features Part 4)", [COLLECTION_ID, *WRITE_PARAMS], 201),
            },
            "/collections/{collectionId}/items/{featureId}": {
                **_get("one feature (its ETag names its version)", [COLLECTION_ID, FEATURE_ID, CRS, AT],
                       GEOJSON_TYPE),
                "put": _write("replace a feature", [COLLECTION_ID, FEATURE_ID, *WRITE_PARAMS, IF_MATCH], 200),
                "patch": _write("change some properties and/or the geometry of a feature",
                                [COLLECTION_ID, FEATURE_ID, *WRITE_PARAMS, IF_MATCH], 200),
                "delete": _write("delete a feature", [COLLECTION_ID, FEATURE_ID, WRITE_PARAMS[0], IF_MATCH], 204,
                                 body=False),
            },
            "/tileMatrixSets": _get("tile matrix sets", []),
            "/tileMatrixSets/{tileMatrixSetId}": _get("a tile matrix set definition (TMS 2.0)", [TMS_ID]),
            "/collections/{collectionId}/tiles": _get("vector tilesets of the layer", [COLLECTION_ID]),
            "/collections/{collectionId}/tiles/{tileMatrixSetId}": _get(
                "vector tileset metadata (f=tilejson: TileJSON)", [COLLECTION_ID, TMS_ID, _param(
                    "f", "query", {"type": "string", "enum": ["json", "tilejson"]}, "json or tilejson")]),
            "/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}": _get(
                "vector tile (z/y/x)", [COLLECTION_ID, TMS_ID, *TILE, AT], "application/vnd.mapbox-vector-tile"),
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
        "LayerImport": obj(("id", "status", "step", "steps"), id=INTEGER,
                           status={"type": "string", "enum": ["created", "reading", "needs_choice", "ready", "failed",
                                                              "published", "discarded"]},
                           step=STRING, steps={"type": "array", "items": {"type": "object"}}, file_name=STRING,
                           bytes={"type": "integer", "nullable": True},
                           replace={"type": "string", "nullable": True}, options={"type": "object"},
                           report={"type": "object"}, error={"type": "object", "nullable": True},
                           published_layer={"type": "string", "nullable": True}, layer={"type": "object"}),
        "LayerChange": obj(("id", "at", "actor", "kind"), id=INTEGER, at=STRING, actor=STRING, comment=STRING,
                           kind={"type": "string", "enum": ["import", "replace", "create", "update", "delete",
                                                            "restore", "restore_layer"]},
                           fid={"type": "integer", "nullable": True}, data_version=INTEGER,
                           details={"type": "object"}),
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
        "/api/layers/{name}/changes": {"get": op(
            "the layer's changes, newest first: who, when, why, which feature", "layers",
            params=[path_param("name"), param("fid", INTEGER), param("limit", {"type": "integer", "minimum": 1,
                                                                              "maximum": 1000}),
                    param("before", INTEGER, description="only changes with a smaller id (paging)")],
            ok=(200, JSON, list_of("changes", ref("LayerChange"), layer=STRING)), roles=("planner",))},
        "/api/layers/{name}/features/{fid}/versions": {"get": op(
            "every state of a feature, newest first, with the change that made it and what it changed", "layers",
            params=[path_param("name"), path_param("fid", DATABASE_ID)],
            ok=(200, JSON, obj(("fid", "versions"), fid=INTEGER, layer=STRING, deleted=BOOLEAN,
                               versions={"type": "array", "items": {"type": "object"}})), roles=("planner",))},
        "/api/layers/{name}/features/{fid}/restore": {"post": op(
            "make an earlier state of a feature current again (a new change; a deleted feature comes back)",
            "layers", params=[path_param("name"), path_param("fid", DATABASE_ID)],
            body=json_body(obj(("version",), version={"type": "integer", "description": "the change that made "
                                                                                       "the state"},
                               comment=STRING)),
            ok=(200, JSON, obj(("fid", "change"), fid=INTEGER, change=ref("LayerChange"), etag=STRING)),
            roles=("planner",))},
        "/api/layers/{name}/restore": {"post": op(
            "make the layer's data as it was at an instant its current data (a new change)", "layers",
            params=[path_param("name")],
            body=json_body(obj(("at",), at={"type": "string", "format": "date-time"}, comment=STRING)),
            ok=(200, JSON, obj(("change", "layer"), change=ref("LayerChange"), layer=ref("Layer"))),
            roles=("planner",))},
        "/api/layers/{name}/rows": {"get": op(
            "the attribute table: a page of features' properties, sorted and filtered (where.<attribute>=value)",
            "layers", params=[path_param("name"), param("page", {"type": "integer", "minimum": 1}),
                              param("per_page", {"type": "integer", "minimum": 1, "maximum": 500}),
                              param("sort", STRING, description="an attribute name"),
                              param("order", {"type": "string", "enum": ["asc", "desc"]})],
            ok=(200, JSON, obj(("total", "rows"), total=INTEGER, page=INTEGER, per_page=INTEGER,
                               rows={"type": "array", "items": {"type": "object"}})))},
        "/api/layers/{name}/values": {"get": op(
            "the values an attribute takes, most frequent first (for categorised styles)", "layers",
            params=[path_param("name"), param("attribute", STRING, required=True)],
            ok=(200, JSON, list_of("values", {"type": "object"}, attribute=STRING)))},
        "/api/layers/{name}/breaks": {"get": op(
            "class breaks of a number attribute (equal intervals or quantiles)", "layers",
            params=[path_param("name"), param("attribute", STRING, required=True),
                    param("classes", {"type": "integer", "minimum": 2, "maximum": 9}),
                    param("method", {"type": "string", "enum": ["quantile", "equal"]})],
            ok=(200, JSON, list_of("breaks", NUMBER, attribute=STRING, method=STRING)))},
        "/api/layers/{name}/style.{fmt}": {"get": op(
            "the layer's style as a file QGIS opens: SLD 1.1 or QML", "layers",
            params=[path_param("name"), path_param("fmt", {"type": "string", "enum": ["sld", "qml"]})],
            ok=(200, ("application/vnd.ogc.sld+xml", "application/xml"), None))},
        "/api/layers/{name}/check": {"post": op(
            "what saving this feature would say (geometry by ST_IsValid, attributes by the schema), without saving",
            "layers", params=[path_param("name"), param("partial", BOOLEAN)], body=json_body({"type": "object"}),
            ok=(200, JSON, obj(("valid", "problems"), valid=BOOLEAN,
                               problems={"type": "array", "items": {"type": "object"}})), roles=("planner",))},
        "/api/layer-imports": {"post": op(
            "start an upload in steps (then PUT its file, read it, publish it)", "layers",
            body=json_body(obj(("file_name",), file_name=STRING, bytes=INTEGER,
                               replace={"type": "string", "description": "the layer whose data it replaces"})),
            ok=(201, JSON, ref("LayerImport")), roles=("planner",))},
        "/api/layer-imports/{import_id}": {
            "get": op("an upload's progress, choices and report", "layers",
                      params=[path_param("import_id", DATABASE_ID)], ok=(200, JSON, ref("LayerImport")),
                      roles=("planner",)),
            "delete": op("discard an upload", "layers", params=[path_param("import_id", DATABASE_ID)],
                         ok=(204, JSON, None), roles=("planner",)),
        },
        "/api/layer-imports/{import_id}/file": {"put": op(
            "send the file; it is read at once into a staging table (poll the upload for its progress)", "layers",
            params=[path_param("import_id", DATABASE_ID)],
            body={"multipart/form-data": {"schema": obj(("file",), file={"type": "string", "format": "binary"},
                                                        layer=STRING, crs=STRING, province=STRING)}},
            ok=(200, JSON, ref("LayerImport")), roles=("planner",))},
        "/api/layer-imports/{import_id}/read": {"post": op(
            "read the file again with the planner's choice of layer, CRS or VN-2000 province zone", "layers",
            params=[path_param("import_id", DATABASE_ID)],
            body=json_body(obj(layer=STRING, crs=STRING, province=STRING)),
            ok=(200, JSON, ref("LayerImport")), roles=("planner",))},
        "/api/layer-imports/{import_id}/publish": {"post": op(
            "publish the read data as a new layer (201) or as the replaced layer's data (200)", "layers",
            params=[path_param("import_id", DATABASE_ID)],
            body=json_body(obj(name=STRING, title=STRING, category=STRING, group=STRING, description=STRING,
                               visibility={"type": "string", "enum": ["public", "internal"]},
                               style={"type": "object"}, comment=STRING)),
            ok=(201, JSON, ref("LayerImport")), roles=("planner",))},
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
