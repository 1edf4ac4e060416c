"""OpenAPI paths of accounts: the audit log."""

from __future__ import annotations

from gisserver.core.openapi import (
    JSON,
    STRING,
    list_of,
    op,
    param,
)


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {}

PATHS = {
    "/api/audit": {"get": op("the audit log", "admin", params=[
        param("table", STRING), param("actor", STRING),
        param("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
        param("before", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1})],
        ok=(200, JSON, list_of("entries", {"type": "object"}, next_before={"type": "integer", "nullable": True})),
        roles=("admin",))},
}
