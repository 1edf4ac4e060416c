"""HTTP API of intake: citizen reports filed and their public status, ward QR codes and keychain sheets."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from gisserver.accounts.auth import actor_label, current_principal, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session, int_arg, json_body, lonlat_args
from reports.intake import keychains as keychain_service
from reports.intake.filing import commit_filed, file_report, public_answer
from reports.intake.forms import duplicate_policy, form_body, public_base, report_input
from reports.intake.keychains import keychain_info
from reports.intake.limits import admit_to_area, check_filer, per_client_intake
from reports.intake.submit import placement
from reports.workflow import access, queries
from reports.workflow.forms import request_photos

bp = Blueprint("intake", __name__, url_prefix="/api")


@bp.post("/reports")
@per_client_intake
@open_to("residents, anonymously; rate-limited per client and per area")
@on_primary("writes reports; rate-limited (its counters are written too)")
def create_report():
    check_filer("api")
    multipart = request.mimetype == "multipart/form-data"
    data = report_input(form_body() if multipart else json_body())
    photos = request_photos() if multipart else []  # every photo is checked before anything is stored
    principal = current_principal()
    staff = bool(principal and principal.has_role("officer"))
    session = db_session()
    filed = file_report(session, data, photos, current_app.config["SETTINGS"].photo_dir, actor=actor_label(),
                        staff=staff, duplicates=duplicate_policy(), admit=admit_to_area,
                        filed_by=principal.name if staff else None)
    report, created = filed.report, filed.created
    # The answer is read before the commit: once the report is stored, nothing may fail and
    # tell the resident it was not (a retry with the same Idempotency-Key would still find it).
    body = public_answer(session, filed)
    commit_filed(session, filed)  # 201 only once the report is safely stored
    body["status_url"] = url_for("intake.report_status", code=report.tracking_code, _external=True)
    if staff:
        body["id"] = report.id
    return body, 201 if created else 200


@bp.get("/reports/placement")
@require_roles("officer")
@on_replica
def report_placement():
    """Where a report filed at a point would go (area, unit), and whether that stays in the caller's scope."""
    session = db_session()
    lon, lat = lonlat_args()
    return placement(session, request.args.get("category", ""), lon, lat, access.scope_of(session, current_principal()))


@bp.get("/reports/nearby")
@open_to("everyone; open reports of public categories only, without reporter data")
@on_replica
def nearby_reports():
    """Open reports near a point, for a resident about to send the same thing."""
    lon, lat = lonlat_args()
    found = queries.open_reports_near(db_session(), lon, lat)
    for item in found:
        item["status_url"] = url_for("intake_pages.status_page", code=item["tracking_code"])
    return {"reports": found}


@bp.get("/reports/<code>/status")
@open_to("everyone; the public view of a report, without reporter data")
@on_replica
def report_status(code: str):
    session = db_session()
    return queries.public_view(session, queries.report_by_tracking_code(session, code))


@bp.get("/areas/<code>/qr/<kind>.<fmt>")
@open_to("everyone; the ward's public intake links")
@on_replica
def ward_qr(code: str, kind: str, fmt: str):
    info = keychain_info(db_session(), code, public_base())
    kind = keychain_service.kind_named(kind) or kind
    if kind not in info.links:
        raise NotFound("the code kind is police or committee")
    data = keychain_service.qr_image(info.links[kind], fmt)
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    return current_app.response_class(data, mimetype=mimetype, headers={
        "Content-Disposition": f'inline; filename="{code}-{kind}.{fmt}"'})


@bp.get("/areas/<code>/keychains.pdf")
@require_roles("officer")
@on_replica
def ward_keychains(code: str):
    """The sheet of keychain cards of a ward, for its staff (admins: every ward)."""
    session = db_session()
    ward = keychain_service.ward_of(session, code)
    if not keychain_service.may_print(session, current_principal(), ward):
        raise NotFound(f"{code} is not one of your wards")
    info = keychain_info(session, code, public_base())
    pdf = keychain_service.keychain_sheet(info, copies=int_arg("copies", 10))
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="keychains-{code}.pdf"'})

