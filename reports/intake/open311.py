"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): services and service requests, JSON and XML.

Requests are our reports: service_request_id is the public tracking code, service_code the category.
Reporter data is accepted on POST and never returned; reports to the police are not listed, and asked for
by id they show their status only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from flask import Blueprint, Response, current_app, json, request
from werkzeug.exceptions import HTTPException

from gisserver.accounts.auth import accepts_api_key, actor_label
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound, ServiceError
from gisserver.core.http import datetime_arg, db_session, finite_float
from reports.intake import georeport
from reports.intake.forms import duplicate_policy
from reports.intake.limits import OPEN311_SCOPE, admit_to_area, check_filer, per_client_intake
from reports.intake.submit import ReportInput, resident_contact, submit_report
from reports.workflow.categories import category_by_code, list_categories

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = {"json": "application/json", "xml": "text/xml"}
# The spec's content types: UTF-8 everywhere, said in the header.
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_WINDOW_DAYS = 90  # the spec: a query spans at most 90 days, the most recent by default


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise NotFound("format must be .json or .xml")
    return fmt


def _render(fmt: str, root: str, item: str, rows: list[dict], status: int = 200) -> Response:
    if fmt == "json":
        return Response(json.dumps(rows, ensure_ascii=False), status, content_type=CONTENT_TYPES["json"])
    top = ET.Element(root)
    for row in rows:
        node = ET.SubElement(top, item)
        for key, value in row.items():
            child = ET.SubElement(node, key)
            if isinstance(value, bool):
                child.text = "true" if value else "false"
            elif isinstance(value, list):
                child.text = ",".join(map(str, value))
            elif value is not None:
                child.text = str(value)
    return _xml(top, status)


def _xml(top: ET.Element, status: int = 200) -> Response:
    # The spec asks for the XML declaration with its encoding before the root element.
    body = b'<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(top, encoding="unicode").encode("utf-8")
    return Response(body, status, content_type=CONTENT_TYPES["xml"])


def _fmt_from_path() -> str:
    last = request.path.rsplit(".", 1)
    return last[1] if len(last) == 2 and last[1] in FORMATS else "json"


@bp.errorhandler(ServiceError)
def open311_error(exc: ServiceError):
    rows = [{"code": exc.status, "description": exc.message}]
    response = _render(_fmt_from_path(), "errors", "error", rows, exc.status)
    response.headers.update(exc.headers)
    return response


@bp.errorhandler(HTTPException)
def open311_http_error(exc: HTTPException):
    return _render(_fmt_from_path(), "errors", "error", [{"code": exc.code, "description": exc.description}],
                   exc.code or 500)


