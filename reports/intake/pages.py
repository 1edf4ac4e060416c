"""Citizen pages: choosing a ward, the QR-code report form of a ward, and the public status page."""

from __future__ import annotations

import json

import folium
from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from gisserver.core.access import open_to
from gisserver.core.exceptions import NotFound, ServiceError
from gisserver.core.http import db_session, finite_float
from gisserver.core.maps import embed_map, offline_map
from gisserver.core.security import allows_geolocation
from reports.areas import sql as geo
from reports.areas.service import area_by_code, list_areas
from reports.intake.filing import commit_filed, file_report
from reports.intake.forms import duplicate_policy, request_photos
from reports.intake.keychains import KINDS, keychain_info
from reports.intake.limits import admit_to_area, check_filer, per_client_intake
from reports.intake.submit import CONSENT_LINE, ReportInput, resident_contact
from reports.workflow import queries
from reports.workflow.categories import list_categories

bp = Blueprint("intake_pages", __name__, template_folder="templates")

# What a resident reads when the form is refused, by the field the service names.
FORM_ERRORS = {
    "description": _l("Describe the problem in at least 5 characters."),
    "location": _l("Tap the map, use your location or type an address."),
    "outside_city": _l("This place is outside the city: please contact the local authority there."),
    "reporter_phone": _l("The phone number does not look right."),
    "photos": _l("Photos must be JPEG, PNG or WebP images, at most 5 of them."),
    "category": _l("Choose what the report is about."),
}


def form_error(exc: ServiceError) -> str:
    """The resident's words for a refusal; the service's own message when there are none."""
    details = exc.details if isinstance(exc.details, dict) else {}
    key = "outside_city" if details.get("reason") == "outside_city" else details.get("field")
    return str(FORM_ERRORS.get(key, exc.message))


def _form_map(ward_id: int):
    outline, (minx, miny, maxx, maxy) = geo.area_outline(db_session(), ward_id)
    settings = current_app.config["SETTINGS"]
    m = offline_map([(miny + maxy) / 2, (minx + maxx) / 2], 14, settings.basemap_url, settings.basemap_attribution,
                    height="320px")
    folium.GeoJson(json.loads(outline), name="ward",
                   style_function=lambda _f: {"color": "#0b4f6c", "weight": 2, "fillOpacity": 0.05}).add_to(m)
    # Without animation: a zoom still running when the resident taps would undo the tap's view.
    fit = folium.FitBounds([[miny, minx], [maxy, maxx]])
    fit.options["animate"] = False
    m.add_child(fit)
    return embed_map(m, url_for("static", filename=""))


def _context(ward_code: str, kind: str):
    session = db_session()
    info = keychain_info(session, ward_code, request.url_root)
    unit_type, domain, label_vi, label_en = KINDS[kind]
    categories = [c for c in list_categories(session) if c.domain == domain]
    ward = area_by_code(session, ward_code)
    english = str(get_locale()) == "en"
    return {"info": info, "kind": kind, "label": label_en if english else label_vi, "categories": categories,
            "english": english, "map": _form_map(ward.id), "unit_type": unit_type,
            "consent_line": CONSENT_LINE["en" if english else "vi"]}


@bp.get("/r")
@allows_geolocation
@open_to("everyone; the resident's intake form")
def choose_ward():
    """Residents without a QR code pick their ward (or let the phone find it) and what it is about."""
    ward, kind = request.args.get("ward", ""), request.args.get("kind", "committee")
    if ward and kind in KINDS:
        return redirect(url_for("intake_pages.report_form", ward_code=ward, kind=kind))
    wards = list_areas(db_session(), level="ward")
    english = str(get_locale()) == "en"
    kinds = {code: (label_en if english else label_vi) for code, (_u, _d, label_vi, label_en) in KINDS.items()}
    return render_template("intake/choose_ward.html", wards=wards, kinds=kinds,
                           lookup=url_for("areas.lookup_area"))


@bp.get("/r/<ward_code>/<kind>")
@allows_geolocation
@open_to("everyone; the resident's intake form")
def report_form(ward_code: str, kind: str):
    if kind not in KINDS:
        return redirect(url_for("intake_pages.report_form", ward_code=ward_code, kind="committee"))
    return render_template("intake/report_form.html", values={}, error=None, **_context(ward_code, kind))


def _optional_float(name: str) -> float | None:
    value = request.form.get(name, "").strip()
    return finite_float(value, name) if value else None


@bp.post("/r/<ward_code>/<kind>")
@per_client_intake
@allows_geolocation
@open_to("residents, anonymously; rate-limited per client and per area")
def submit_form(ward_code: str, kind: str):
    check_filer("qr_web")
    values = request.form.to_dict()
    session = db_session()
    try:
        data = ReportInput(
            category=values.get("category", ""),
            description=values.get("description", ""),
            lon=_optional_float("lon"),
            lat=_optional_float("lat"),
            address=values.get("address") or None,
            area_code=ward_code,
            reporter_name=values.get("reporter_name") or None,
            reporter_phone=values.get("reporter_phone") or None,
            channel="qr_web",
            contact=resident_contact(values.get("notify_email"), values.get("notify_phone"),
                                     values.get("notify_consent"), str(get_locale())),
        )
        filed = file_report(session, data, request_photos(), current_app.config["SETTINGS"].photo_dir,
                            actor="anonymous", staff=False,
                            duplicates=duplicate_policy(), admit=admit_to_area)
        commit_filed(session, filed)
    except ServiceError as exc:
        session.rollback()
        return render_template("intake/report_form.html", values=values, error=form_error(exc),
                               **_context(ward_code, kind)), exc.status, exc.headers
    return redirect(url_for("intake_pages.status_page", code=filed.report.tracking_code, sent=1))


@bp.get("/status")
@bp.get("/status/<code>")
@open_to("everyone; the public view of a report, without reporter data")
def status_page(code: str | None = None):
    code = code or request.args.get("code", "").strip()
    if not code:
        return render_template("intake/status.html", report=None, sent=False)
    if code != code.upper() or request.args.get("code"):
        return redirect(url_for("intake_pages.status_page", code=code.upper()))
    session = db_session()
    try:
        view = queries.public_view(session, queries.report_by_tracking_code(session, code))
    except NotFound:
        return render_template("intake/status.html", report=None, sent=False, missing=code), 404
    return render_template("intake/status.html", report=view, sent=bool(request.args.get("sent")))
