"""Open311 GeoReport v2 as our records see it: services are categories, requests are reports (no Flask here).

What a request row shows follows the privacy rules: never reporter data; for reports to the police (unpublished
categories) the status only, and they are not listed: their filer follows them by id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import to_shape
from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from reports.areas.models import Area
from reports.workflow.categories import UNPUBLISHED_DOMAINS, is_published
from reports.workflow.models import OPEN_STATUSES, Category, Report

MAX_REQUESTS = 1000
DOMAIN_GROUPS = {"security_order": "An ninh trật tự", "socio_economic": "Kinh tế - xã hội"}


@dataclass
class RequestQuery:
    """GET requests' parameters: ids, or a period with service codes and open/closed statuses."""

    ids: list[str] = field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    service_codes: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)


def check_jurisdiction(session: Session, wanted: str | None) -> None:
    """A jurisdiction_id, when given, must be the city this server serves."""
    if wanted and session.scalar(select(Area.id).where(Area.code == wanted, Area.level == "city")) is None:
        raise NotFound(f"jurisdiction_id {wanted!r} is not served here")


def service_row(c: Category) -> dict:
    return {
        "service_code": c.code,
        "service_name": c.name_vi,
        "description": f"{c.name_en}. Thời hạn xử lý {c.deadline_hours} giờ.",
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(k for k in (c.code.replace("_", " "), c.name_en) if k),  # a comma-separated list
        "group": DOMAIN_GROUPS.get(c.domain, c.domain),
    }


def w3c_time(at: datetime) -> str:
    """A W3C date-time with its offset, e.g. 2026-01-31T08:00:00Z."""
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def request_row(report: Report) -> dict:
    published = is_published(report.category)
    point = to_shape(report.geom) if report.geom is not None and published else None
    closed = report.status not in OPEN_STATUSES
    return {
        "service_request_id": report.tracking_code,
        "status": "closed" if closed else "open",
        "status_notes": report.resolution if closed else None,
        "service_name": report.category.name_vi,
        "service_code": report.category.code,
        "description": report.description if published else None,
        "agency_responsible": report.unit.name if report.unit else None,
        "service_notice": None,
        "requested_datetime": w3c_time(report.created_at),
        # The spec: for a closed request, the time it was closed.
        "updated_datetime": w3c_time(report.closed_at if closed and report.closed_at else report.updated_at),
        "expected_datetime": w3c_time(report.due_at),
        "address": report.address if published else None,
        "address_id": None,
        "zipcode": None,
        "lat": round(point.y, 7) if point else None,
        "long": round(point.x, 7) if point else None,
        "media_url": None,
    }


def find_requests(session: Session, query: RequestQuery, *, window: timedelta,
                  now: datetime | None = None) -> list[Report]:
    """The requests a GET asks for, newest first, at most MAX_REQUESTS."""
    conditions = []
    if query.ids:
        conditions.append(Report.tracking_code.in_(query.ids[:MAX_REQUESTS]))
    else:
        start, end = query.start, query.end
        if start and end and start > end:
            raise Invalid("start_date is after end_date")
        # Without a start, the window up to the end (or now); a range may not span more than the window.
        if start is None:
            start = (end or (now or datetime.now(UTC)).replace(microsecond=0)) - window
        elif end is not None and end - start > window:
            raise Invalid(f"start_date and end_date may not span more than {window.days} days")
        # Merged duplicates are listed through their main request; asked for by id, they still answer.
        # Reports to the police are not listed at all: their filer follows them by id.
        conditions += [Report.created_at >= start, Report.merged_into_id.is_(None),
                       Report.category.has(Category.domain.not_in(UNPUBLISHED_DOMAINS))]
        if end:
            conditions.append(Report.created_at <= end)
        if query.service_codes:
            conditions.append(Report.category.has(Category.code.in_(query.service_codes)))
        if query.statuses:
            wanted = set(query.statuses)
            if not wanted <= {"open", "closed"}:
                raise Invalid("status must be open or closed")
            if wanted == {"open"}:
                conditions.append(Report.status.in_(OPEN_STATUSES))
            elif wanted == {"closed"}:
                conditions.append(Report.status.not_in(OPEN_STATUSES))
    return list(session.scalars(
        select(Report).where(and_(*conditions)).order_by(Report.created_at.desc()).limit(MAX_REQUESTS)))


def request_by_id(session: Session, request_id: str) -> Report:
    report = session.scalar(select(Report).where(Report.tracking_code == request_id.upper()))
    if report is None:
        raise NotFound(f"no service request {request_id!r}")
    return report
