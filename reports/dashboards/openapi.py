"""OpenAPI paths of the dashboards: the indicator catalog, dashboards, their data and exports, weekly mails,
display tokens."""

from __future__ import annotations

from gisserver.core.openapi import (
    BOOLEAN,
    DATABASE_ID,
    DATE,
    INTEGER,
    JSON,
    STRING,
    XLSX,
    json_body,
    obj,
    op,
    param,
    path_param,
    ref,
)

TAG = "dashboards"
ROLES = ("leader",)
FILTERS = [param("area", STRING), param("from", DATE), param("to", DATE),
           param("last_days", {"type": "integer", "minimum": 1, "maximum": 1098}), param("category", STRING),
           param("compare_area", STRING), param("compare_from", DATE), param("compare_to", DATE),
           param("compare_last_days", {"type": "integer", "minimum": 1, "maximum": 1098})]
ID = path_param("dashboard_id", DATABASE_ID)
PERIOD = {"type": "object", "description": '{"last_days": n} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}'}
INDICATOR = obj(("key",), key=STRING, by=STRING, layer=STRING, within=STRING)
PANEL = obj(("id", "chart", "indicators"), id=STRING,
            chart={"type": "string", "enum": ["number", "line", "bar", "stacked", "ranking", "choropleth", "table",
                                              "gauge"]},
            dimension={"type": "string", "enum": ["value", "time", "children", "group", "items"]},
            indicators={"type": "array", "items": INDICATOR, "minItems": 1, "maxItems": 6}, title=STRING,
            area=STRING, period=PERIOD, width={"type": "integer", "minimum": 1, "maximum": 12},
            height={"type": "integer", "minimum": 1, "maximum": 4})
DASHBOARD_IN = obj(("title",), title=STRING, description=STRING,
                   panels={"type": "array", "items": PANEL, "maxItems": 24},
                   filters=obj(period=PERIOD, category=STRING), area={"type": "string", "nullable": True},
                   share=obj(roles={"type": "array", "items": STRING}, areas={"type": "array", "items": STRING}),
                   template=BOOLEAN, version=INTEGER)


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {
    "Dashboard": obj(("id", "title", "panels", "version"), id=INTEGER, title=STRING, description=STRING,
                     template=BOOLEAN, area={"type": "string", "nullable": True},
                     panels={"type": "array", "items": {"type": "object"}}, filters={"type": "object"},
                     share={"type": "object"}, version=INTEGER, owner_id=INTEGER,
                     updated_at={"type": "string", "nullable": True}, updated_by=STRING),
    "DashboardData": obj(("area", "period", "panels"), area={"type": "object"}, breadcrumb={"type": "array"},
                         children={"type": "array"}, period={"type": "object"},
                         category={"type": "string", "nullable": True}, compare={"type": "object"},
                         panels={"type": "array", "items": {"type": "object"}}, generated_at=STRING),
    "DashboardMail": obj(("subscribed",), subscribed=BOOLEAN,
                         weekday={"type": "integer", "nullable": True, "minimum": 1, "maximum": 7},
                         hour={"type": "integer", "nullable": True, "minimum": 0, "maximum": 23},
                         email={"type": "string", "nullable": True}),
    "Display": obj(("id", "name", "dashboards"), id=INTEGER, name=STRING,
                   dashboards={"type": "array", "items": INTEGER}, refresh_seconds=INTEGER, rotate_seconds=INTEGER,
                   created_at={"type": "string", "nullable": True}, token=STRING, url=STRING),
}
DASHBOARDS = {"type": "array", "items": ref("Dashboard")}
LISTING = obj(("mine", "shared", "templates"), mine=DASHBOARDS, shared=DASHBOARDS, templates=DASHBOARDS)

