"""HTTP API of reports: citizen intake and status, officer queues and workflow, areas and categories."""

from __future__ import annotations

from flask import Blueprint, current_app, request, send_file, url_for

from gisserver.auth import current_principal, is_staff, open_to, require_roles
from gisserver.exceptions import Invalid, NotFound
from gisserver.http import bool_arg, date_arg, db_session, finite_float, int_arg, json_body
from gisserver.ratelimit import admit_to_area, per_client_intake
from reports import areas as area_service
from reports import gazetteer, geo, queries, workflow
from reports import keychains as keychain_service
from reports import photos as photo_service
from reports.categories import list_categories
from reports.filing import commit_filed, file_report
from reports.intake import DuplicatePolicy, ReportInput
from reports.keychains import keychain_info
from reports.models import Report

bp = Blueprint("reports", __name__, url_prefix="/api")


def _actor() -> str:
    principal = current_principal()
    return f"{principal.kind}:{principal.name}" if principal else "anonymous"


def _object(body, name: str) -> dict:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise Invalid(f"{name} must be an object", {"field": name})
    return value


def _form_body() -> dict:
    """A multipart form (with photos) in the shape of the JSON body."""
    form = request.form
    body = {k: form.get(k) or None for k in ("category", "description", "address", "area", "channel")}
    body["location"] = {k: form.get(k) for k in ("lon", "lat") if form.get(k) not in (None, "")}
    body["reporter"] = {"name": form.get("reporter_name"), "phone": form.get("reporter_phone")}
    return body


def photo_dir():
    return current_app.config["SETTINGS"].data_dir / "photos"


def duplicate_policy() -> DuplicatePolicy:
    """How near and how recent an open report must be for a new one to be flagged (configurable)."""
    settings = current_app.config["SETTINGS"]
    return DuplicatePolicy(metres=float(settings.duplicate_metres), hours=float(settings.duplicate_hours))


def request_photos() -> list[photo_service.ProcessedPhoto]:
    settings = current_app.config["SETTINGS"]
    files = [f for f in request.files.getlist("photos") if f.filename or f.content_length]
    if len(files) > settings.photo_max_count:
        raise Invalid(f"at most {settings.photo_max_count} photos", {"field": "photos"})
    max_bytes = settings.photo_max_mb * 1024 * 1024
    return [
        photo_service.process_photo(f.stream.read(max_bytes + 1), max_bytes=max_bytes, name=f"photo {i + 1}")
        for i, f in enumerate(files)
    ]


def _report_input(body) -> ReportInput:
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    location = _object(body, "location")
    reporter = _object(body, "reporter")
    lon, lat = location.get("lon", body.get("lon")), location.get("lat", body.get("lat"))
    return ReportInput(
        category=str(body.get("category") or ""),
        description=body.get("description") or "",
        lon=None if lon is None else finite_float(lon, "lon"),
        lat=None if lat is None else finite_float(lat, "lat"),
        address=body.get("address"),
        area_code=body.get("area"),
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        channel=str(body.get("channel") or "api"),
        idempotency_key=request.headers.get("Idempotency-Key"),
    )


@bp.post("/reports")
@per_client_intake
@open_to("residents, anonymously; rate-limited per client and per area")
def create_report():
    multipart = request.mimetype == "multipart/form-data"
    data = _report_input(_form_body() if multipart else json_body())
    photos = request_photos() if multipart else []  # every photo is checked before anything is stored
    principal = current_principal()
    staff = bool(principal and principal.has_role("officer"))
    session = db_session()
    filed = file_report(session, data, photos, photo_dir(), actor=_actor(), staff=staff,
                        duplicates=duplicate_policy(), admit=admit_to_area)
    report, created = filed.report, filed.created
    # The answer is read before the commit: once the report is stored, nothing may fail and
    # tell the resident it was not (a retry with the same Idempotency-Key would still find it).
    body = queries.public_view(session, report)
    commit_filed(session, filed)  # 201 only once the report is safely stored
    body["status_url"] = url_for("reports.report_status", code=report.tracking_code, _external=True)
    if staff:
        body["id"] = report.id
    return body, 201 if created else 200


