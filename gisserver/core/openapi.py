"""The OpenAPI 3.0 description of the /api routes, served at GET /api/openapi.json.

Written by hand in one place rather than generated from view docstrings: the views are thin and
spread over several packages, and the project uses dataclasses, not marshmallow schemas. Two
tests keep it honest: every /api route of the app is described here (and nothing else), and
Schemathesis checks the running app's answers against it (tests/test_openapi.py).
OGC API - Features has its own document at /ogc/api (layers/openapi.py); Open311 follows the
GeoReport v2 specification.
"""

from __future__ import annotations

from flask import Blueprint, request

from gisserver.auth import open_to

bp = Blueprint("openapi", __name__)

JSON = "application/json"
GEOJSON = "application/geo+json"


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: tuple[str, ...] = (), **properties) -> dict:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _list_of(key: str, item: dict, **extra) -> dict:
    return _obj((key,), **{key: {"type": "array", "items": item}}, **extra)


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
    "Error": _obj(("error",), error=_obj(("code", "message", "details"), code=STRING, message=STRING,
                                         details={"type": "object"})),
    "FeatureCollection": _obj(("type", "features"), type={"type": "string", "enum": ["FeatureCollection"]},
                              features={"type": "array", "items": {"type": "object"}}),
    "Area": _obj(("code", "name", "level", "valid_from", "valid_to"), code=STRING, name=STRING,
                 level={"type": "string", "enum": ["city", "ward", "group"]},
                 valid_from={"type": "string", "format": "date"},
                 valid_to={"type": "string", "format": "date", "nullable": True}),
    "Category": _obj(("code", "name_vi", "name_en", "domain", "deadline_hours"), code=STRING, name_vi=STRING,
                     name_en=STRING, domain=STRING, deadline_hours=INTEGER),
    "ReportIn": _obj(("category", "description"), category=STRING, description={"type": "string", "maxLength": 4000},
                     location=_obj(("lon", "lat"), lon=LON, lat=LAT), address=STRING, area=STRING,
                     channel={"type": "string", "enum": ["api", "qr_web", "open311"]},
                     reporter=_obj(name=STRING, phone=STRING)),
    "ReportPublic": _obj(("tracking_code", "category", "status", "created_at", "due_at", "overdue", "progress"),
                         tracking_code=STRING, category={"type": "object"}, status=STRING,
                         area={"type": "object", "nullable": True}, unit=NULLABLE_STRING, created_at=TIME,
                         due_at=TIME, closed_at=NULLABLE_TIME, overdue=BOOLEAN, resolution=NULLABLE_STRING,
                         progress={"type": "array", "items": {"type": "object"}}, status_url=STRING, id=INTEGER),
    "ReportStaff": _obj(("id", "tracking_code", "category", "status", "created_at", "due_at"), id=INTEGER,
                        tracking_code=STRING, category=STRING, description=STRING,
                        location={"type": "object", "nullable": True}, status=STRING, channel=STRING,
                        reporter={"type": "object"}, created_at=TIME, due_at=TIME, overdue=BOOLEAN,
                        history={"type": "array", "items": {"type": "object"}},
                        photos={"type": "array", "items": {"type": "object"}}),
    "ReportPage": _obj(("items", "total", "page", "per_page"), items={"type": "array", "items": _ref("ReportStaff")},
                       total=INTEGER, page=INTEGER, per_page=INTEGER),
    "Camera": _obj(("code", "name", "lon", "lat", "health"), code=STRING, name=STRING, lon=LON, lat=LAT,
                   direction={"type": "number", "nullable": True}, fov=NUMBER, range_m=NUMBER,
                   area={"type": "object", "nullable": True}, health=STRING,
                   ai_capabilities={"type": "array", "items": STRING}, last_seen_at=NULLABLE_TIME,
                   stream_url=NULLABLE_STRING),
    "CameraIn": _obj(("code", "name", "lon", "lat"), code=STRING, name=STRING, lon=LON, lat=LAT,
                     direction={"type": "number", "minimum": 0, "maximum": 360, "exclusiveMaximum": True},
                     fov={"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 360},
                     range_m={"type": "number", "minimum": 0, "exclusiveMinimum": True}, owner_unit=STRING,
                     state=STRING, ai_capabilities={"type": "array", "items": STRING}, stream_url=STRING),
    "Hotspot": _obj(("code", "name", "lon", "lat", "thresholds_cm", "status"), code=STRING, name=STRING, lon=LON,
                    lat=LAT, thresholds_cm={"type": "object"}, level_cm={"type": "number", "nullable": True},
                    reading_at=NULLABLE_TIME, status=STRING),
    "Alert": _obj(("id", "type", "status", "lon", "lat", "first_at", "last_at"), id=INTEGER, type=STRING,
                  status=STRING, lon=LON, lat=LAT, camera_id={"type": "integer", "nullable": True}, first_at=TIME,
                  last_at=TIME, event_count=INTEGER, max_confidence=NUMBER, due_at=TIME,
                  unit_ids={"type": "array", "items": INTEGER}, area_id={"type": "integer", "nullable": True},
                  linked_report_id={"type": "integer", "nullable": True}, closed_at=NULLABLE_TIME),
    "Layer": _obj(("name", "title", "category", "geometry_type", "feature_count", "attributes", "visibility"),
                  name=STRING, title=STRING, description=NULLABLE_STRING, category=STRING, group=NULLABLE_STRING,
                  geometry_type=STRING, feature_count=INTEGER,
                  extent={"type": "array", "items": NUMBER, "nullable": True}, source_crs=NULLABLE_STRING,
                  attributes={"type": "array", "items": {"type": "object"}}, style={"type": "object"},
                  visibility=STRING, data_version=INTEGER, updated_at=NULLABLE_STRING),
    "LayerUpload": _obj(("file",), name=STRING, file={"type": "string", "format": "binary"}, title=STRING,
                        category=STRING, group=STRING, description=STRING, layer=STRING, crs=STRING,
                        province=STRING, visibility={"type": "string", "enum": ["public", "internal"]},
                        style={"type": "string", "description": "JSON object"}),
    "Action": _obj(("action",), action=STRING, note=STRING),
}


