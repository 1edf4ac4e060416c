"""The OpenAPI 3.0 description of the /api routes, served at GET /api/openapi.json.

Each feature describes its own routes next to its views (an ``openapi`` entry in its manifest returning paths and
schemas, as pygeoapi's providers do with ``get_oas_30``); this module holds the shared building blocks and merges
the parts. Two tests keep it honest: every /api route of the app is described (and nothing else), and Schemathesis
checks the running app's answers against it (tests/core/test_openapi.py). OGC API - Features has its own document
at /ogc/api (layers/openapi.py); Open311 follows the GeoReport v2 specification.
"""

from __future__ import annotations

from flask import Blueprint, request

from gisserver.core import features
from gisserver.core.access import on_replica, open_to

bp = Blueprint("openapi", __name__)

JSON = "application/json"
GEOJSON = "application/geo+json"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: tuple[str, ...] = (), **properties) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def list_of(key: str, item: dict, **extra) -> dict:
    return obj((key,), **{key: {"type": "array", "items": item}}, **extra)


STRING = {"type": "string"}
NULLABLE_STRING = {"type": "string", "nullable": True}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
NULLABLE_TIME = {"type": "string", "format": "date-time", "nullable": True}
LON = {"type": "number", "minimum": -180, "maximum": 180}
LAT = {"type": "number", "minimum": -90, "maximum": 90}

SCHEMAS = {
    "Error": obj(("error",), error=obj(("code", "message", "details"), code=STRING, message=STRING,
                                       details={"type": "object"})),
    "FeatureCollection": obj(("type", "features"), type={"type": "string", "enum": ["FeatureCollection"]},
                             features={"type": "array", "items": {"type": "object"}}),
}


def param(name: str, schema: dict, where: str = "query", description: str = "", required: bool = False) -> dict:
    param = {"name": name, "in": where, "required": required or where == "path", "schema": schema}
    if description:
        param["description"] = description
    return param


def path_param(name: str, schema: dict = STRING) -> dict:
    return param(name, schema, "path")


def content(media: str | tuple[str, ...], schema: dict | None) -> dict:
    medias = (media,) if isinstance(media, str) else media
    return {m: {"schema": schema} if schema else {} for m in medias}


def op(summary: str, tag: str, *, params: list | None = None, body: dict | None = None,
       ok: tuple[int, str | tuple[str, ...], dict | None] = (200, JSON, None), roles: tuple[str, ...] = (),
       **extra) -> dict:
    """One operation: every answer that is not the documented success is an Error body."""
    status, media, schema = ok
    operation = {
        "summary": summary,
        "tags": [tag],
        "parameters": params or [],
        "responses": {
            str(status): {"description": "OK", "content": content(media, schema)} if status != 204
            else {"description": "done"},
            "default": {"description": "an error", "content": content(JSON, ref("Error"))},
        },
    }
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    if roles:
        operation["security"] = [{"bearer": []}, {"session": []}]
        operation["description"] = f"For callers with the role {' or '.join(roles)} (admins pass every check)."
    operation.update(extra)
    return operation


def json_body(schema: dict) -> dict:
    return {JSON: {"schema": schema}}


POINT = [param("lon", LON, required=True), param("lat", LAT, required=True)]
BBOX = param("bbox", STRING, description="minx,miny,maxx,maxy in degrees")
DATABASE_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE = {"type": "string", "format": "date"}
CORE_PATHS = {"/api/openapi.json": {"get": op("this document", "meta")}}


def contributed() -> tuple[dict, dict]:
    """(paths, schemas) of every feature, merged: two features may describe two methods of one path."""
    paths = {path: dict(item) for path, item in CORE_PATHS.items()}
    schemas = dict(SCHEMAS)
    for reference in features.references("openapi"):
        part = features.load(reference)()
        for path, item in part.get("paths", {}).items():
            clash = set(item) & set(paths.get(path, {}))
            if clash:
                raise ValueError(f"{reference} describes {path} {sorted(clash)} again")
            paths.setdefault(path, {}).update(item)
        schemas.update(part.get("schemas", {}))
    return dict(sorted(paths.items())), schemas


def openapi_document(base_url: str = "") -> dict:
    """The whole document; *base_url* is where the app is reached (the request's root when served)."""
    paths, schemas = contributed()
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "gisserver API",
            "version": "1.0.0",
            "description": "Citizen reports, areas, layers, cameras, flood hotspots and alerts. Errors are "
                           '{"error": {"code", "message", "details"}}; 503 with Retry-After while the database '
                           "is unreachable. OGC API - Features is described at /ogc/api.",
            "license": {"name": "MIT"},
        },
        "servers": [{"url": base_url.rstrip("/") or "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (gisserver tokens issue)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.get("/api/openapi.json")
@open_to("everyone; the API description")
@on_replica
def document():
    return openapi_document(request.url_root)