@bp.get("/reports/<code>/status")
@open_to("everyone; the public view of a report, without reporter data")
def report_status(code: str):
    session = db_session()
    return queries.public_view(session, queries.report_by_tracking_code(session, code))








def _queue_filter() -> queries.QueueFilter:
    return queries.QueueFilter(
        statuses=[s for s in request.args.get("status", "").split(",") if s],
        overdue=bool_arg("overdue"),
        category=request.args.get("category") or None,
        area=request.args.get("area") or None,
        unit=request.args.get("unit") or None,
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        sort=request.args.get("sort", "-created"),
        page=int_arg("page", 1),
        per_page=int_arg("per_page", 50),
    )


@bp.get("/reports.geojson")
@require_roles("officer", "leader")
def reports_geojson():
    text = queries.queue_geojson(db_session(), current_principal(), _queue_filter())
    return current_app.response_class(text, mimetype="application/geo+json")


@bp.get("/reports")
@require_roles("officer", "leader")
def list_reports():
    session = db_session()
    page = queries.queue(session, current_principal(), _queue_filter())
    return {
        "items": [queries.staff_view(session, r, viewer=current_principal()) for r in page.items],
        "total": page.total,
        "page": page.page,
        "per_page": page.per_page,
    }


def _visible(report_id: int) -> Report:
    return queries.visible_report(db_session(), current_principal(), report_id)


@bp.get("/reports/<int:report_id>")
@require_roles("officer", "leader")
def get_report(report_id: int):
    session = db_session()
    report = _visible(report_id)
    body = queries.staff_view(session, report, with_history=True, viewer=current_principal())
    body["photos"] = [
        {"url": url_for("reports.get_photo", report_id=report.id, photo_id=p.id), "width": p.width,
         "height": p.height}
        for p in photo_service.photos_of(session, report.id)
    ]
    return body


@bp.get("/reports/<int:report_id>/photos/<int:photo_id>")
@require_roles("officer", "leader")
def get_photo(report_id: int, photo_id: int):
    session = db_session()
    _visible(report_id)
    return send_file(photo_service.photo_file(session, report_id, photo_id, photo_dir()), mimetype="image/jpeg",
                     max_age=3600)