@bp.get("/services.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
@on_replica
def services(fmt: str):
    fmt = _format(fmt)
    session = db_session()
    georeport.check_jurisdiction(session, request.values.get("jurisdiction_id"))
    return _render(fmt, "services", "service", [georeport.service_row(c) for c in list_categories(session)])


@bp.get("/services/<code>.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
@on_replica
def service_definition(code: str, fmt: str):
    fmt = _format(fmt)
    session = db_session()
    georeport.check_jurisdiction(session, request.values.get("jurisdiction_id"))
    try:
        category = category_by_code(session, code)
    except Invalid:
        raise NotFound(f"no service {code!r}") from None
    body = {"service_code": category.code, "attributes": []}
    if fmt == "json":
        return Response(json.dumps(body, ensure_ascii=False), content_type=CONTENT_TYPES["json"])
    top = ET.Element("service_definition")
    ET.SubElement(top, "service_code").text = category.code
    ET.SubElement(top, "attributes")
    return _xml(top)


@bp.post("/requests.<fmt>")
@per_client_intake
@accepts_api_key(OPEN311_SCOPE)
@open_to("residents, anonymously, and registered applications; each rate-limited (per client and area, per key)")
@on_primary("writes reports; rate-limited (its counters are written too)")
def create_request(fmt: str):
    fmt = _format(fmt)
    check_filer("open311")
    session = db_session()
    georeport.check_jurisdiction(session, request.values.get("jurisdiction_id"))
    form = request.form
    if not form.get("service_code"):
        raise Invalid("service_code is required")
    lat, lon = form.get("lat"), form.get("long")
    name = " ".join(p for p in (form.get("first_name"), form.get("last_name")) if p) or None
    data = ReportInput(
        category=form["service_code"],
        description=form.get("description") or "",
        lon=finite_float(lon, "long") if lon not in (None, "") else None,
        lat=finite_float(lat, "lat") if lat not in (None, "") else None,
        address=form.get("address_string"),
        reporter_name=name,
        reporter_phone=form.get("phone") or None,
        channel="open311",
        idempotency_key=request.headers.get("Idempotency-Key"),
        # GeoReport v2's email and phone are told of progress only with the explicit notify_consent=true that
        # the client showed the resident (an email without it stays unused, as GeoReport clients send it anyway).
        contact=resident_contact(form.get("email"), form.get("phone"), form.get("notify_consent"),
                                 (form.get("locale") or "vi")[:2]) if form.get("notify_consent") else None,
    )
    try:
        report, created = submit_report(session, data, actor=actor_label(), staff=False,
                                        duplicates=duplicate_policy(), admit=admit_to_area)
    except Invalid as exc:
        # GeoReport v2: an unknown service_code is a 404, whatever else is wrong. Intake reads the category with
        # everything else it needs, so only a refused request asks for it again.
        if (exc.details or {}).get("field") == "category" or not _known_service(session, form["service_code"]):
            raise NotFound(f"service_code {form['service_code']!r} was not found") from None
        raise
    session.commit()
    notice = f"Tra cứu tiến độ bằng mã {report.tracking_code}"
    rows = [{"service_request_id": report.tracking_code, "service_notice": notice, "account_id": None}]
    return _render(fmt, "service_requests", "request", rows, 201 if created else 200)


def _known_service(session, code: str) -> bool:
    try:
        category_by_code(session, code)
    except Invalid:
        return False
    return True


@bp.get("/requests.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
@on_replica
def list_requests(fmt: str):
    fmt = _format(fmt)
    session = db_session()
    georeport.check_jurisdiction(session, request.values.get("jurisdiction_id"))
    query = georeport.RequestQuery(
        ids=[i.strip().upper() for i in request.args.get("service_request_id", "").split(",") if i.strip()],
        start=datetime_arg("start_date", assume_utc=True),
        end=datetime_arg("end_date", assume_utc=True),
        service_codes=[c for c in request.args.get("service_code", "").split(",") if c],
        statuses=[c for c in request.args.get("status", "").split(",") if c],
    )
    rows = [georeport.request_row(r) for r in georeport.find_requests(session, query, window=_window())]
    return _render(fmt, "service_requests", "request", rows)


def _window() -> timedelta:
    return timedelta(days=current_app.config.get("OPEN311_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))


@bp.get("/requests/<request_id>.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
@on_replica
def get_request(request_id: str, fmt: str):
    fmt = _format(fmt)
    session = db_session()
    georeport.check_jurisdiction(session, request.values.get("jurisdiction_id"))
    report = georeport.request_by_id(session, request_id)
    return _render(fmt, "service_requests", "request", [georeport.request_row(report)])


@bp.get("/discovery.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
@on_replica
def discovery(fmt: str):
    fmt = _format(fmt)
    base = request.url_root.rstrip("/") + bp.url_prefix + "/"
    body = {
        "changeset": "2026-11-24T00:00:00Z",
        "contact": "Trung tâm Giám sát, điều hành đô thị thông minh",
        "key_service": "",
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": base,
                       "changeset": "2026-11-24T00:00:00Z", "type": "production", "formats": list(FORMATS.values())}],
    }
    if fmt == "json":
        return Response(json.dumps(body), content_type=CONTENT_TYPES["json"])
    top = ET.Element("discovery")
    for key in ("changeset", "contact", "key_service"):
        ET.SubElement(top, key).text = body[key]
    endpoints = ET.SubElement(ET.SubElement(top, "endpoints"), "endpoint")
    for key in ("specification", "url", "changeset", "type"):
        ET.SubElement(endpoints, key).text = body["endpoints"][0][key]
    formats = ET.SubElement(endpoints, "formats")
    for f in FORMATS.values():
        ET.SubElement(formats, "format").text = f
    return _xml(top)
