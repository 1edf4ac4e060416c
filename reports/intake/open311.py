"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2): services and service requests, JSON and XML.

Requests are our reports: service_request_id is the public tracking code, service_code the category.
Reporter data is accepted on POST and never returned; reports to the police are not listed, and asked for
by id they show their status only.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, Response, current_app, json, request
from flask_limiter.errors import RateLimitExceeded
from geoalchemy2.shape import to_shape
from sqlalchemy import and_, select
from werkzeug.exceptions import HTTPException

from gisserver.auth import current_principal, open_to
from gisserver.exceptions import Invalid, NotFound, ServiceError
from gisserver.http import db_session, finite_float
from gisserver.ratelimit import admit_to_area, per_client_intake, retry_after
from reports.api import duplicate_policy
from reports.categories import UNPUBLISHED_DOMAINS, category_by_code, is_published, list_categories
from reports.intake import ReportInput, submit_report
from reports.models import OPEN_STATUSES, Area, Category, Report

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMATS = {"json": "application/json", "xml": "text/xml"}
# The spec's content types: UTF-8 everywhere, said in the header.
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
MAX_REQUESTS = 1000
DEFAULT_WINDOW_DAYS = 90  # the spec: a query spans at most 90 days, the most recent by default
DOMAIN_GROUPS = {"security_order": "An ninh trật tự", "socio_economic": "Kinh tế - xã hội"}


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


@bp.errorhandler(RateLimitExceeded)
def open311_rate_limited(exc: RateLimitExceeded):
    rows = [{"code": 429, "description": f"Too many requests: the limit is {exc.limit.limit}. Try again later."}]
    response = _render(_fmt_from_path(), "errors", "error", rows, 429)
    response.headers["Retry-After"] = str(retry_after())
    return response


@bp.errorhandler(HTTPException)
def open311_http_error(exc: HTTPException):
    return _render(_fmt_from_path(), "errors", "error", [{"code": exc.code, "description": exc.description}],
                   exc.code or 500)


def _check_jurisdiction(session) -> None:
    wanted = request.values.get("jurisdiction_id")
    if wanted and session.scalar(select(Area.id).where(Area.code == wanted, Area.level == "city")) is None:
        raise NotFound(f"jurisdiction_id {wanted!r} is not served here")


def _service(c: Category) -> dict:
    return {
        "service_code": c.code,
        "service_name": c.name_vi,
        "description": f"{c.name_en}. Thời hạn xử lý {c.deadline_hours} giờ.",
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(k for k in (c.code.replace("_", " "), c.name_en) if k),  # a comma-separated list
        "group": DOMAIN_GROUPS.get(c.domain, c.domain),
    }


