"""Planning projects: create, change, list (by area, status, year, name with or without diacritics), and the
layers that belong to them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import delete, extract, func, or_, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Conflict, Invalid, NotFound
from layers.catalog import get_layer
from layers.models import Layer
from planning.models import STATUSES, Project, ProjectDocument, ProjectLayer
from reports.areas.models import Area

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FIELDS = {"code", "name", "description", "decision_number", "decision_date", "approving_body", "status", "areas",
          "layers"}
MAX_TEXT = 2000


@dataclass
class ProjectFilter:
    area: str | None = None  # an area code: projects covering it, a part of it or an area it lies in
    status: str | None = None
    year: int | None = None  # of the decision
    text: str | None = None  # in the name, code or decision number; diacritics optional
    include_drafts: bool = False  # drafts are the planners' own until they go to consultation


def _text(value, field: str, *, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"{field} is required", {"field": field})
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text", {"field": field})
    if len(value) > limit:
        raise Invalid(f"{field} is at most {limit} characters", {"field": field})
    return value.strip()


def _date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Invalid(f"{field} must be a date (YYYY-MM-DD)", {"field": field})
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{field} must be a date (YYYY-MM-DD)", {"field": field}) from None


def _status(value) -> str:
    if value not in STATUSES:
        raise Invalid(f"status must be one of {', '.join(STATUSES)}", {"field": "status", "allowed": list(STATUSES)})
    return value


def _area_codes(session: Session, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("areas must be a list of area codes", {"field": "areas"})
    codes = sorted(set(value))
    known = set(session.scalars(select(Area.code).where(Area.code.in_(codes))))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise Invalid(f"unknown area code(s): {', '.join(unknown)}", {"field": "areas", "unknown": unknown})
    return codes


def _code(value) -> str:
    if not isinstance(value, str) or not CODE.match(value):
        raise Invalid("code is 1-64 letters, digits, '.', '-' or '_'", {"field": "code"})
    return value


def _apply(session: Session, project: Project, data: dict) -> None:
    unknown = set(data) - FIELDS
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}", {"fields": sorted(FIELDS)})
    if "code" in data:
        project.code = _code(data["code"])
    if "name" in data:
        project.name = _text(data["name"], "name", required=True, limit=500)
    if "description" in data:
        project.description = _text(data["description"], "description", limit=20_000) or ""
    for field in ("decision_number", "approving_body"):
        if field in data:
            setattr(project, field, _text(data[field], field, limit=500))
    if "decision_date" in data:
        project.decision_date = _date(data["decision_date"], "decision_date")
    if "status" in data:
        project.status = _status(data["status"])
    if "areas" in data:
        project.area_codes = _area_codes(session, data["areas"])


def create_project(session: Session, data: dict, *, actor: str) -> Project:
    if not isinstance(data, dict):
        raise Invalid("send a JSON object")
    for required in ("code", "name"):
        if required not in data:
            raise Invalid(f"{required} is required", {"field": required})
    if session.scalar(select(Project.id).where(Project.code == _code(data["code"]))):
        raise Conflict(f"a project with code {data['code']!r} exists", {"field": "code"})
    project = Project(status="draft", area_codes=[], description="", created_by=actor, updated_by=actor)
    _apply(session, project, {k: v for k, v in data.items() if k != "layers"})
    session.add(project)
    session.flush()
    if "layers" in data:
        set_layers(session, project, data["layers"])
    return project


def update_project(session: Session, project: Project, changes: dict, *, actor: str) -> Project:
    if not isinstance(changes, dict):
        raise Invalid("send a JSON object")
    if "code" in changes and changes["code"] != project.code and session.scalar(
            select(Project.id).where(Project.code == _code(changes["code"]))):
        raise Conflict(f"a project with code {changes['code']!r} exists", {"field": "code"})
    _apply(session, project, {k: v for k, v in changes.items() if k != "layers"})
    if "layers" in changes:
        set_layers(session, project, changes["layers"])
    project.updated_by = actor
    project.updated_at = func.now()
    session.flush()
    return project


def set_layers(session: Session, project: Project, names) -> None:
    """The project's layers become exactly *names* (layer names of the catalog)."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Invalid("layers must be a list of layer names", {"field": "layers"})
    ids = []
    for name in dict.fromkeys(names):
        try:
            ids.append(get_layer(session, name, include_internal=True).id)
        except NotFound:
            raise Invalid(f"no layer named {name!r}", {"field": "layers", "unknown": name}) from None
    session.execute(delete(ProjectLayer).where(ProjectLayer.project_id == project.id))
    session.add_all(ProjectLayer(project_id=project.id, layer_id=i) for i in ids)
    session.flush()


