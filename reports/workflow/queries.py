"""Reading reports: unit queues with filters and paging, scoped to what the caller may see."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from geoalchemy2.shape import to_shape
from sqlalchemy import JSON, Text, and_, case, cast, func, or_, select, true
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Forbidden, Invalid, NotFound
from reports.areas import sql as geo
from reports.areas.models import Area
from reports.areas.service import area_by_code, place_name
from reports.areas.units import unit_by_code
from reports.workflow import access
from reports.workflow import photos as photo_service
from reports.workflow import sql as report_sql
from reports.workflow.categories import UNPUBLISHED_DOMAINS, category_by_code, is_published
from reports.workflow.history import entries as history_entries
from reports.workflow.models import OPEN_STATUSES, REPORT_STATUSES, Category, Report, ReportEvent

# The order a status takes in a worklist: what waits for someone first.
_STATUS_ORDER = case({"new": 0, "acknowledged": 1, "in_progress": 2, "resolved": 3, "rejected": 4},
                     value=Report.status, else_=5)
SORTS = {
    "created": (Report.created_at.asc(),),
    "-created": (Report.created_at.desc(),),
    "due": (Report.due_at.asc(),),
    "-due": (Report.due_at.desc(),),
    "updated": (Report.updated_at.asc(),),
    "-updated": (Report.updated_at.desc(),),
    "status": (_STATUS_ORDER, Report.due_at.asc()),
    "category": (Category.name_vi.asc(), Report.due_at.asc()),
}
MAX_PER_PAGE = 200


@dataclass
class QueueFilter:
    statuses: list[str] = field(default_factory=list)
    overdue: bool | None = None
    category: str | None = None
    area: str | None = None
    unit: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "-created"
    page: int = 1
    per_page: int = 50
    # Words to find: a tracking code, an address or the description; a phone number only in the queues of the
    # caller's own units (the reporter's contact is theirs alone).
    text: str | None = None
    mine: bool = False  # only the reports the caller filed (phone calls taken), wherever they went
    overdue_first: bool = False  # open reports past their deadline before all others, then the chosen order


@dataclass
class Page:
    items: list[Report]
    total: int
    page: int
    per_page: int


def is_overdue(report: Report, now: datetime | None = None) -> bool:
    return report.status in OPEN_STATUSES and (now or datetime.now(UTC)) > report.due_at


def handled_on_time(report: Report) -> bool | None:
    """True/False once closed; None while open."""
    return None if report.closed_at is None else report.closed_at <= report.due_at


def scope_condition(session: Session, principal: Principal):
    """SQL condition limiting reports to the caller's units and areas (None for admins: everything), and those the
    caller filed: a call taken for another ward does not vanish from its taker's view."""
    condition = access.report_condition(access.scope_of(session, principal))
    if condition is not None and principal is not None and principal.is_staff:
        condition = or_(condition, Report.filed_by == principal.name)
    return condition


def visible_report(session: Session, principal: Principal, report_id: int) -> Report:
    """A report the caller may see; others' reports are 404 so their existence does not leak."""
    query = select(Report).where(Report.id == report_id)
    condition = scope_condition(session, principal)
    if condition is not None:
        query = query.where(condition)
    report = session.scalar(query)
    if report is None:
        raise NotFound("no such report")
    return report


def may_act(session: Session, principal: Principal, report: Report) -> bool:
    """Whether *report* is in the caller's units and areas (filing it is not enough)."""
    condition = access.report_condition(access.scope_of(session, principal))
    return condition is None or session.scalar(select(Report.id).where(Report.id == report.id, condition)) is not None


def actable_report(session: Session, principal: Principal, report_id: int) -> Report:
    """A report the caller may act on (move it on, answer, hand over, merge, move): one in their units and areas.

    A report an officer only filed (a call taken for another ward) stays visible to them, but it is handled by
    the unit it went to: acting on it is refused, saying so.
    """
    report = visible_report(session, principal, report_id)
    if not may_act(session, principal, report):
        unit = report.unit.name if report.unit else "its unit"
        raise Forbidden(f"report {report.tracking_code} is handled by {unit}; you filed it but may not act on it",
                        {"report": report.tracking_code, "reason": "filed_outside_scope"})
    return report