@bp.get("/services.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
def services(fmt: str):
    fmt = _format(fmt)
    session = db_session()
    _check_jurisdiction(session)
    return _render(fmt, "services", "service", [_service(c) for c in list_categories(session)])


@bp.get("/services/<code>.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
def service_definition(code: str, fmt: str):
    fmt = _format(fmt)
    session = db_session()
    _check_jurisdiction(session)
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


def _w3(at: datetime) -> str:
    """A W3C date-time with its offset, e.g. 2026-01-31T08:00:00Z."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _request_row(session, report: Report) -> dict:
    published = is_published(report.category)
    point = to_shape(report.geom) if report.geom is not None and published else None
    return {
        "service_request_id": report.tracking_code,
        "status": "open" if report.status in OPEN_STATUSES else "closed",
        "status_notes": report.resolution if report.status not in OPEN_STATUSES else None,
        "service_name": report.category.name_vi,
        "service_code": report.category.code,
        "description": report.description if published else None,
        "agency_responsible": report.unit.name if report.unit else None,
        "service_notice": None,
        "requested_datetime": _w3(report.created_at),
        # The spec: for a closed request, the time it was closed.
        "updated_datetime": _w3(report.closed_at if report.status not in OPEN_STATUSES and report.closed_at
                                else report.updated_at),
        "expected_datetime": _w3(report.due_at),
        "address": report.address if published else None,
        "address_id": None,
        "zipcode": None,
        "lat": round(point.y, 7) if point else None,
        "long": round(point.x, 7) if point else None,
        "media_url": None,
    }


@bp.post("/requests.<fmt>")
@per_client_intake
@open_to("residents, anonymously; rate-limited per client and per area")
def create_request(fmt: str):
    fmt = _format(fmt)
    session = db_session()
    _check_jurisdiction(session)
    form = request.form
    if not form.get("service_code"):
        raise Invalid("service_code is required")
    try:
        category_by_code(session, form["service_code"])
    except Invalid:
        raise NotFound(f"service_code {form['service_code']!r} was not found") from None
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
    )
    principal = current_principal()
    actor = f"{principal.kind}:{principal.name}" if principal else "anonymous"
    report, created = submit_report(session, data, actor=actor, staff=False, duplicates=duplicate_policy(),
                                    admit=admit_to_area)
    session.commit()
    notice = f"Tra cứu tiến độ bằng mã {report.tracking_code}"
    rows = [{"service_request_id": report.tracking_code, "service_notice": notice, "account_id": None}]
    return _render(fmt, "service_requests", "request", rows, 201 if created else 200)


def _parse_date(name: str) -> datetime | None:
    value = request.args.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.combine(date.fromisoformat(value), time.min)
        except ValueError:
            raise Invalid(f"{name} must be a W3C date-time, e.g. 2026-01-31T08:00:00+07:00") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@bp.get("/requests.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
def list_requests(fmt: str):
    fmt = _format(fmt)
    session = db_session()
    _check_jurisdiction(session)
    conditions = []
    ids = [i.strip().upper() for i in request.args.get("service_request_id", "").split(",") if i.strip()]
    if ids:
        conditions.append(Report.tracking_code.in_(ids[:MAX_REQUESTS]))
    else:
        start, end = _parse_date("start_date"), _parse_date("end_date")
        if start and end and start > end:
            raise Invalid("start_date is after end_date")
        # Without a start, the 90 days up to the end (or now); a range may not span more than 90 days.
        if start is None:
            start = (end or datetime.now(UTC).replace(microsecond=0)) - _window()
        elif end is not None and end - start > _window():
            raise Invalid(f"start_date and end_date may not span more than {_window().days} days")
        # Merged duplicates are listed through their main request; asked for by id, they still answer.
        # Reports to the police are not listed at all: their filer follows them by id.
        conditions += [Report.created_at >= start, Report.merged_into_id.is_(None),
                       Report.category.has(Category.domain.not_in(UNPUBLISHED_DOMAINS))]
        if end:
            conditions.append(Report.created_at <= end)
        codes = [c for c in request.args.get("service_code", "").split(",") if c]
        if codes:
            conditions.append(Report.category.has(Category.code.in_(codes)))
        status = request.args.get("status")
        if status:
            wanted = set(status.split(","))
            if not wanted <= {"open", "closed"}:
                raise Invalid("status must be open or closed")
            if wanted == {"open"}:
                conditions.append(Report.status.in_(OPEN_STATUSES))
            elif wanted == {"closed"}:
                conditions.append(Report.status.not_in(OPEN_STATUSES))
    reports = session.scalars(
        select(Report).where(and_(*conditions))
        .order_by(Report.created_at.desc()).limit(MAX_REQUESTS)
    ).all()
    return _render(fmt, "service_requests", "request", [_request_row(session, r) for r in reports])


def _window() -> timedelta:
    return timedelta(days=current_app.config.get("OPEN311_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))


@bp.get("/requests/<request_id>.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
def get_request(request_id: str, fmt: str):
    fmt = _format(fmt)
    session = db_session()
    _check_jurisdiction(session)
    report = session.scalar(select(Report).where(Report.tracking_code == request_id.upper()))
    if report is None:
        raise NotFound(f"no service request {request_id!r}")
    return _render(fmt, "service_requests", "request", [_request_row(session, report)])


@bp.get("/discovery.<fmt>")
@open_to("everyone; Open311 shows published reports without reporter data")
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