def _param(name: str, schema: dict, where: str = "query", description: str = "", required: bool = False) -> dict:
    param = {"name": name, "in": where, "required": required or where == "path", "schema": schema}
    if description:
        param["description"] = description
    return param


def _path(name: str, schema: dict = STRING) -> dict:
    return _param(name, schema, "path")


def _content(media: str | tuple[str, ...], schema: dict | None) -> dict:
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
            str(status): {"description": "OK", "content": _content(media, schema)} if status != 204
            else {"description": "done"},
            "default": {"description": "an error", "content": _content(JSON, _ref("Error"))},
        },
    }
    if body:
        operation["requestBody"] = {"required": True, "content": body}
    if roles:
        operation["security"] = [{"bearer": []}, {"session": []}]
        operation["description"] = f"For callers with the role {' or '.join(roles)} (admins pass every check)."
    operation.update(extra)
    return operation


def _json_body(schema: dict) -> dict:
    return {JSON: {"schema": schema}}


def _also_created(operation: dict, schema: dict) -> dict:
    """Intake answers 201 when it files the report and 200 when an Idempotency-Key replays one."""
    operation["responses"]["201"] = {"description": "filed", "content": _content(JSON, schema)}
    return operation


IDEMPOTENCY_KEY = _param("Idempotency-Key", {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,100}$"}, "header",
                         "a retry with the same key returns the first report instead of filing another")