@bp.post("/reports/<int:report_id>/transition")
@require_roles("officer")
def transition_report(report_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.transition(session, _visible(report_id), str(body.get("action") or ""), actor=_actor(),
                                 note=str(body.get("note") or ""))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.post("/reports/<int:report_id>/reassign")
@require_roles("officer")
def reassign_report(report_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.reassign(session, _visible(report_id), actor=_actor(), reason=str(body.get("reason") or ""),
                               unit_code=body.get("unit"), area_code=body.get("area"))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.post("/reports/<int:report_id>/merge")
@require_roles("officer")
def merge_reports(report_id: int):
    body = json_body()
    ids = body.get("duplicates") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise Invalid("duplicates must be a list of report ids", {"field": "duplicates"})
    session = db_session()
    main = _visible(report_id)
    workflow.merge(session, main, [_visible(i) for i in ids], actor=_actor())
    session.commit()
    return queries.staff_view(session, main, with_history=True, viewer=current_principal())


@bp.patch("/reports/<int:report_id>/location")
@require_roles("officer")
def move_report(report_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    report = workflow.move(session, _visible(report_id), finite_float(body.get("lon"), "lon"),
                           finite_float(body.get("lat"), "lat"), actor=_actor(), reason=str(body.get("reason") or ""))
    session.commit()
    return queries.staff_view(session, report, with_history=True, viewer=current_principal())


@bp.get("/report-categories")
@open_to("everyone; the category catalog")
def categories():
    return {
        "categories": [
            {"code": c.code, "name_vi": c.name_vi, "name_en": c.name_en, "domain": c.domain,
             "deadline_hours": c.deadline_hours}
            for c in list_categories(db_session())
        ]
    }


def _area_json(area) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level, "valid_from": area.valid_from.isoformat(),
            "valid_to": area.valid_to.isoformat() if area.valid_to else None}


@bp.get("/areas")
@open_to("everyone; area names and codes")
def list_areas():
    session = db_session()
    rows = area_service.list_areas(session, level=request.args.get("level") or None,
                                   parent_code=request.args.get("parent") or None)
    return {"areas": [_area_json(a) for a in rows]}


@bp.get("/areas.geojson")
@open_to("everyone; area boundaries")
def areas_geojson():
    level = request.args.get("level", "ward")
    if level not in ("city", "ward", "group"):
        raise Invalid("level must be city, ward or group", {"field": "level"})
    session = db_session()
    parent = request.args.get("parent")
    parent_id = area_service.area_by_code(session, parent).id if parent else None
    text = geo.areas_geojson(session, level, parent_id)
    return current_app.response_class(text, mimetype="application/geo+json")


@bp.get("/areas/lookup")
@open_to("everyone; point to area")
def lookup_area():
    lon = finite_float(request.args.get("lon"), "lon")
    lat = finite_float(request.args.get("lat"), "lat")
    if abs(lon) > 180 or abs(lat) > 90:
        raise Invalid("lon/lat out of range")
    chain = area_service.area_chain_for_point(db_session(), lon, lat, on=date_arg("on"))
    return {"areas": [_area_json(a) for a in chain], "inside_city": bool(chain)}


def _public_base() -> str:
    return current_app.config["SETTINGS"].public_url or request.url_root


@bp.get("/areas/<code>/qr/<kind>.<fmt>")
@open_to("everyone; the ward's public intake links")
def ward_qr(code: str, kind: str, fmt: str):
    info = keychain_info(db_session(), code, _public_base())
    if kind not in info.links:
        raise NotFound("the code kind is police or committee")
    data = keychain_service.qr_image(info.links[kind], fmt)
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    return current_app.response_class(data, mimetype=mimetype, headers={
        "Content-Disposition": f'inline; filename="{code}-{kind}.{fmt}"'})


@bp.get("/areas/<code>/keychains.pdf")
@open_to("everyone; the ward's public intake links")
def ward_keychains(code: str):
    info = keychain_info(db_session(), code, _public_base())
    pdf = keychain_service.keychain_sheet(info, copies=int_arg("copies", 10))
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="keychains-{code}.pdf"'})


@bp.get("/geocode")
@open_to("everyone; the public gazetteer")
def geocode():
    limit = int_arg("limit", 10)
    session, q = db_session(), request.args.get("q", "")
    addresses = gazetteer.search(session, q, limit=limit, include_internal=is_staff())
    areas = gazetteer.search_areas(session, q, limit=min(3, limit)) if request.args.get("areas") == "true" else []
    places = sorted(areas + addresses, key=lambda p: -p.score)[:limit]
    return {"places": [{"label": p.label, "lon": round(p.lon, 7), "lat": round(p.lat, 7), "score": p.score,
                        "kind": p.kind, **({"bbox": [round(v, 7) for v in p.bbox]} if p.bbox else {})}
                       for p in places]}


@bp.get("/geocode/reverse")
@open_to("everyone; the public gazetteer")
def reverse_geocode():
    lon = finite_float(request.args.get("lon"), "lon")
    lat = finite_float(request.args.get("lat"), "lat")
    if abs(lon) > 180 or abs(lat) > 90:
        raise Invalid("lon/lat out of range")
    place = gazetteer.reverse(db_session(), lon, lat, include_internal=is_staff())
    if place is None:
        raise NotFound("no address near this point")
    return {"label": place.label, "lon": round(place.lon, 7), "lat": round(place.lat, 7), "distance_m": place.score}
