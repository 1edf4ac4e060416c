"""Citizen pages: choosing a ward, the QR-code report form of a ward, and the public status page."""

from __future__ import annotations

import json

import folium
from flask import Blueprint, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import NotFound, ServiceError
from gisserver.core.http import db_session, finite_float
from gisserver.core.maps import embed_map, offline_map
from gisserver.core.security import allows_geolocation
from reports.areas import sql as geo
from reports.areas.models import Area
from reports.areas.service import ancestors, area_by_code, list_areas
from reports.intake import keychains as keychain_service
from reports.intake.filing import commit_filed, file_report
from reports.intake.forms import duplicate_policy, public_base
from reports.intake.keychains import KINDS, keychain_info, kind_named
from reports.intake.labels import CATEGORY_HINTS, CATEGORY_ICONS, DOMAIN_ICONS, DOMAIN_LABELS, GENERIC_ICON
from reports.intake.limits import admit_to_area, charge_caller, check_filer, per_client_intake
from reports.intake.submit import CONSENT_LINE, ReportInput, resident_contact
from reports.workflow import queries
from reports.workflow.categories import list_categories
from reports.workflow.forms import request_photos
from reports.workflow.transitions import add_support

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


def _category_groups(session, domain: str, english: bool) -> list[dict]:
    """The categories as the form offers them: the QR code's group first (police or People's Committee), the other
    one after, each with its icon and a few words of what it covers."""
    groups = {}
    for c in list_categories(session):
        groups.setdefault(c.domain, []).append({
            "code": c.code, "name": c.name_en if english else c.name_vi,
            "hint": CATEGORY_HINTS.get(c.code, ""), "icon": CATEGORY_ICONS.get(c.code, GENERIC_ICON)})
    order = sorted(groups, key=lambda d: d != domain)
    return [{"domain": d, "label": DOMAIN_LABELS.get(d, d), "icon": DOMAIN_ICONS.get(d, GENERIC_ICON),
             "primary": d == domain, "categories": groups[d]} for d in order]


def _context(ward_code: str, kind: str, values: dict | None = None):
    session = db_session()
    info = keychain_info(session, ward_code, request.url_root)
    unit_type, domain, label_vi, label_en = KINDS[kind]
    ward = area_by_code(session, ward_code)
    english = str(get_locale()) == "en"
    groups = _category_groups(session, domain, english)
    chosen = (values or {}).get("category")
    config = {"ward": {"code": ward.code, "name": ward.name}, "geocode": url_for("areas.geocode"),
              "lookup": url_for("areas.lookup_area"), "nearby": url_for("intake.nearby_reports"),
              "status": url_for("intake_pages.status_page", code="CODE"), "maxPhotos":
                  current_app.config["SETTINGS"].photo_max_count}
    return {"info": info, "kind": kind, "label": label_en if english else label_vi, "groups": groups,
            "english": english, "map": _form_map(ward.id), "unit_type": unit_type, "config": config,
            "consent_line": CONSENT_LINE["en" if english else "vi"],
            # The other group opens by itself when the chosen category is in it.
            "other_open": any(c["code"] == chosen for g in groups if not g["primary"] for c in g["categories"])}


@bp.get("/r")
@allows_geolocation
@open_to("everyone; the resident's intake form")
@on_replica
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
@on_replica
def report_form(ward_code: str, kind: str):
    known = kind_named(kind)  # "police", "committee", or their keychain names "ca", "ub"
    if known is None:
        return redirect(url_for("intake_pages.report_form", ward_code=ward_code, kind="committee"))
    return render_template("intake/report_form.html", values={}, error=None, question=None,
                           **_context(ward_code, known))


def _optional_float(name: str) -> float | None:
    value = request.form.get(name, "").strip()
    return finite_float(value, name) if value else None


@bp.post("/r/<ward_code>/<kind>")
@per_client_intake
@allows_geolocation
@open_to("residents, anonymously; rate-limited per client and per area")
@on_primary("writes reports; rate-limited (its counters are written too)")
def submit_form(ward_code: str, kind: str):
    check_filer("qr_web")
    kind = kind_named(kind) or "committee"
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
            ward_choice=values.get("ward_choice") or None,
        )
        filed = file_report(session, data, request_photos(), current_app.config["SETTINGS"].photo_dir,
                            actor="anonymous", staff=False,
                            duplicates=duplicate_policy(), admit=admit_to_area)
        commit_filed(session, filed)
    except ServiceError as exc:
        session.rollback()
        details = exc.details if isinstance(exc.details, dict) else {}
        # A place in another ward than the QR code's: the resident says where it should go (never moved silently).
        question = details if details.get("reason") == "outside_qr_ward" else None
        return render_template("intake/report_form.html", values=values, error=None if question else form_error(exc),
                               question=question, **_context(ward_code, kind, values)), exc.status, exc.headers
    return redirect(url_for("intake_pages.status_page", code=filed.report.tracking_code, sent=1))


