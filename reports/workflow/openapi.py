"""OpenAPI paths of the workflow: officers' queues, a report's staff view, its steps, and the categories."""

from __future__ import annotations

from gisserver.core.openapi import (
    BOOLEAN,
    DATABASE_ID,
    GEOJSON,
    INTEGER,
    JSON,
    LAT,
    LON,
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

STAFF = ("officer", "leader")
QUEUE = [param("status", STRING, description="comma-separated statuses"), param("overdue", BOOLEAN),
         param("category", STRING), param("area", STRING), param("unit", STRING),
         param("from", {"type": "string", "format": "date"}), param("to", {"type": "string", "format": "date"}),
         param("sort", {"type": "string", "enum": ["created", "-created", "due", "-due", "updated", "-updated",
                                                   "status", "category"]}),
         param("q", {"type": "string", "maxLength": 200},
               description="a tracking code, words of the address or description, or the reporter's phone"),
         param("mine", BOOLEAN, description="only the reports the caller filed"),
         param("overdue_first", BOOLEAN),
         param("page", {"type": "integer", "minimum": 1}), param("per_page", {"type": "integer", "minimum": 1,
                                                                              "maximum": 200})]
REPORT_ID = path_param("report_id", DATABASE_ID)


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {
    "Category": obj(("code", "name_vi", "name_en", "domain", "deadline_hours"), code=STRING, name_vi=STRING,
                    name_en=STRING, domain=STRING, deadline_hours=INTEGER),
    "ReportStaff": obj(("id", "tracking_code", "category", "status", "created_at", "due_at"), id=INTEGER,
                       tracking_code=STRING, category=STRING, description=STRING,
                       location={"type": "object", "nullable": True}, status=STRING, channel=STRING,
                       reporter={"type": "object"}, created_at=TIME, due_at=TIME, overdue=BOOLEAN,
                       history={"type": "array", "items": {"type": "object"}},
                       photos={"type": "array", "items": {"type": "object"}}),
    "ReportPage": obj(("items", "total", "page", "per_page"), items={"type": "array", "items": ref("ReportStaff")},
                      total=INTEGER, page=INTEGER, per_page=INTEGER),
    "Action": obj(("action",), action=STRING, note=STRING),
}

PATHS = {
    "/api/reports": {"get": op("the caller's report queue", "reports", params=QUEUE,
                               ok=(200, JSON, ref("ReportPage")), roles=STAFF)},
    "/api/reports.geojson": {"get": op("the queue on a map", "reports", params=QUEUE,
                                       ok=(200, GEOJSON, ref("FeatureCollection")), roles=STAFF)},
    "/api/reports/{report_id}": {"get": op("one report with history and photos", "reports", params=[REPORT_ID],
                                           ok=(200, JSON, ref("ReportStaff")), roles=STAFF)},
    "/api/reports/{report_id}/photos/{photo_id}": {"get": op(
        "a report's photo", "reports", params=[REPORT_ID, path_param("photo_id", DATABASE_ID)],
        ok=(200, "image/jpeg", None), roles=STAFF)},
    "/api/reports/{report_id}/transition": {"post": op(
        "acknowledge, start, resolve, reject or reopen; resolving and rejecting need the answer the resident reads "
        "(note); photos of the fix go with resolve as multipart/form-data", "reports", params=[REPORT_ID],
        body={**json_body(ref("Action")), "multipart/form-data": {"schema": obj(
            ("action",), action=STRING, note=STRING,
            photos={"type": "array", "items": {"type": "string", "format": "binary"}})}},
        ok=(200, JSON, ref("ReportStaff")), roles=("officer",))},
    "/api/reports/{report_id}/comments": {"post": op(
        "answer the resident (they are told when they asked to hear back)", "reports", params=[REPORT_ID],
        body=json_body(obj(("text",), text={"type": "string", "maxLength": 2000})),
        ok=(200, JSON, ref("ReportStaff")), roles=("officer",))},
    "/api/reports/{report_id}/reassign": {"post": op(
        "hand to another unit or area", "reports", params=[REPORT_ID],
        body=json_body(obj(("reason",), reason=STRING, unit=STRING, area=STRING)),
        ok=(200, JSON, ref("ReportStaff")), roles=("officer",))},
    "/api/reports/{report_id}/merge": {"post": op(
        "merge duplicates into this report", "reports", params=[REPORT_ID],
        body=json_body(obj(("duplicates",), duplicates={"type": "array", "items": INTEGER})),
        ok=(200, JSON, ref("ReportStaff")), roles=("officer",))},
    "/api/reports/{report_id}/location": {"patch": op(
        "move a misplaced report", "reports", params=[REPORT_ID],
        body=json_body(obj(("lon", "lat"), lon=LON, lat=LAT, reason=STRING)),
        ok=(200, JSON, ref("ReportStaff")), roles=("officer",))},
    "/api/report-categories": {"get": op("report categories", "reports",
                                         ok=(200, JSON, list_of("categories", ref("Category"))))},
}