QUEUE = [_param("status", STRING, description="comma-separated statuses"), _param("overdue", BOOLEAN),
         _param("category", STRING), _param("area", STRING), _param("unit", STRING),
         _param("from", {"type": "string", "format": "date"}), _param("to", {"type": "string", "format": "date"}),
         _param("sort", {"type": "string", "enum": ["created", "-created", "due", "-due", "updated", "-updated"]}),
         _param("page", {"type": "integer", "minimum": 1}), _param("per_page", {"type": "integer", "minimum": 1,
                                                                              "maximum": 200})]
POINT = [_param("lon", LON, required=True), _param("lat", LAT, required=True)]
BBOX = _param("bbox", STRING, description="minx,miny,maxx,maxy in degrees")
DATABASE_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
REPORT_ID = _path("report_id", DATABASE_ID)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE = {"type": "string", "format": "date"}
SUMMARY = [_param("from", DATE), _param("to", DATE), _param("as_of", DATE),
           _param("areas", {"type": "string", "enum": ["now", "then"]}), _param("trend", STRING)]
RECORDS = [_param("source", {"type": "string", "enum": ["reports", "dossiers"]}), _param("measure", STRING),
           _param("child", STRING), _param("dim", STRING), _param("key", STRING),
           _param("page", {"type": "integer", "minimum": 1}),
           _param("per_page", {"type": "integer", "minimum": 1, "maximum": 500})]


