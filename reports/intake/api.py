"""HTTP API of intake: citizen reports filed and their public status, ward QR codes and keychain sheets."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for

from gisserver.accounts.auth import actor_label, current_principal
from gisserver.core.access import open_to
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session, int_arg, json_body
from reports.intake import keychains as keychain_service
from reports.intake.filing import commit_filed, file_report
from reports.intake.forms import duplicate_policy, form_body, public_base, report_input, request_photos
from reports.intake.keychains import keychain_info
from reports.intake.limits import admit_to_area, check_filer, per_client_intake
from reports.workflow import queries

bp = Blueprint("intake", __name__, url_prefix="/api")


@bp.post("/reports")
@per_client_intake
@open_to("residents, anonymously; rate-limited per client and per area")
def create_report():
    check_filer("api")
    multipart = request.mimetype == "multipart/form-data"
    data = report_input(form_body() if multipart else json_body())
    photos = request_photos() if multipart else []  # every photo is checked before anything is stored
    principal = current_principal()
    staff = bool(principal and principal.has_role("officer"))
    session = db_session()
    filed = file_report(session, data, photos, current_app.config["SETTINGS"].photo_dir, actor=actor_label(),
                        staff=staff, duplicates=duplicate_policy(), admit=admit_to_area)
    report, created = filed.report, filed.created
    # The answer is read before the commit: once the report is stored, nothing may fail and
    # tell the resident it was not (a retry with the same Idempotency-Key would still find it).
    body = queries.public_view(session, report)
    commit_filed(session, filed)  # 201 only once the report is safely stored
    body["status_url"] = url_for("intake.report_status", code=report.tracking_code, _external=True)
    if staff:
        body["id"] = report.id
    return body, 201 if created else 200


@bp.get("/reports/<code>/status")
@open_to("everyone; the public view of a report, without reporter data")
def report_status(code: str):
    session = db_session()
    return queries.public_view(session, queries.report_by_tracking_code(session, code))


@bp.get("/areas/<code>/qr/<kind>.<fmt>")
@open_to("everyone; the ward's public intake links")
def ward_qr(code: str, kind: str, fmt: str):
    info = keychain_info(db_session(), code, public_base())
    if kind not in info.links:
        raise NotFound("the code kind is police or committee")
    data = keychain_service.qr_image(info.links[kind], fmt)
    mimetype = "image/png" if fmt == "png" else "image/svg+xml"
    return current_app.response_class(data, mimetype=mimetype, headers={
        "Content-Disposition": f'inline; filename="{code}-{kind}.{fmt}"'})


@bp.get("/areas/<code>/keychains.pdf")
@open_to("everyone; the ward's public intake links")
def ward_keychains(code: str):
    info = keychain_info(db_session(), code, public_base())
    pdf = keychain_service.keychain_sheet(info, copies=int_arg("copies", 10))
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="keychains-{code}.pdf"'})
