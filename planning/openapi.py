"""OpenAPI paths of planning projects."""

from __future__ import annotations

from gisserver.core.openapi import (
    DATABASE_ID,
    DATE,
    INTEGER,
    JSON,
    NULLABLE_STRING,
    STRING,
    json_body,
    list_of,
    obj,
    op,
    param,
    path_param,
    ref,
)

STATUS = {"type": "string", "enum": ["draft", "consultation", "approved", "superseded", "cancelled"]}
STRINGS = {"type": "array", "items": STRING}
EDITABLE = dict(code=STRING, name=STRING, description=STRING, decision_number=NULLABLE_STRING,
                decision_date={**DATE, "nullable": True}, approving_body=NULLABLE_STRING, status=STATUS,
                areas=STRINGS, layers={**STRINGS, "description": "layer names; the project's layers become these"})
SCHEMAS = {
    "Project": obj(("code", "name", "status", "areas"), **{k: v for k, v in EDITABLE.items() if k != "layers"},
                   updated_at=NULLABLE_STRING, updated_by=STRING,
                   layers={"type": "array", "items": {"type": "object"}},
                   documents={"type": "array", "items": ref("ProjectDocument")}),
    "ProjectDocument": obj(("id", "title", "file_name", "bytes", "pages"), id=INTEGER, title=STRING,
                           file_name=STRING, bytes=INTEGER, pages=INTEGER, sha256=STRING, uploaded_at=NULLABLE_STRING,
                           uploaded_by=STRING),
}
CODE = path_param("code")
DOCUMENT = path_param("document_id", DATABASE_ID)
PATHS = {
    "/api/projects": {
        "get": op("planning projects, newest decision first (drafts only for staff)", "projects", params=[
            param("area", STRING, description="an area code: projects covering it, a part of it or an area around it"),
            param("status", STATUS), param("year", {"type": "string", "pattern": "^[0-9]{4}$"},
                                           description="year of the decision"),
            param("q", STRING, description="text in the name, code or decision number, with or without diacritics")],
            ok=(200, JSON, list_of("projects", ref("Project")))),
        "post": op("create a project", "projects", body=json_body(obj(("code", "name"), **EDITABLE)),
                   ok=(201, JSON, ref("Project")), roles=("planner",)),
    },
    "/api/projects/{code}": {
        "get": op("a project with its layers and documents", "projects", params=[CODE], ok=(200, JSON, ref("Project"))),
        "patch": op("change a project (its layers too)", "projects", params=[CODE], body=json_body(obj(**EDITABLE)),
                    ok=(200, JSON, ref("Project")), roles=("planner",)),
        "delete": op("remove a project and its documents (its layers stay)", "projects", params=[CODE],
                     ok=(204, JSON, None), roles=("planner",)),
    },
    "/api/projects/{code}/documents": {"post": op(
        "attach a PDF (checked: a real, unencrypted PDF without scripts, launch actions or attached files)",
        "projects", params=[CODE],
        body={"multipart/form-data": {"schema": obj(("file",), file={"type": "string", "format": "binary"},
                                                     title=STRING)}},
        ok=(201, JSON, ref("ProjectDocument")), roles=("planner",))},
    "/api/projects/{code}/documents/{document_id}": {
        "get": op("the PDF", "projects", params=[CODE, DOCUMENT], ok=(200, "application/pdf", None)),
        "delete": op("remove a document", "projects", params=[CODE, DOCUMENT], ok=(204, JSON, None),
                     roles=("planner",)),
    },
}


def document() -> dict:
    """This package's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}