PATHS = {
    "/api/indicators": {"get": op(
        "the catalog of indicators, the layers the caller may measure, the charts", TAG,
        ok=(200, JSON, obj(("indicators", "layers"), indicators={"type": "array"}, layers={"type": "array"},
                           charts={"type": "object"}, dimensions={"type": "object"})), roles=ROLES)},
    "/api/dashboards": {
        "get": op("the caller's dashboards, those shared with them, and the ward templates", TAG,
                  ok=(200, JSON, LISTING), roles=ROLES),
        "post": op("create a dashboard (a ward template: admins only)", TAG, body=json_body(DASHBOARD_IN),
                   ok=(201, JSON, ref("Dashboard")), roles=ROLES),
    },
    "/api/dashboards/{dashboard_id}": {
        "get": op("one dashboard", TAG, params=[ID], ok=(200, JSON, ref("Dashboard")), roles=ROLES),
        "put": op("change a dashboard (its owner or an admin); an older version is refused with 409", TAG,
                  params=[ID], body=json_body(DASHBOARD_IN), ok=(200, JSON, ref("Dashboard")), roles=ROLES),
        "delete": op("delete a dashboard (its owner or an admin)", TAG, params=[ID], ok=(204, JSON, None),
                     roles=ROLES),
    },
    "/api/dashboards/{dashboard_id}/copy": {"post": op(
        "a private copy of a dashboard the caller may see", TAG, params=[ID], ok=(201, JSON, ref("Dashboard")),
        roles=ROLES)},
    "/api/dashboards/{dashboard_id}/data": {"get": op(
        "every panel's figures for the caller (their own scope), under the filters", TAG, params=[ID, *FILTERS],
        ok=(200, JSON, ref("DashboardData")), roles=ROLES)},
    "/api/dashboards/preview": {"post": op(
        "panels not yet saved, checked and evaluated like saved ones", TAG, params=FILTERS,
        body=json_body(obj(("panels",), panels={"type": "array", "items": PANEL, "maxItems": 24})),
        ok=(200, JSON, ref("DashboardData")), roles=ROLES)},
    "/api/dashboards/{dashboard_id}/export.{fmt}": {"get": op(
        "the dashboard as a PDF (vector charts, a page per screen) or its data as XLSX", TAG,
        params=[ID, path_param("fmt", {"type": "string", "enum": ["pdf", "xlsx"]}), *FILTERS],
        ok=(200, ("application/pdf", XLSX), None), roles=ROLES)},
    "/api/dashboards/{dashboard_id}/mail": {
        "get": op("the caller's weekly mail of this dashboard's PDF", TAG, params=[ID],
                  ok=(200, JSON, ref("DashboardMail")), roles=ROLES),
        "put": op("mail the caller this dashboard's PDF every week on their day and hour (city time), to the email "
                  "of their notification choices (PUT /api/me/notifications); again: change the day and hour", TAG,
                  params=[ID], body=json_body(obj(("weekday", "hour"),
                                                  weekday={"type": "integer", "minimum": 1, "maximum": 7,
                                                           "description": "ISO weekday, 1 = Monday"},
                                                  hour={"type": "integer", "minimum": 0, "maximum": 23})),
                  ok=(200, JSON, ref("DashboardMail")), roles=ROLES),
        "delete": op("stop the caller's weekly mail of this dashboard", TAG, params=[ID], ok=(204, JSON, None),
                     roles=ROLES),
    },
    "/api/dashboard-displays": {
        "get": op("the caller's wall displays", TAG,
                  ok=(200, JSON, obj(("displays",), displays={"type": "array", "items": ref("Display")})),
                  roles=ROLES),
        "post": op("a display token for wall screens, read-only to some dashboards (the secret is shown once)", TAG,
                   body=json_body(obj(("name", "dashboards"), name=STRING,
                                      dashboards={"type": "array", "items": INTEGER, "minItems": 1, "maxItems": 12},
                                      refresh_seconds={"type": "integer", "minimum": 15, "maximum": 3600},
                                      rotate_seconds={"type": "integer", "minimum": 10, "maximum": 3600})),
                   ok=(201, JSON, ref("Display")), roles=ROLES),
    },
    "/api/dashboard-displays/{display_id}": {"delete": op(
        "revoke a display token", TAG, params=[path_param("display_id", DATABASE_ID)], ok=(204, JSON, None),
        roles=ROLES)},
}