def queue(session: Session, principal: Principal, f: QueueFilter, now: datetime | None = None) -> Page:
    """A page of the reports the caller may see, filtered and sorted."""
    now = now or datetime.now(UTC)
    if f.sort not in SORTS:
        raise Invalid(f"sort must be one of {', '.join(SORTS)}", {"field": "sort"})
    if not 1 <= f.per_page <= MAX_PER_PAGE:
        raise Invalid(f"per_page must be between 1 and {MAX_PER_PAGE}", {"field": "per_page"})
    if f.page < 1:
        raise Invalid("page must be 1 or more", {"field": "page"})
    where = _where(session, principal, f, now)
    total = session.scalar(select(func.count()).select_from(Report).where(where))
    order = list(SORTS[f.sort])
    if f.overdue_first:
        late = and_(Report.status.in_(OPEN_STATUSES), Report.due_at < now)
        order.insert(0, case((late, 0), else_=1))
    items = session.scalars(
        select(Report)
        .join(Category, Category.id == Report.category_id)
        .where(where)
        .order_by(*order, Report.id)
        .limit(f.per_page)
        .offset((f.page - 1) * f.per_page)
    ).all()
    return Page(items=list(items), total=total, page=f.page, per_page=f.per_page)


MAP_LIMIT = 5000


def queue_geojson(session: Session, principal: Principal, f: QueueFilter, now: datetime | None = None) -> str:
    """The located reports of a queue as GeoJSON written by PostGIS (newest first, capped), for maps."""
    now = now or datetime.now(UTC)
    where = and_(_where(session, principal, f, now), Report.geom.is_not(None))
    overdue = and_(Report.status.in_(OPEN_STATUSES), Report.due_at < now)
    feature = func.json_build_object(
        "type", "Feature", "id", Report.id,
        "geometry", cast(func.ST_AsGeoJSON(Report.geom, 6), JSON),
        "properties", func.json_build_object(
            "id", Report.id, "tracking_code", Report.tracking_code, "status", Report.status,
            "category", Category.code, "category_name", Category.name_vi, "description", Report.description,
            "created_at", Report.created_at, "overdue", overdue),
    )
    rows = (select(feature.label("f"), Report.created_at).join(Category, Category.id == Report.category_id)
            .where(where).order_by(Report.created_at.desc()).limit(MAP_LIMIT).subquery())
    features = session.scalar(select(func.coalesce(cast(func.json_agg(rows.c.f), Text), "[]")))
    return '{"type": "FeatureCollection", "features": ' + features + "}"


def _where(session: Session, principal: Principal, f: QueueFilter, now: datetime):
    conditions = []
    scope = scope_condition(session, principal)
    if scope is not None:
        conditions.append(scope)
    bad = [s for s in f.statuses if s not in REPORT_STATUSES]
    if bad:
        raise Invalid(f"status must be among {', '.join(REPORT_STATUSES)}", {"field": "status"})
    if f.statuses:
        conditions.append(Report.status.in_(f.statuses))
    if f.overdue is not None:
        late = and_(Report.status.in_(OPEN_STATUSES), Report.due_at < now)
        conditions.append(late if f.overdue else ~late)
    if f.category:
        conditions.append(Report.category_id == category_by_code(session, f.category, active_only=False).id)
    if f.area:
        conditions.append(Report.area_current_id.in_(geo.area_subtree_ids(session, [area_by_code(session, f.area).id])))
    if f.unit:
        conditions.append(Report.unit_id == unit_by_code(session, f.unit).id)
    if f.date_from:
        conditions.append(Report.created_at >= datetime.combine(f.date_from, time.min, UTC))
    if f.date_to:
        conditions.append(Report.created_at < datetime.combine(f.date_to + timedelta(days=1), time.min, UTC))
    if f.date_from and f.date_to and f.date_from > f.date_to:
        raise Invalid("from is after to", {"field": "from"})
    if f.mine:
        conditions.append(Report.filed_by == (principal.name if principal else None))
    if f.text:
        conditions.append(_text_condition(principal, f.text))
    return and_(true(), *conditions)