def paths() -> dict:
    """Every /api route, keyed by its OpenAPI path."""
    staff = ("officer", "leader")
    return {
        "/api/openapi.json": {"get": op("this document", "meta")},
        "/api/reports": {
            "post": _also_created(op("file a citizen report", "reports", params=[IDEMPOTENCY_KEY],
                                     body=_json_body(_ref("ReportIn")), ok=(200, JSON, _ref("ReportPublic"))),
                                  _ref("ReportPublic")),
            "get": op("the caller's report queue", "reports", params=QUEUE, ok=(200, JSON, _ref("ReportPage")),
                      roles=staff),
        },
        "/api/reports.geojson": {"get": op("the queue on a map", "reports", params=QUEUE,
                                           ok=(200, GEOJSON, _ref("FeatureCollection")), roles=staff)},
        "/api/reports/{code}/status": {"get": op("a report's progress by tracking code", "reports",
                                                 params=[_path("code")], ok=(200, JSON, _ref("ReportPublic")))},
        "/api/reports/{report_id}": {"get": op("one report with history and photos", "reports", params=[REPORT_ID],
                                               ok=(200, JSON, _ref("ReportStaff")), roles=staff)},
        "/api/reports/{report_id}/photos/{photo_id}": {"get": op(
            "a report's photo", "reports", params=[REPORT_ID, _path("photo_id", DATABASE_ID)],
            ok=(200, "image/jpeg", None), roles=staff)},
        "/api/reports/{report_id}/cameras": {"get": op(
            "cameras that see the report's place, nearest first", "reports", params=[REPORT_ID],
            ok=(200, JSON, _list_of("cameras", {"type": "object"})), roles=staff)},
        "/api/reports/{report_id}/transition": {"post": op(
            "acknowledge, start, resolve, reject or reopen", "reports", params=[REPORT_ID],
            body=_json_body(_ref("Action")), ok=(200, JSON, _ref("ReportStaff")), roles=("officer",))},
        "/api/reports/{report_id}/reassign": {"post": op(
            "hand to another unit or area", "reports", params=[REPORT_ID],
            body=_json_body(_obj(("reason",), reason=STRING, unit=STRING, area=STRING)),
            ok=(200, JSON, _ref("ReportStaff")), roles=("officer",))},
        "/api/reports/{report_id}/merge": {"post": op(
            "merge duplicates into this report", "reports", params=[REPORT_ID],
            body=_json_body(_obj(("duplicates",), duplicates={"type": "array", "items": INTEGER})),
            ok=(200, JSON, _ref("ReportStaff")), roles=("officer",))},
        "/api/reports/{report_id}/location": {"patch": op(
            "move a misplaced report", "reports", params=[REPORT_ID],
            body=_json_body(_obj(("lon", "lat"), lon=LON, lat=LAT, reason=STRING)),
            ok=(200, JSON, _ref("ReportStaff")), roles=("officer",))},
        "/api/report-categories": {"get": op("report categories", "reports",
                                             ok=(200, JSON, _list_of("categories", _ref("Category"))))},
        "/api/areas": {"get": op("administrative areas", "areas", params=[
            _param("level", {"type": "string", "enum": ["city", "ward", "group"]}), _param("parent", STRING)],
            ok=(200, JSON, _list_of("areas", _ref("Area"))))},
        "/api/areas.geojson": {"get": op("area outlines", "areas", params=[
            _param("level", {"type": "string", "enum": ["city", "ward", "group"]}), _param("parent", STRING)],
            ok=(200, GEOJSON, _ref("FeatureCollection")))},
        "/api/areas/lookup": {"get": op("the areas containing a point", "areas", params=[
            *POINT, _param("on", {"type": "string", "format": "date"})],
            ok=(200, JSON, _list_of("areas", _ref("Area"), inside_city=BOOLEAN)))},
        "/api/areas/{code}/qr/{kind}.{fmt}": {"get": op(
            "a ward's QR code", "areas", params=[_path("code"), _path("kind", {"type": "string",
                                                                            "enum": ["police", "committee"]}),
                                                 _path("fmt", {"type": "string", "enum": ["png", "svg"]})],
            ok=(200, ("image/png", "image/svg+xml"), None))},
        "/api/areas/{code}/keychains.pdf": {"get": op(
            "a sheet of QR keychain cards for a ward", "areas",
            params=[_path("code"), _param("copies", {"type": "integer", "minimum": 1, "maximum": 200})],
            ok=(200, "application/pdf", None))},
        "/api/geocode": {"get": op("addresses matching a text, with or without diacritics", "areas", params=[
            _param("q", STRING), _param("limit", {"type": "integer", "minimum": 1, "maximum": 50})],
            ok=(200, JSON, _list_of("places", {"type": "object"})))},
        "/api/geocode/reverse": {"get": op("the nearest address", "areas", params=POINT,
                                           ok=(200, JSON, _obj(("label", "lon", "lat"), label=STRING, lon=LON,
                                                               lat=LAT, distance_m=NUMBER)))},
        "/api/identify": {"get": op("features of every layer at a point", "layers", params=[
            *POINT, _param("tolerance_m", {"type": "number", "minimum": 0, "maximum": 1000}),
            _param("layers", STRING, description="comma-separated layer names")],
            ok=(200, JSON, _list_of("layers", {"type": "object"}, lon=LON, lat=LAT, tolerance_m=NUMBER)))},
        "/api/layers": {
            "get": op("the layer catalog", "layers", params=[_param("category", STRING), _param("group", STRING),
                                                             _param("q", STRING)],
                      ok=(200, JSON, _list_of("layers", _ref("Layer")))),
            "post": op("import a planning file as a new layer", "layers",
                       body={"multipart/form-data": {"schema": _ref("LayerUpload")}},
                       ok=(201, JSON, _obj(("import", "layer"), layer=_ref("Layer"))), roles=("planner",)),
        },
        "/api/layers/{name}": {
            "get": op("one layer", "layers", params=[_path("name")], ok=(200, JSON, _ref("Layer"))),
            "patch": op("change a layer's title, style, category or visibility", "layers", params=[_path("name")],
                        body=_json_body({"type": "object"}), ok=(200, JSON, _ref("Layer")), roles=("planner",)),
            "delete": op("remove a layer", "layers", params=[_path("name")], ok=(204, JSON, None),
                         roles=("planner",)),
        },
        "/api/layers/{name}/data": {"put": op(
            "replace a layer's data atomically", "layers", params=[_path("name")],
            body={"multipart/form-data": {"schema": _ref("LayerUpload")}},
            ok=(200, JSON, _obj(("import", "layer"), layer=_ref("Layer"))), roles=("planner",))},
        "/api/layers/{name}/export": {"get": op(
            "download a layer", "layers", params=[
                _path("name"), _param("format", {"type": "string", "enum": ["geojson", "gpkg", "shp", "csv"]}), BBOX],
            ok=(200, (GEOJSON, "application/geopackage+sqlite3", "application/zip", "text/csv"), None))},
        "/api/cameras": {
            "get": op("the camera registry", "cameras", params=[
                _param("area", STRING), _param("ai", BOOLEAN),
                _param("health", {"type": "string", "enum": ["online", "offline", "maintenance"]})],
                ok=(200, JSON, _list_of("cameras", _ref("Camera"), total=INTEGER))),
            "post": op("register a camera", "cameras", body=_json_body(_ref("CameraIn")),
                       ok=(201, JSON, _ref("Camera")), roles=("officer",)),
        },
        "/api/cameras.geojson": {"get": op("cameras, or their view cones, on a map", "cameras", params=[
            _param("geometry", {"type": "string", "enum": ["point", "coverage"]}), BBOX],
            ok=(200, GEOJSON, _ref("FeatureCollection")))},
        "/api/cameras/seeing": {"get": op("cameras whose view covers a point", "cameras", params=POINT,
                                          ok=(200, JSON, _list_of("cameras", {"type": "object"})))},
        "/api/cameras/export": {"get": op(
            "the registry as a file that imports again (no stream addresses)", "cameras",
            params=[_param("format", {"type": "string", "enum": ["csv", "geojson"]})],
            ok=(200, ("text/csv", GEOJSON), None), roles=("officer", "leader", "planner"))},
        "/api/cameras/import": {"post": op(
            "create or update cameras from a CSV (lon/lat) or GeoJSON file, all rows or none", "cameras",
            body={"multipart/form-data": {"schema": _obj(("file",), file={"type": "string", "format": "binary"},
                                                            crs=STRING)}},
            ok=(200, JSON, _obj(("created", "updated"), created=INTEGER, updated=INTEGER)), roles=("officer",))},
        "/api/cameras/{code}": {
            "get": op("one camera", "cameras", params=[_path("code")], ok=(200, JSON, _ref("Camera"))),
            "patch": op("change a camera", "cameras", params=[_path("code")], body=_json_body({"type": "object"}),
                        ok=(200, JSON, _ref("Camera")), roles=("officer",)),
            "delete": op("remove a camera", "cameras", params=[_path("code")], ok=(204, JSON, None),
                         roles=("admin",)),
        },
        "/api/cameras/{code}/heartbeat": {"post": op(
            "a camera says it is alive", "cameras", params=[_path("code")], ok=(200, JSON, _obj(("ok",), ok=BOOLEAN)),
            roles=("device camera:<code>", "officer"))},
        "/api/cameras/{code}/events": {"post": op(
            "an AI event from a camera (fire, flood, crowd...), deduplicated into alerts", "cameras",
            params=[_path("code")],
            body=_json_body(_obj(("type", "confidence"), type=STRING, confidence={"type": "number", "minimum": 0,
                                                                                  "maximum": 1},
                                 at=TIME, lon=LON, lat=LAT, snapshot={"type": "string", "format": "byte"})),
            ok=(201, JSON, _obj(("alert", "new_alert"), alert=_ref("Alert"), new_alert=BOOLEAN)),
            roles=("device camera:<code>", "officer"))},
        "/api/hotspots": {"get": op("flood hotspots and their water levels", "hotspots",
                                    ok=(200, JSON, _list_of("hotspots", _ref("Hotspot"))))},
        "/api/hotspots/readings": {"post": op(
            "water-level readings, stored once however often they are sent", "hotspots",
            body=_json_body(_obj(("readings",), readings={"type": "array", "items": _obj(
                ("hotspot", "at", "level_cm"), hotspot=STRING, at=TIME,
                level_cm={"type": "number", "minimum": -100, "maximum": 2000}, reading_id=STRING)})),
            ok=(201, JSON, _obj(("stored", "duplicates"), stored=INTEGER, duplicates=INTEGER)),
            roles=("device readings:write", "officer"))},
        "/api/hotspots/{code}/readings": {"get": op(
            "a hotspot's readings over time", "hotspots",
            params=[_path("code"), _param("from", TIME), _param("to", TIME)],
            ok=(200, JSON, _list_of("readings", {"type": "object"}, hotspot=STRING)))},
        "/api/alerts": {"get": op("alerts in the caller's units and areas", "alerts", params=[
            _param("status", STRING, description="comma-separated statuses"), _param("type", STRING)],
            ok=(200, JSON, _list_of("alerts", _ref("Alert"))), roles=staff)},
        "/api/alerts/{alert_id}": {"get": op("one alert with its history", "alerts",
                                             params=[_path("alert_id", DATABASE_ID)], ok=(200, JSON, _ref("Alert")),
                                             roles=staff)},
        "/api/alerts/{alert_id}/transition": {"post": op(
            "acknowledge, dispatch, resolve or dismiss an alert", "alerts",
            params=[_path("alert_id", DATABASE_ID)], body=_json_body(_ref("Action")),
            ok=(200, JSON, _ref("Alert")), roles=("officer",))},
        "/api/summaries/{code}": {"get": op(
            "an area's figures over a period, with its child areas", "summaries",
            params=[_path("code"), *SUMMARY], ok=(200, JSON, {"type": "object"}), roles=("leader",))},
        "/api/summaries/{code}/export.{fmt}": {"get": op(
            "the summary as a file", "summaries",
            params=[_path("code"), _path("fmt", {"type": "string", "enum": ["csv", "pdf", "xlsx"]}), *SUMMARY,
                    _param("table", STRING)],
            ok=(200, ("text/csv", "application/pdf", XLSX), None), roles=("leader",))},
        "/api/summaries/{code}/records": {"get": op(
            "the reports or dossiers behind one figure", "summaries", params=[_path("code"), *SUMMARY, *RECORDS],
            ok=(200, JSON, {"type": "object"}), roles=("leader",))},
        "/api/summaries/{code}/records.{fmt}": {"get": op(
            "those records as a file", "summaries",
            params=[_path("code"), _path("fmt", {"type": "string", "enum": ["json", "csv", "xlsx"]}), *SUMMARY,
                    *RECORDS], ok=(200, (JSON, "text/csv", XLSX), None), roles=("leader",))},
        "/api/summaries/{code}/map": {"get": op(
            "child areas coloured by one indicator", "summaries",
            params=[_path("code"), *SUMMARY, _param("indicator", STRING), _param("rank_by", STRING)],
            ok=(200, (JSON, GEOJSON), None), roles=("leader",))},
        "/api/dossiers/import": {"post": op(
            "import administrative dossiers (an export of the one-stop-shop system)", "summaries",
            body={"multipart/form-data": {"schema": _obj(("file",), file={"type": "string", "format": "binary"})}},
            ok=(201, JSON, {"type": "object"}), roles=("device dossiers:import", "admin"))},
        "/api/audit": {"get": op("the audit log", "admin", params=[
            _param("table", STRING), _param("actor", STRING),
            _param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _param("before", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1})],
            ok=(200, JSON, _list_of("entries", {"type": "object"}, next_before={"type": "integer", "nullable": True})),
            roles=("admin",))},
    }


def openapi_document(base_url: str = "") -> dict:
    """The whole document; *base_url* is where the app is reached (the request's root when served)."""
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
        "paths": paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "an API token (gisserver tokens issue)"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
        },
    }


@bp.get("/api/openapi.json")
@open_to("everyone; the API description")
def document():
    return openapi_document(request.url_root)