def _status_map(session, view: dict, area_id: int | None):
    """A small map of the report's place, with its ward's residential groups when there is no base map."""
    settings = current_app.config["SETTINGS"]
    lon, lat = view["location"]["lon"], view["location"]["lat"]
    m = offline_map([lat, lon], 16, settings.basemap_url, settings.basemap_attribution, height="240px")
    if area_id is not None:
        ward = next((a for a in ancestors(session, session.get(Area, area_id)) if a.level == "ward"), None)
        if ward is not None:
            folium.GeoJson(json.loads(geo.areas_geojson(session, "group", parent_id=ward.id)), name="groups",
                           control=False, interactive=False,
                           style_function=lambda _f: {"color": "#5b6770", "weight": 1, "dashArray": "4 3",
                                                      "fillOpacity": 0.03}).add_to(m)
    folium.CircleMarker([lat, lon], radius=9, color="#0b4f6c", weight=3, fill=True, fill_color="#0b4f6c",
                        fill_opacity=0.35).add_to(m)
    return embed_map(m, url_for("static", filename=""))


@bp.get("/keychains")
@page_roles("officer")
@on_replica
def keychains_page():
    """QR keychain sheets of the caller's wards: a preview of the card and the PDF to print."""
    session = db_session()
    wards = keychain_service.printable_wards(session, current_principal())
    chosen = request.args.get("ward") or (wards[0].code if wards else None)
    if chosen and chosen not in {w.code for w in wards}:
        raise NotFound(f"{chosen} is not one of your wards")
    copies = request.args.get("copies") or "10"
    problem, info = None, None
    try:
        base = public_base()
        info = keychain_info(session, chosen, base) if chosen else None
    except ServiceError as exc:
        problem = exc.message  # no public address yet: say what to set instead of printing useless codes
    return render_template("intake/keychains.html", wards=wards, chosen=chosen, copies=copies, info=info,
                           problem=problem, max_copies=keychain_service.MAX_COPIES,
                           call_to_action=keychain_service.CALL_TO_ACTION, kinds=KINDS)


@bp.get("/status")
@bp.get("/status/<code>")
@open_to("everyone; the public view of a report, without reporter data")
@on_replica
def status_page(code: str | None = None):
    code = code or request.args.get("code", "").strip()
    if not code:
        return render_template("intake/status.html", report=None, sent=False)
    if code != code.upper() or request.args.get("code"):
        return redirect(url_for("intake_pages.status_page", code=code.upper()))
    session = db_session()
    try:
        report = queries.report_by_tracking_code(session, code)
    except NotFound:
        return render_template("intake/status.html", report=None, sent=False, missing=code), 404
    view = queries.public_view(session, report)
    m = _status_map(session, view, report.area_current_id) if view["location"] else None
    return render_template("intake/status.html", report=view, sent=bool(request.args.get("sent")), map=m,
                           supported=bool(request.args.get("supported")), english=str(get_locale()) == "en")


@bp.post("/status/<code>/support")
@per_client_intake
@open_to("residents, anonymously; rate-limited per client like a report")
@on_primary("writes a resident's support; rate-limited (its counters are written too)")
def support_report(code: str):
    """"I see it too": another resident adds their voice to an open report instead of filing the same again."""
    session = db_session()
    report = queries.report_by_tracking_code(session, code)
    charge_caller()  # before the support is written: a spent allowance writes nothing
    try:
        add_support(session, report)
        session.commit()
    except ServiceError:
        session.rollback()
        return redirect(url_for("intake_pages.status_page", code=report.tracking_code))
    return redirect(url_for("intake_pages.status_page", code=report.tracking_code, supported=1))


@bp.get("/status/<code>/photos/<int:photo_id>")
@open_to("everyone; only the photos the report's public view shows (never for police matters)")
@on_replica
def status_photo(code: str, photo_id: int):
    path = queries.public_photo(db_session(), code.upper(), photo_id, current_app.config["SETTINGS"].photo_dir)
    return send_file(path, mimetype="image/jpeg", max_age=3600)