MAX_SEARCH = 200


def _text_condition(principal: Principal | None, text: str):
    """A tracking code, words of the address or description (accents optional), or a phone number in the queues
    of the caller's units: "0905 123 456" finds "0905123456"."""
    text = text.strip()
    if len(text) > MAX_SEARCH:
        raise Invalid(f"search for at most {MAX_SEARCH} characters", {"field": "q"})
    folded = func.lower(func.unaccent(text))
    pattern = func.concat("%", func.replace(func.replace(folded, "%", r"\%"), "_", r"\_"), "%")
    found = [Report.tracking_code == text.upper().replace(" ", ""),
             func.lower(func.unaccent(func.coalesce(Report.address, ""))).like(pattern),
             func.lower(func.unaccent(Report.description)).like(pattern)]
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) >= 6 and principal is not None:
        phone = func.regexp_replace(func.coalesce(Report.reporter_phone, ""), "[^0-9]", "", "g").like(f"%{digits}%")
        if principal.is_admin:
            found.append(phone)
        elif principal.unit_ids:
            found.append(and_(phone, Report.unit_id.in_(sorted(principal.unit_ids))))
    return or_(*found)


def flagged_duplicates_of(session: Session, principal: Principal, report: Report) -> list[Report]:
    """Open reports of the caller's scope that the intake flagged as likely duplicates of *report*."""
    query = (select(Report).where(Report.possible_duplicate_of_id == report.id, Report.merged_into_id.is_(None),
                                  Report.status.in_(OPEN_STATUSES)).order_by(Report.created_at))
    condition = scope_condition(session, principal)
    return list(session.scalars(query if condition is None else query.where(condition)))


NEARBY_METRES = 200.0
NEARBY_DAYS = 30


def open_reports_near(session: Session, lon: float, lat: float, now: datetime | None = None,
                      limit: int = 5) -> list[dict]:
    """Open reports of public categories within NEARBY_METRES of a point, filed in the last NEARBY_DAYS, nearest
    first: what a resident sees before sending ("already reported? add your voice")."""
    if not (math.isfinite(lon) and math.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise Invalid("lon/lat out of range")
    since = (now or datetime.now(UTC)) - timedelta(days=NEARBY_DAYS)
    rows = report_sql.open_reports_near(session, lon, lat, NEARBY_METRES, since, UNPUBLISHED_DOMAINS, limit)
    return [{"tracking_code": r.tracking_code, "status": r.status, "created_at": r.created_at.isoformat(),
             "category": {"code": r.category, "name_vi": r.name_vi, "name_en": r.name_en},
             "description": r.description[:140], "distance_m": round(r.metres)} for r in rows]


def supporters(session: Session, report: Report) -> int:
    """How many other residents said they see the same problem."""
    return session.scalar(select(func.count()).select_from(ReportEvent)
                          .where(ReportEvent.report_id == report.id, ReportEvent.action == "support"))


def report_by_tracking_code(session: Session, code: str) -> Report:
    report = session.scalar(select(Report).where(Report.tracking_code == (code or "").strip().upper()))
    if report is None:
        raise NotFound("no report with this tracking code")
    return report


def history(session: Session, report: Report) -> list[ReportEvent]:
    return list(session.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id)))


def _lonlat(report: Report) -> dict | None:
    if report.geom is None:
        return None
    point = to_shape(report.geom)
    return {"lon": round(point.x, 7), "lat": round(point.y, 7)}


def _area(session: Session, area_id: int | None) -> dict | None:
    if area_id is None:
        return None
    area = session.get(Area, area_id)
    return {"code": area.code, "name": area.name, "level": area.level,
            "place": place_name(session, area) or area.name}


