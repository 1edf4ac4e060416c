"""OpenAPI paths of intake: filing a report, its public status, ward QR codes and keychains."""

from __future__ import annotations

from gisserver.core.openapi import (
    BOOLEAN,
    INTEGER,
    JSON,
    LAT,
    LON,
    NULLABLE_STRING,
    NULLABLE_TIME,
    POINT,
    STRING,
    TIME,
    json_body,
    obj,
    op,
    param,
    path_param,
    ref,
)

IDEMPOTENCY_KEY = param("Idempotency-Key", {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,100}$"}, "header",
                        "a retry with the same key returns the first report instead of filing another")


def _also_created(operation: dict, schema: dict) -> dict:
    """Intake answers 201 when it files the report and 200 when an Idempotency-Key replays one."""
    operation["responses"]["201"] = {"description": "filed", "content": {JSON: {"schema": schema}}}
    return operation


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {
    "ReportIn": obj(("category", "description"), category=STRING, description={"type": "string", "maxLength": 4000},
                    location=obj(("lon", "lat"), lon=LON, lat=LAT), address=STRING, area=STRING,
                    channel={"type": "string", "enum": ["api", "qr_web", "open311"]},
                    reporter=obj(name=STRING, phone=STRING),
                    ward_choice={"type": "string", "enum": ["place", "ward"],
                                 "description": "when the place lies in another ward than *area* (a QR code's): "
                                                "file it where the place is, or keep it in that ward"}),
    "ReportPublic": obj(("tracking_code", "category", "status", "created_at", "due_at", "overdue", "progress"),
                        tracking_code=STRING, category={"type": "object"}, status=STRING,
                        area={"type": "object", "nullable": True}, unit=NULLABLE_STRING, created_at=TIME,
                        due_at=TIME, closed_at=NULLABLE_TIME, overdue=BOOLEAN, resolution=NULLABLE_STRING,
                        progress={"type": "array", "items": {"type": "object"}}, status_url=STRING, id=INTEGER),
}

INTAKE_CALLERS = ("Anyone may file, anonymously or signed in. Machine tokens need the scope reports:file (403 "
                  "otherwise). Each kind of caller has its own limit (429 with Retry-After): anonymous callers per "
                  "address and per area, people per person, machine tokens per token.")

PATHS = {
    "/api/reports": {"post": _also_created(op("file a citizen report", "reports", params=[IDEMPOTENCY_KEY],
                                              body=json_body(ref("ReportIn")), ok=(200, JSON, ref("ReportPublic")),
                                              description=INTAKE_CALLERS),
                                           ref("ReportPublic"))},
    "/api/reports/placement": {"get": op(
        "where a report filed at a point would go (area, unit) and whether that stays in the caller's scope",
        "reports", params=[*POINT, param("category", STRING, required=True)],
        ok=(200, JSON, obj(("inside_city", "in_scope"), inside_city=BOOLEAN, in_scope=BOOLEAN,
                           area={"type": "object", "nullable": True}, ward={"type": "object", "nullable": True},
                           place=STRING, unit={"type": "object", "nullable": True})), roles=("officer",))},
    "/api/reports/nearby": {"get": op(
        "open reports of public categories near a point (not police matters), nearest first", "reports",
        params=POINT, ok=(200, JSON, obj(("reports",), reports={"type": "array", "items": obj(
            ("tracking_code", "status", "created_at", "category", "distance_m"), tracking_code=STRING,
            status=STRING, created_at=TIME, category={"type": "object"}, description=STRING, distance_m=INTEGER,
            status_url=STRING)})))},
    "/api/reports/{code}/status": {"get": op("a report's progress by tracking code", "reports",
                                             params=[path_param("code")], ok=(200, JSON, ref("ReportPublic")))},
    "/api/areas/{code}/qr/{kind}.{fmt}": {"get": op(
        "a ward's QR code", "areas",
        params=[path_param("code"), path_param("kind", {"type": "string", "enum": ["police", "committee"]}),
                path_param("fmt", {"type": "string", "enum": ["png", "svg"]})],
        ok=(200, ("image/png", "image/svg+xml"), None))},
    "/api/areas/{code}/keychains.pdf": {"get": op(
        "a sheet of QR keychain cards for a ward (its officers, admins); refused while GISSERVER_PUBLIC_URL is "
        "unset or a loopback address", "areas",
        params=[path_param("code"), param("copies", {"type": "integer", "minimum": 1, "maximum": 200})],
        ok=(200, "application/pdf", None), roles=("officer",))},
}
