"""The OpenAPI 3.0 description of the OGC API - Features endpoints."""

from __future__ import annotations


def _param(name: str, where: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "schema": schema, "description": description}


COLLECTION_ID = _param("collectionId", "path", {"type": "string"}, "layer name", True)
PARAMS = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}, "page size"),
    _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "features to skip"),
    _param("bbox", "query", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
           "minx,miny,maxx,maxy in CRS84"),
    _param("datetime", "query", {"type": "string"}, "instant or interval (a/b, ../b, a/..)"),
    _param("filter", "query", {"type": "string"}, "CQL2 filter"),
    _param("filter-lang", "query", {"type": "string", "enum": ["cql2-text", "cql2-json"]}, "filter language"),
    _param("f", "query", {"type": "string", "enum": ["json", "html"]}, "output format"),
]


def _get(summary: str, params: list, content: str = "application/json") -> dict:
    return {"get": {"summary": summary, "parameters": params,
                    "responses": {"200": {"description": "OK", "content": {content: {}}},
                                  "400": {"description": "bad request"}, "404": {"description": "not found"}}}}


def openapi_document(base_url: str) -> dict:
    return {
        "openapi": "3.0.3",
        "info": {"title": "gisserver OGC API - Features", "version": "1.0.0",
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
            "/collections/{collectionId}/tiles/WebMercatorQuad": _get("TileJSON", [COLLECTION_ID]),
            "/collections/{collectionId}/tiles/WebMercatorQuad/{z}/{x}/{y}": _get(
                "vector tile", [COLLECTION_ID] + [_param(n, "path", {"type": "integer"}, n, True) for n in "zxy"],
                "application/vnd.mapbox-vector-tile"),
        },
    }
