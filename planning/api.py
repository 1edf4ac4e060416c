"""HTTP API of planning projects: list and search, read, create, change, delete; their layers and documents."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Blueprint, current_app, request, send_file
from sqlalchemy import event

from gisserver.accounts.auth import actor_label, is_staff, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session, json_body
from planning import documents, projects

bp = Blueprint("planning_api", __name__, url_prefix="/api/projects")


def _filter() -> projects.ProjectFilter:
    year = request.args.get("year") or None
    if year is not None and not re.fullmatch(r"\d{4}", year):
        raise Invalid("year must be a year, e.g. 2025", {"parameter": "year"})
    return projects.ProjectFilter(area=request.args.get("area") or None, status=request.args.get("status") or None,
                                  year=int(year) if year else None, text=request.args.get("q") or None,
                                  include_drafts=is_staff())


def _project(code: str):
    session = db_session()
    return session, projects.get_project(session, code, include_drafts=is_staff())


def _full(session, project) -> dict:
    return projects.project_json(project, projects.layers_of(session, project, include_internal=is_staff()),
                                 projects.documents_of(session, project))


@bp.get("")
@open_to("everyone; drafts are listed only for staff")
@on_replica
def list_projects():
    session = db_session()
    return {"projects": [projects.project_json(p) for p in projects.list_projects(session, _filter())]}


@bp.post("")
@require_roles("planner")
@on_primary("writes a project")
def create_project():
    session = db_session()
    project = projects.create_project(session, json_body(), actor=actor_label())
    session.commit()
    return _full(session, project), 201


@bp.get("/<code>")
@open_to("everyone; a draft is a 404 for non-staff, internal layers are left out for them")
@on_replica
def get_project(code: str):
    session, project = _project(code)
    return _full(session, project)


@bp.patch("/<code>")
@require_roles("planner")
@on_primary("writes a project")
def update_project(code: str):
    session, project = _project(code)
    projects.update_project(session, project, json_body(), actor=actor_label())
    session.commit()
    return _full(session, project)


def _remove_after_commit(session, paths: list[str]) -> None:
    directory = current_app.config["SETTINGS"].document_dir

    @event.listens_for(session, "after_commit", once=True)
    def _remove(_session):
        documents.remove_files(directory, paths)


@bp.delete("/<code>")
@require_roles("planner")
@on_primary("writes a project")
def delete_project(code: str):
    session, project = _project(code)
    _remove_after_commit(session, projects.delete_project(session, project))
    session.commit()
    return "", 204


def _limits() -> documents.DocumentLimits:
    settings = current_app.config["SETTINGS"]
    return documents.DocumentLimits(max_bytes=settings.document_max_mb * 1024**2,
                                    max_count=settings.document_max_count)


@bp.post("/<code>/documents")
@require_roles("planner")
@on_primary("writes a project document")
def add_document(code: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the PDF as multipart field 'file'", {"field": "file"})
    session, project = _project(code)
    limits = _limits()
    raw = upload.stream.read(limits.max_bytes + 1)
    document, path = documents.add_document(
        session, project, raw, title=request.form.get("title"), file_name=upload.filename,
        directory=current_app.config["SETTINGS"].document_dir, limits=limits, actor=actor_label(), at=datetime.now(UTC))
    try:
        session.commit()
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return projects.document_json(document), 201


@bp.get("/<code>/documents/<int:document_id>")
@open_to("everyone; a draft project's documents are a 404 for non-staff")
@on_replica
def get_document(code: str, document_id: int):
    session, project = _project(code)
    document, path = documents.document_file(session, project, document_id,
                                             current_app.config["SETTINGS"].document_dir)
    response = send_file(path, mimetype="application/pdf", download_name=document.file_name, conditional=True)
    # Shown by the browser's own PDF viewer, sandboxed: the file is never a page of this site.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.delete("/<code>/documents/<int:document_id>")
@require_roles("planner")
@on_primary("writes a project document")
def delete_document(code: str, document_id: int):
    session, project = _project(code)
    document = documents.get_document(session, project, document_id)
    _remove_after_commit(session, [document.path])
    session.delete(document)
    session.commit()
    return "", 204
