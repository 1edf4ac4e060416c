"""OpenAPI paths of cameras, flood hotspots and AI alerts."""

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
    NULLABLE_TIME,
    NUMBER,
    POINT,
    STRING,
    TIME,
    json_body,
    list_of,
    obj,
    op,
    param,
    path_param,
    ref,
)
from reports.workflow.openapi import REPORT_ID

STAFF = ("officer", "leader")


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {
    "Camera": obj(("code", "name", "lon", "lat", "health"), code=STRING, name=STRING, lon=LON, lat=LAT,
                  direction={"type": "number", "nullable": True}, fov=NUMBER, range_m=NUMBER,
                  area={"type": "object", "nullable": True}, health=STRING,
                  ai_capabilities={"type": "array", "items": STRING}, last_seen_at=NULLABLE_TIME,
                  stream_url=NULLABLE_STRING),
    "CameraIn": obj(("code", "name", "lon", "lat"), code=STRING, name=STRING, lon=LON, lat=LAT,
                    direction={"type": "number", "minimum": 0, "maximum": 360, "exclusiveMaximum": True},
                    fov={"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 360},
                    range_m={"type": "number", "minimum": 0, "exclusiveMinimum": True}, owner_unit=STRING,
                    state=STRING, ai_capabilities={"type": "array", "items": STRING}, stream_url=STRING),
    "Hotspot": obj(("code", "name", "lon", "lat", "thresholds_cm", "status"), code=STRING, name=STRING, lon=LON,
                   lat=LAT, thresholds_cm={"type": "object"}, level_cm={"type": "number", "nullable": True},
                   reading_at=NULLABLE_TIME, status=STRING),
    "Alert": obj(("id", "type", "status", "lon", "lat", "first_at", "last_at"), id=INTEGER, type=STRING,
                 status=STRING, lon=LON, lat=LAT, camera_id={"type": "integer", "nullable": True}, first_at=TIME,
                 last_at=TIME, event_count=INTEGER, max_confidence=NUMBER, due_at=TIME,
                 unit_ids={"type": "array", "items": INTEGER}, area_id={"type": "integer", "nullable": True},
                 linked_report_id={"type": "integer", "nullable": True}, closed_at=NULLABLE_TIME),
}

PATHS = {
    "/api/reports/{report_id}/cameras": {"get": op(
        "cameras that see the report's place, nearest first", "reports", params=[REPORT_ID],
        ok=(200, JSON, list_of("cameras", {"type": "object"})), roles=STAFF)},
    "/api/cameras": {
        "get": op("the camera registry", "cameras", params=[
            param("area", STRING), param("ai", BOOLEAN),
            param("health", {"type": "string", "enum": ["online", "offline", "maintenance"]})],
                  ok=(200, JSON, list_of("cameras", ref("Camera"), total=INTEGER))),
        "post": op("register a camera", "cameras", body=json_body(ref("CameraIn")),
                   ok=(201, JSON, ref("Camera")), roles=("officer",)),
    },
    "/api/cameras.geojson": {"get": op("cameras, or their view cones, on a map", "cameras", params=[
        param("geometry", {"type": "string", "enum": ["point", "coverage"]}), BBOX],
        ok=(200, GEOJSON, ref("FeatureCollection")))},
    "/api/cameras/seeing": {"get": op("cameras whose view covers a point", "cameras", params=POINT,
                                      ok=(200, JSON, list_of("cameras", {"type": "object"})))},
    "/api/cameras/export": {"get": op(
        "the registry as a file that imports again (no stream addresses)", "cameras",
        params=[param("format", {"type": "string", "enum": ["csv", "geojson"]})],
        ok=(200, ("text/csv", GEOJSON), None), roles=("officer", "leader", "planner"))},
    "/api/cameras/import": {"post": op(
        "create or update cameras from a CSV (lon/lat) or GeoJSON file, all rows or none", "cameras",
        body={"multipart/form-data": {"schema": obj(("file",), file={"type": "string", "format": "binary"},
                                                    crs=STRING)}},
        ok=(200, JSON, obj(("created", "updated"), created=INTEGER, updated=INTEGER)), roles=("officer",))},
    "/api/cameras/{code}": {
        "get": op("one camera", "cameras", params=[path_param("code")], ok=(200, JSON, ref("Camera"))),
        "patch": op("change a camera", "cameras", params=[path_param("code")], body=json_body({"type": "object"}),
                    ok=(200, JSON, ref("Camera")), roles=("officer",)),
        "delete": op("remove a camera", "cameras", params=[path_param("code")], ok=(204, JSON, None),
                     roles=("admin",)),
    },
    "/api/cameras/{code}/heartbeat": {"post": op(
        "a camera says it is alive", "cameras", params=[path_param("code")], ok=(200, JSON, obj(("ok",), ok=BOOLEAN)),
        roles=("device camera:<code>", "officer"))},
    "/api/cameras/{code}/events": {"post": op(
        "an AI event from a camera (fire, flood, crowd...), deduplicated into alerts", "cameras",
        params=[path_param("code")],
        body=json_body(obj(("type", "confidence"), type=STRING, confidence={"type": "number", "minimum": 0,
                                                                            "maximum": 1},
                           at=TIME, lon=LON, lat=LAT, snapshot={"type": "string", "format": "byte"})),
        ok=(201, JSON, obj(("alert", "new_alert"), alert=ref("Alert"), new_alert=BOOLEAN)),
        roles=("device camera:<code>", "officer"))},
    "/api/hotspots": {"get": op("flood hotspots and their water levels", "hotspots",
                                ok=(200, JSON, list_of("hotspots", ref("Hotspot"))))},
    "/api/hotspots/readings": {"post": op(
        "water-level readings, stored once however often they are sent", "hotspots",
        body=json_body(obj(("readings",), readings={"type": "array", "items": obj(
            ("hotspot", "at", "level_cm"), hotspot=STRING, at=TIME,
            level_cm={"type": "number", "minimum": -100, "maximum": 2000}, reading_id=STRING)})),
        ok=(201, JSON, obj(("stored", "duplicates"), stored=INTEGER, duplicates=INTEGER)),
        roles=("device readings:write", "officer"))},
    "/api/hotspots/{code}/readings": {"get": op(
        "a hotspot's readings over time", "hotspots",
        params=[path_param("code"), param("from", TIME), param("to", TIME)],
        ok=(200, JSON, list_of("readings", {"type": "object"}, hotspot=STRING)))},
    "/api/alerts": {"get": op("alerts in the caller's units and areas", "alerts", params=[
        param("status", STRING, description="comma-separated statuses"), param("type", STRING)],
        ok=(200, JSON, list_of("alerts", ref("Alert"))), roles=STAFF)},
    "/api/alerts/{alert_id}": {"get": op("one alert with its history", "alerts",
                                         params=[path_param("alert_id", DATABASE_ID)], ok=(200, JSON, ref("Alert")),
                                         roles=STAFF)},
    "/api/alerts/{alert_id}/transition": {"post": op(
        "acknowledge, dispatch, resolve or dismiss an alert", "alerts",
        params=[path_param("alert_id", DATABASE_ID)], body=json_body(ref("Action")),
        ok=(200, JSON, ref("Alert")), roles=("officer",))},
}
