"""OpenAPI paths of the leaders' summaries and the dossier import."""

from __future__ import annotations

from gisserver.core.openapi import (
    DATE,
    GEOJSON,
    JSON,
    STRING,
    XLSX,
    obj,
    op,
    param,
    path_param,
)

CATEGORY = param("category", {"type": "string", "pattern": "^[a-z0-9_]{1,64}$"}, description=(
    "a report category's code: report figures count that category's reports only (dossiers, alerts and cameras "
    "have no category and stay whole); with it the handling times (median, p90) are null and the breakdowns by "
    "unit and by channel are empty lists, since neither the rollups nor the records keep them per category"))
SUMMARY = [param("from", DATE), param("to", DATE), param("as_of", DATE),
           param("areas", {"type": "string", "enum": ["now", "then"]}), param("trend", STRING), CATEGORY]
RECORDS = [param("source", {"type": "string", "enum": ["reports", "dossiers", "alerts"]}), param("measure", STRING),
           param("child", STRING), param("dim", STRING), param("key", STRING),
           param("page", {"type": "integer", "minimum": 1}),
           param("per_page", {"type": "integer", "minimum": 1, "maximum": 500})]


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {}

PATHS = {
    "/api/summaries/{code}": {"get": op(
        "an area's figures over a period, with its child areas", "summaries",
        params=[path_param("code"), *SUMMARY], ok=(200, JSON, {"type": "object"}), roles=("leader",))},
    "/api/summaries/{code}/export.{fmt}": {"get": op(
        "the summary as a file", "summaries",
        params=[path_param("code"), path_param("fmt", {"type": "string", "enum": ["csv", "pdf", "xlsx"]}), *SUMMARY,
                param("table", STRING)],
        ok=(200, ("text/csv", "application/pdf", XLSX), None), roles=("leader",))},
    "/api/summaries/{code}/records": {"get": op(
        "the reports or dossiers behind one figure", "summaries", params=[path_param("code"), *SUMMARY, *RECORDS],
        ok=(200, JSON, {"type": "object"}), roles=("leader",))},
    "/api/summaries/{code}/records.{fmt}": {"get": op(
        "those records as a file", "summaries",
        params=[path_param("code"), path_param("fmt", {"type": "string", "enum": ["json", "csv", "xlsx"]}), *SUMMARY,
                *RECORDS], ok=(200, (JSON, "text/csv", XLSX), None), roles=("leader",))},
    "/api/summaries/{code}/map": {"get": op(
        "child areas coloured by one indicator", "summaries",
        params=[path_param("code"), *SUMMARY, param("indicator", STRING), param("rank_by", STRING)],
        ok=(200, (JSON, GEOJSON), None), roles=("leader",))},
    "/api/dossiers/import": {"post": op(
        "import administrative dossiers (an export of the one-stop-shop system)", "summaries",
        body={"multipart/form-data": {"schema": obj(("file",), file={"type": "string", "format": "binary"})}},
        ok=(201, JSON, {"type": "object"}), roles=("device dossiers:import", "admin"))},
}
