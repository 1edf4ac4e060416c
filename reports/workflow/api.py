"""HTTP API of the workflow: officers' queues, a report's staff view and photos, the workflow steps, categories."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, request, send_file, url_for

from gisserver.accounts.auth import actor_label, current_principal, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session, finite_float, json_body
from reports.workflow import photos as photo_service
from reports.workflow import queries
from reports.workflow import transitions as workflow
from reports.workflow.categories import list_categories
from reports.workflow.forms import queue_filter, request_photos
from reports.workflow.models import Report

bp = Blueprint("workflow", __name__, url_prefix="/api")


@bp.get("/reports.geojson")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def reports_geojson():
    text = queries.queue_geojson(db_session(), current_principal(), queue_filter())
    return current_app.response_class(text, mimetype="application/geo+json")


@bp.get("/reports")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def list_reports():
    session = db_session()
    page = queries.queue(session, current_principal(), queue_filter())
    return {
        "items": [queries.staff_view(session, r, viewer=current_principal()) for r in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


def _visible(report_id: int) -> Report:
    return queries.visible_report(db_session(), current_principal(), report_id)


def _actable(report_id: int) -> Report:
    return queries.actable_report(db_session(), current_principal(), report_id)


@bp.get("/reports/<int:report_id>")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def get_report(report_id: int):
    session = db_session()
    report = _visible(report_id)
    body = queries.staff_view(session, report, with_history=True, viewer=current_principal())
    body["photos"] = [
        {"url": url_for("workflow.get_photo", report_id=report.id, photo_id=p.id), "width": p.width,
         "height": p.height, "kind": p.kind}
        for p in photo_service.photos_of(session, report.id)
    ]
    return body


@bp.get("/reports/<int:report_id>/photos/<int:photo_id>")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def get_photo(report_id: int, photo_id: int):
    session = db_session()
    _visible(report_id)
    return send_file(photo_service.photo_file(session, report_id, photo_id,
                                                   current_app.config["SETTINGS"].photo_dir), mimetype="image/jpeg",
                     max_age=3600)


@bp.post("/reports/<int:report_id>/transition")
@require_roles("officer")
@on_primary("writes the report")
def transition_report(report_id: int):
    """A workflow step; as multipart/form-data it may carry photos of the fix, which the resident will see."""
    multipart = request.mimetype == "multipart/form-data"
    body = request.form.to_dict() if multipart else json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    photos = request_photos() if multipart else []  # every photo is checked before anything is stored
    session = db_session()
    report = _actable(report_id)
    action = str(body.get("action") or "")
    if photos and action != "resolve":
        raise Invalid("photos of the fix go with resolve", {"field": "photos"})
    report = workflow.transition(session, report, action, actor=actor_label(), note=str(body.get("note") or ""))
    written = photo_service.save_photos(session, report.id, photos, current_app.config["SETTINGS"].photo_dir,
                                        datetime.now(UTC), kind="fix")
    try:
        session.commit()
    except BaseException:
        session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.post("/reports/<int:report_id>/comments")
@require_roles("officer")
@on_primary("writes a report step")
def comment_report(report_id: int):
    """An answer to the resident (sent to them when they asked to hear back)."""
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.comment(session, _actable(report_id), actor=actor_label(), text=body.get("text"))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.post("/reports/<int:report_id>/reassign")
@require_roles("officer")
@on_primary("writes the report")
def reassign_report(report_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.reassign(session, _actable(report_id), actor=actor_label(), reason=str(body.get("reason") or ""),
                               unit_code=body.get("unit"), area_code=body.get("area"))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.post("/reports/<int:report_id>/merge")
@require_roles("officer")
@on_primary("writes the reports")
def merge_reports(report_id: int):
    body = json_body()
    ids = body.get("duplicates") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Invalid("duplicates must be a list of report ids", {"field": "duplicates"})
    session = db_session()
    main = _actable(report_id)
    workflow.merge(session, main, [_actable(i) for i in ids], actor=actor_label())
    session.commit()
    return queries.staff_view(session, main, with_history=True, viewer=current_principal())


@bp.patch("/reports/<int:report_id>/location")
@require_roles("officer")
@on_primary("writes the report")
def move_report(report_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.move(session, _actable(report_id), finite_float(body.get("lon"), "lon"),
                           finite_float(body.get("lat"), "lat"), actor=actor_label(),
                           reason=str(body.get("reason") or ""))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.get("/report-categories")
@open_to("everyone; the category catalog")
@on_replica
def categories():
    return {
        "categories": [
            {"code": c.code, "name_vi": c.name_vi, "name_en": c.name_en, "domain": c.domain,
             "deadline_hours": c.deadline_hours}
            for c in list_categories(db_session())
        ]
    }