def get_project(session: Session, code: str, *, include_drafts: bool = False) -> Project:
    project = session.scalar(select(Project).where(Project.code == code))
    if project is None or (project.status == "draft" and not include_drafts):
        raise NotFound(f"no project {code!r}")
    return project


def _area_family(session: Session, code: str) -> list[str]:
    """The area, the areas it lies in and the areas inside it: a project covering any of them concerns it."""
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise Invalid(f"unknown area code {code!r}", {"parameter": "area"})
    codes, parent = {area.code}, area.parent_id
    while parent is not None:
        above = session.get(Area, parent)
        codes.add(above.code)
        parent = above.parent_id
    frontier = [area.id]
    while frontier:
        children = session.execute(select(Area.id, Area.code).where(Area.parent_id.in_(frontier))).all()
        codes.update(c for _, c in children)
        frontier = [i for i, _ in children]
    return sorted(codes)


def _plain(text):
    """The text without diacritics and case (PostgreSQL's unaccent knows đ -> d)."""
    return func.unaccent(func.lower(text))


def list_projects(session: Session, f: ProjectFilter | None = None) -> list[Project]:
    f = f or ProjectFilter()
    query = select(Project).order_by(Project.decision_date.desc().nulls_last(), Project.name)
    if not f.include_drafts:
        query = query.where(Project.status != "draft")
    if f.status:
        query = query.where(Project.status == _status(f.status))
    if f.year:
        query = query.where(extract("year", Project.decision_date) == f.year)
    if f.area:
        query = query.where(Project.area_codes.overlap(_area_family(session, f.area)))
    if f.text and f.text.strip():
        escaped = f.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = func.concat("%", _plain(escaped), "%")
        query = query.where(or_(_plain(Project.name).like(pattern), _plain(Project.code).like(pattern),
                                _plain(func.coalesce(Project.decision_number, "")).like(pattern)))
    return list(session.scalars(query))


def layers_of(session: Session, project: Project, *, include_internal: bool) -> list[Layer]:
    query = (select(Layer).join(ProjectLayer, ProjectLayer.layer_id == Layer.id)
             .where(ProjectLayer.project_id == project.id).order_by(Layer.category, Layer.title))
    if not include_internal:
        query = query.where(Layer.visibility == "public")
    return list(session.scalars(query))


def projects_by_layer(session: Session, *, include_drafts: bool) -> dict[int, list[Project]]:
    """For the catalog: each layer's projects."""
    query = select(ProjectLayer.layer_id, Project).join(Project, Project.id == ProjectLayer.project_id)
    if not include_drafts:
        query = query.where(Project.status != "draft")
    found: dict[int, list[Project]] = {}
    for layer_id, project in session.execute(query.order_by(Project.name)):
        found.setdefault(layer_id, []).append(project)
    return found


def documents_of(session: Session, project: Project) -> list[ProjectDocument]:
    return list(session.scalars(select(ProjectDocument).where(ProjectDocument.project_id == project.id)
                                .order_by(ProjectDocument.uploaded_at, ProjectDocument.id)))


def delete_project(session: Session, project: Project) -> list[str]:
    """Remove the project (its layers stay); returns its documents' paths, to remove once committed."""
    paths = [d.path for d in documents_of(session, project)]
    session.delete(project)
    session.flush()
    return paths


def project_json(project: Project, layers: list[Layer] | None = None,
                 documents: list[ProjectDocument] | None = None) -> dict:
    body = {
        "code": project.code, "name": project.name, "description": project.description,
        "decision_number": project.decision_number,
        "decision_date": project.decision_date.isoformat() if project.decision_date else None,
        "approving_body": project.approving_body, "status": project.status, "areas": list(project.area_codes or []),
        "updated_at": project.updated_at.isoformat() if hasattr(project.updated_at, "isoformat") else None,
        "updated_by": project.updated_by,
    }
    if layers is not None:
        body["layers"] = [{"name": layer.name, "title": layer.title, "geometry_type": layer.geometry_type,
                           "feature_count": layer.feature_count} for layer in layers]
    if documents is not None:
        body["documents"] = [document_json(d) for d in documents]
    return body


def document_json(document: ProjectDocument) -> dict:
    return {"id": document.id, "title": document.title, "file_name": document.file_name, "bytes": document.bytes,
            "pages": document.pages, "sha256": document.sha256,
            "uploaded_at": document.uploaded_at.isoformat() if hasattr(document.uploaded_at, "isoformat") else None,
            "uploaded_by": document.uploaded_by}