def public_view(session: Session, report: Report, now: datetime | None = None, *,
                events: list[ReportEvent] | None = None, photos: list | None = None,
                supporters_count: int | None = None) -> dict:
    """What anyone holding the tracking code may see: the story of the report (what, where, photos, each step and
    the unit that took it, the answer and the photos of the fix), never the reporter or staff names.

    Reports to the police (unpublished categories) keep only their steps: what and where stay with the unit.
    A caller that knows the history, the photos or the supporters (intake, of the report it has just filed) passes
    them instead of having them read back.
    """
    published = is_published(report.category)
    closed = report.status in ("resolved", "rejected")
    if not published:
        photos = []
    elif photos is None:
        photos = photo_service.photos_of(session, report.id)
    if events is None:
        events = history(session, report)
    return {
        "tracking_code": report.tracking_code,
        "category": {"code": report.category.code, "name_vi": report.category.name_vi,
                     "name_en": report.category.name_en, "domain": report.category.domain},
        "published": published,
        "description": report.description if published else None,
        "address": report.address if published else None,
        "location": _lonlat(report) if published else None,
        "status": report.status,
        "area": _area(session, report.area_current_id),
        "unit": report.unit.name if report.unit else None,
        "created_at": report.created_at.isoformat(),
        "due_at": report.due_at.isoformat(),
        "closed_at": report.closed_at.isoformat() if report.closed_at else None,
        "overdue": is_overdue(report, now),
        "resolution": report.resolution if closed else None,
        "supporters": supporters(session, report) if supporters_count is None else supporters_count,
        "photos": [p.id for p in photos if p.kind == "report"],
        "fix_photos": [p.id for p in photos if p.kind == "fix"] if closed else [],
        "progress": [
            {"at": e["at"].isoformat(), "action": e["action"], "status": e["to"],
             # The unit that acted, never the person; a resident's own step says so.
             "by": e["actor"].unit if e["actor"].kind == "staff" else None,
             # An officer's comment is written to the resident (POST /api/reports/<id>/comments).
             **({"text": e["note"]} if e["action"] == "comment" else {})}
            for e in history_entries(session, report, events)
            if not e["action"].startswith("follow_") and e["action"] != "support"
        ],
    }


def staff_view(session: Session, report: Report, now: datetime | None = None, *, with_history: bool = False,
               viewer: Principal | None = None) -> dict:
    """The staff view of a report the caller may see; the reporter's contact only when *viewer* may have it
    (the assigned unit, admins), otherwise ``reporter`` is None."""
    data = {
        "id": report.id,
        "tracking_code": report.tracking_code,
        "category": report.category.code,
        "description": report.description,
        "location": _lonlat(report),
        "address": report.address,
        "area_filed": _area(session, report.area_filed_id),
        "area_current": _area(session, report.area_current_id),
        "unit": {"code": report.unit.code, "name": report.unit.name} if report.unit else None,
        "status": report.status,
        "channel": report.channel,
        "reporter": ({"name": report.reporter_name, "phone": report.reporter_phone}
                     if access.sees_reporter(viewer, report) else None),
        "outside_city": report.outside_city,
        "possible_duplicate_of": report.possible_duplicate_of_id,
        "merged_into": report.merged_into_id,
        "created_at": report.created_at.isoformat(),
        "due_at": report.due_at.isoformat(),
        "acknowledged_at": report.acknowledged_at.isoformat() if report.acknowledged_at else None,
        "closed_at": report.closed_at.isoformat() if report.closed_at else None,
        "overdue": is_overdue(report, now),
        "handled_on_time": handled_on_time(report),
        "resolution": report.resolution,
    }
    if with_history:
        data["history"] = [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "from": e.from_status,
             "to": e.to_status, "note": e.note, "details": e.details}
            for e in history(session, report)
        ]
    return data


def public_photo(session: Session, code: str, photo_id: int, directory: Path) -> Path:
    """A photo of a report that its public view shows (the resident's; the fix once closed), by tracking code."""
    report = report_by_tracking_code(session, code)
    closed = report.status in ("resolved", "rejected")
    shown = [p.id for p in photo_service.photos_of(session, report.id) if p.kind == "report" or closed] \
        if is_published(report.category) else []
    if photo_id not in shown:
        raise NotFound("no such photo")
    return photo_service.photo_file(session, report.id, photo_id, directory)
