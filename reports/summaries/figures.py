"""Area summaries for leaders: reports, dossiers, alerts and cameras of an area and period, its children
side by side, and the exact records behind every figure.

Definitions (for a period of local days [from, to], seen as of an instant T = the end of the as-of day,
or now when that day is today):
- a report counts when it was created in the period before T and was not merged into another;
- closed = resolved or rejected before T; on time = closed at or before its due time; overdue = still open
  at T and past due; handling time = closing minus creation (percentiles from 10 % wide buckets);
- a dossier counts by its received time; on time = finished at or before its due time;
- on today's areas a record counts where its area lies today; on the areas of the time, where its
  area lay on the record's day;
- with a category, report figures count that category's reports only (dossiers, alerts and cameras have no
  report category and stay whole); handling times and the breakdowns by unit and channel are then not given.
Today's figures as of now come from the daily rollups; anything else from the records themselves.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Invalid, NotFound, Unavailable
from reports.areas.models import Unit
from reports.cameras.service import HEARTBEAT_WINDOW
from reports.summaries import sql
from reports.summaries.hierarchy import (
    DIRECT,
    MODES,
    TIMEZONE,
    TZ,
    AreaRef,
    Hierarchy,
    Mapping,
    area_in_scope,
    breadcrumb,
    load_hierarchy,
    mapping,
    visible_area_ids,
)
from reports.workflow.models import Category

TRENDS = ("week", "month")
DEFAULT_DAYS = 365
MAX_DAYS = 3 * 366
REPORT_KEYS = ("received", "resolved", "rejected", "on_time", "late", "open", "overdue")
DOSSIER_KEYS = ("received", "finished", "on_time", "late", "returned", "in_progress", "overdue", "online")
ALERT_KEYS = ("received", "closed", "on_time", "late", "open", "overdue")
HIST_RATIO = 1.1  # must match summary_hist_bucket() in migration reports_0007


@dataclass(frozen=True)
class SummaryQuery:
    area_code: str
    date_from: date | None = None
    date_to: date | None = None
    as_of: date | None = None
    mode: str = "now"
    trend: str | None = None
    category: str | None = None  # a report category's code


@dataclass(frozen=True)
class Period:
    date_from: date
    date_to: date
    as_of: date
    t: datetime  # the instant the figures are seen from
    start: datetime
    stop: datetime  # records created before this count (end of period, or t)
    mode: str
    trend: str
    is_now: bool

    def params(self) -> dict:
        month_from = self.date_from if self.date_from.day == 1 else _next_month(self.date_from)
        month_to = (self.date_to + timedelta(days=1)).replace(day=1)
        if month_from >= month_to:  # no whole month: days only
            month_from = month_to = self.date_to + timedelta(days=1)
        return {"t": self.t, "start": self.start, "stop": self.stop, "tz": TIMEZONE, "trend": self.trend,
                "day_from": self.date_from, "day_to": self.date_to, "month_from": month_from, "month_to": month_to}

    def as_dict(self) -> dict:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(), "as_of": self.as_of.isoformat(),
                "seen_at": self.t.isoformat(), "areas": self.mode, "trend": self.trend}


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def local_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, TZ)


def resolve_period(query: SummaryQuery, now: datetime | None = None) -> Period:
    """Check and complete a query's dates: the last 365 days up to the as-of day by default."""
    now = now or datetime.now(UTC)
    today = now.astimezone(TZ).date()
    if query.mode not in MODES:
        raise Invalid("areas must be 'now' (today's areas) or 'then' (the areas of the time)", {"field": "areas"})
    as_of = min(query.as_of or today, today)
    date_to = query.date_to or as_of
    date_from = query.date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise Invalid("from is after to", {"field": "from"})
    if (date_to - date_from).days >= MAX_DAYS:
        raise Invalid(f"a period is at most {MAX_DAYS} days", {"field": "from"})
    trend = query.trend or ("week" if (date_to - date_from).days < 92 else "month")
    if trend not in TRENDS:
        raise Invalid("trend must be week or month", {"field": "trend"})
    is_now = as_of == today
    t = now if is_now else local_midnight(as_of + timedelta(days=1))
    start = local_midnight(date_from)
    stop = min(local_midnight(date_to + timedelta(days=1)), t)
    return Period(date_from, date_to, as_of, t, start, stop, query.mode, trend, is_now)


@dataclass
class Context:
    """What every summary call works out first: the hierarchy, the caller's reach, the area, its mapping."""

    hierarchy: Hierarchy
    visible: set[int] | None
    area: AreaRef
    period: Period
    mapping: Mapping
    category: Category | None = None

    @property
    def uses_rollup(self) -> bool:
        # The rollups hold today's areas as of now; groups keep no breakdowns there (so no rows per category).
        return (self.period.mode == "now" and self.period.is_now and self.area.level != "group" and self.area.current
                and (self.category is None or all(c.level != "group" for c in self.mapping.children)))

    def params(self, mapping: Mapping | None = None) -> dict:
        return {**self.period.params(), **(mapping or self.mapping).params(), "area_id": self.area.id,
                "category_id": self.category.id if self.category else None,
                "category_key": str(self.category.id) if self.category else None}


def context(session: Session, principal: Principal, query: SummaryQuery, now: datetime | None = None) -> Context:
    hierarchy = load_hierarchy(session)
    visible = visible_area_ids(hierarchy, principal)
    area = area_in_scope(hierarchy, visible, query.area_code)
    period = resolve_period(query, now)
    if period.mode == "now" and not area.current:
        raise Invalid(f"{area.code} was replaced on {area.valid_to}; see it on the areas of the time (areas=then)",
                      {"field": "areas"})
    category = None
    if query.category is not None:
        category = session.scalar(select(Category).where(Category.code == query.category))
        if category is None:
            raise Invalid(f"unknown category {str(query.category)[:64]!r}", {"field": "category"})
    return Context(hierarchy, visible, area, period, mapping(hierarchy, area, period.mode, period.date_from,
                                                            period.date_to), category)


# -- counting ---------------------------------------------------------------------------------------


@contextmanager
def _bounded():
    """A statement cut by the database's time limit becomes a clear answer instead of a server error."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "57014":  # query_canceled
            raise
        raise Unavailable("these figures take too long to count from the records; choose a shorter period, a "
                          "smaller area, or today's areas as of today", {"engine": "records"}) from None


def _cells(rows, keys) -> dict[tuple[int, str, str], dict]:
    cells = {}
    for row in rows:
        data = row._mapping
        cells[(row.target, row.dim, row.key)] = {k: int(data[k] or 0) for k in keys if k in data}
    return cells


def report_cells(session: Session, ctx: Context) -> dict[tuple[int, str, str], dict]:
    """(target, dim, key) -> report counts; targets are the area and its children.

    From the rollup: every count as of now, open = received - closed, overdue = open - open but not yet
    due (read from the few reports open now that are recent or not yet due), and the backlog by age.
    """
    params = ctx.params()
    one = ctx.category is not None
    if not ctx.uses_rollup:
        return _cells(session.execute(sql.report_cells(ctx.period.mode, open_only=False, category=one), params),
                      REPORT_KEYS)
    targets = [ctx.area.id, *(c.id for c in ctx.mapping.children)]
    statement = sql.report_rollup_category_cells(ctx.period.trend) if one else sql.report_rollup_cells(
        ctx.period.trend)
    cells = _cells(session.execute(statement, {**params, "targets": targets}), REPORT_KEYS)
    for counts in cells.values():
        counts["open"] = counts["received"] - counts["resolved"] - counts["rejected"]
    # Overdue = open - not yet due; the backlog's age from the recent open reports, the oldest by difference.
    recent = _cells(session.execute(sql.report_cells("now", open_only="recent", category=one),
                                    {**params, "recent": ctx.period.t - timedelta(days=30)}), REPORT_KEYS)
    for key, counts in cells.items():
        found = recent.get(key, {"open": 0, "overdue": 0})
        counts["overdue"] = counts["open"] - (found["open"] - found["overdue"])
    area = ctx.area.id
    younger = {k: recent.get((area, "age", k), {"open": 0, "overdue": 0}) for k in sql.AGE_KEYS[:-1]}
    for k, counts in younger.items():
        cells[(area, "age", k)] = {"open": counts["open"], "overdue": counts["overdue"]}
    oldest_open = cells.get((area, "all", ""), {"open": 0})["open"] - sum(c["open"] for c in younger.values())
    not_due = recent.get((area, "age", "30+"), {"open": 0, "overdue": 0})
    cells[(area, "age", "30+")] = {"open": oldest_open, "overdue": oldest_open - (not_due["open"] - not_due["overdue"])}
    return cells


def dossier_cells(session: Session, ctx: Context) -> dict[tuple[int, str, str], dict]:
    params = ctx.params()
    if not ctx.uses_rollup:
        return _cells(session.execute(sql.dossier_cells(open_only=False), params), DOSSIER_KEYS)
    targets = [ctx.area.id, *(c.id for c in ctx.mapping.children)]
    cells = _cells(session.execute(sql.dossier_rollup_cells(ctx.period.trend), {**params, "targets": targets}),
                   DOSSIER_KEYS)
    not_due = _cells(session.execute(sql.dossier_cells(open_only="recent"), params), DOSSIER_KEYS)
    for key, counts in cells.items():
        counts["in_progress"] = counts["received"] - counts["finished"] - counts["returned"]
        counts["overdue"] = counts["in_progress"] - not_due.get(key, {"in_progress": 0})["in_progress"]
    return cells


def alert_cells(session: Session, ctx: Context) -> dict[tuple[int, str, str], dict]:
    return _cells(session.execute(sql.ALERT_CELLS, ctx.params()), ALERT_KEYS)


def camera_counts(session: Session, ctx: Context, now: datetime | None = None) -> dict[int, dict]:
    """Cameras by target on today's areas (cameras are where they stand now)."""
    today = mapping(ctx.hierarchy, ctx.area, "now", ctx.period.date_from, ctx.period.date_to) \
        if ctx.period.mode != "now" else ctx.mapping
    since = (now or datetime.now(UTC)) - HEARTBEAT_WINDOW
    result = {}
    for row in session.execute(sql.CAMERA_CELLS, {**today.params(), "since": since, "area_id": ctx.area.id}):
        result[row.target] = {"total": row.total, "online": row.online, "maintenance": row.maintenance,
                              "offline": row.total - row.online - row.maintenance}
    return result


# -- figures ----------------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def report_figures(counts: dict | None) -> dict:
    c = {k: 0 for k in REPORT_KEYS} | (counts or {})
    closed = c["resolved"] + c["rejected"]
    return {**{k: c[k] for k in REPORT_KEYS}, "closed": closed, "on_time_rate": _rate(c["on_time"], closed)}


def dossier_figures(counts: dict | None) -> dict:
    c = {k: 0 for k in DOSSIER_KEYS} | (counts or {})
    return {**{k: c[k] for k in DOSSIER_KEYS}, "on_time_rate": _rate(c["on_time"], c["finished"]),
            "online_share": _rate(c["online"], c["received"])}


def alert_figures(counts: dict | None) -> dict:
    c = {k: 0 for k in ALERT_KEYS} | (counts or {})
    return {**{k: c[k] for k in ALERT_KEYS}, "on_time_rate": _rate(c["on_time"], c["closed"])}


def handling_percentiles(hist: dict[int, int], quantiles=(0.5, 0.9)) -> dict:
    """Handling-time percentiles in hours from bucket counts, interpolated inside the bucket."""
    total = sum(hist.values())
    result = {}
    for q in quantiles:
        name = "median" if q == 0.5 else f"p{round(q * 100)}"
        if not total:
            result[name] = None
            continue
        rank, seen = q * total, 0
        for bucket in sorted(hist):
            count = hist[bucket]
            if seen + count >= rank:
                low, high = HIST_RATIO**bucket - 1, HIST_RATIO ** (bucket + 1) - 1
                minutes = low + (high - low) * ((rank - seen) / count)
                result[name] = round(minutes / 60, 1)
                break
            seen += count
    return result


def _trend_keys(period: Period) -> list[str]:
    keys, day = [], period.date_from
    if period.trend == "month":
        day = day.replace(day=1)
        while day <= period.date_to:
            keys.append(day.strftime("%Y-%m"))
            day = (day + timedelta(days=32)).replace(day=1)
    else:
        day -= timedelta(days=day.weekday())
        while day <= period.date_to:
            iso = day.isocalendar()
            keys.append(f"{iso.year}-W{iso.week:02d}")
            day += timedelta(days=7)
    return keys


def _dimension(cells, area_id: int, dim: str) -> dict[str, dict]:
    return {key: counts for (target, d, key), counts in cells.items() if target == area_id and d == dim and key}


INDICATORS = {
    # name: (section, figure, best first when sorted descending?)
    "reports_received": ("reports", "received", True),
    "reports_on_time_rate": ("reports", "on_time_rate", True),
    "reports_overdue": ("reports", "overdue", False),
    "dossiers_received": ("dossiers", "received", True),
    "dossiers_on_time_rate": ("dossiers", "on_time_rate", True),
    "dossiers_online_share": ("dossiers", "online_share", True),
}


def rank(children: list[dict], indicator: str) -> list[str]:
    """Child codes best first by an indicator; children without a value come last."""
    if indicator not in INDICATORS:
        raise Invalid(f"indicator must be one of {', '.join(INDICATORS)}", {"field": "indicator"})
    section, figure, higher_better = INDICATORS[indicator]
    valued = [c for c in children if c[section][figure] is not None]
    valued.sort(key=lambda c: (-c[section][figure] if higher_better else c[section][figure], c["code"]))
    return [c["code"] for c in valued] + sorted(c["code"] for c in children if c[section][figure] is None)


def _names(session: Session, model, ids) -> dict[str, object]:
    wanted = [int(i) for i in ids if str(i).isdigit() and int(i)]
    return {str(row.id): row for row in session.scalars(select(model).where(model.id.in_(wanted)))} if wanted else {}


def summarize(session: Session, principal: Principal, query: SummaryQuery, *, rank_by: str = "reports_on_time_rate",
              now: datetime | None = None) -> dict:
    """Every figure of an area and period, its children side by side, and a ranking of them."""
    ctx = context(session, principal, query, now)
    area, period = ctx.area, ctx.period
    with _bounded():
        reports = report_cells(session, ctx)
        dossiers = dossier_cells(session, ctx)
        alerts = alert_cells(session, ctx)
        cameras = camera_counts(session, ctx, now)

    categories = _names(session, Category, _dimension(reports, area.id, "category"))
    units = _names(session, Unit, _dimension(reports, area.id, "unit"))

    def breakdown(dim, describe):
        if ctx.category is not None and dim != "category":
            return []  # not kept per category by the rollup: neither engine gives it
        cells = _dimension(reports, area.id, dim)
        rows = [{**describe(key), **report_figures(counts)} for key, counts in cells.items()]
        return sorted(rows, key=lambda r: (-r["received"], r["key"]))

    def category(key):
        c = categories.get(key)
        return {"key": c.code if c else key, "name_vi": c.name_vi if c else key, "name_en": c.name_en if c else key}

    def unit(key):
        u = units.get(key)
        return {"key": u.code if u else "none", "name": u.name if u else None}

    hist = {int(k): v["received"] for k, v in _dimension(reports, area.id, "hist").items()}
    trend_reports = _dimension(reports, area.id, "trend")
    trend_dossiers = _dimension(dossiers, area.id, "trend")
    backlog = _dimension(reports, area.id, "age")
    totals = report_figures(reports.get((area.id, "all", "")))
    dossier_totals = dossier_figures(dossiers.get((area.id, "all", "")))

    children = []
    for child in ctx.mapping.children:
        children.append({
            "id": child.id, **child.as_dict(),
            "has_children": bool(ctx.hierarchy.children_now(child)) if child.current else False,
            "reports": report_figures(reports.get((child.id, "all", ""))),
            "dossiers": dossier_figures(dossiers.get((child.id, "all", ""))),
            "alerts": alert_figures(alerts.get((child.id, "all", ""))),
            "cameras": cameras.get(child.id, {"total": 0, "online": 0, "offline": 0, "maintenance": 0}),
        })
    direct = _direct(totals, dossier_totals, children) if children else None
    return {
        "area": {"id": area.id, **area.as_dict()},
        "period": period.as_dict(),
        "category": {"code": ctx.category.code, "name_vi": ctx.category.name_vi, "name_en": ctx.category.name_en}
        if ctx.category else None,
        "engine": "rollup" if ctx.uses_rollup else "records",
        "breadcrumb": [a.as_dict() for a in breadcrumb(ctx.hierarchy, area, ctx.visible)],
        # The city every page of an export names, whether or not the reader may open its figures.
        "city": breadcrumb(ctx.hierarchy, area, None)[0].name,
        "reports": {
            "totals": totals,
            "handling_hours": handling_percentiles(hist),
            "by_category": breakdown("category", category),
            "by_unit": breakdown("unit", unit),
            "by_channel": breakdown("channel", lambda key: {"key": key}),
            "trend": [{"key": k, **report_figures(trend_reports.get(k))} for k in _trend_keys(period)],
            "backlog_by_age": [{"key": k, "open": backlog.get(k, {}).get("open", 0),
                                "overdue": backlog.get(k, {}).get("overdue", 0)} for k in sql.AGE_KEYS],
        },
        "dossiers": {
            "totals": dossier_totals,
            "trend": [{"key": k, **dossier_figures(trend_dossiers.get(k))} for k in _trend_keys(period)],
        },
        "alerts": {
            "totals": alert_figures(alerts.get((area.id, "all", ""))),
            "by_type": sorted(({"key": k, **alert_figures(v)} for k, v in _dimension(alerts, area.id, "type").items()),
                              key=lambda r: (-r["received"], r["key"])),
        },
        "cameras": cameras.get(area.id, {"total": 0, "online": 0, "offline": 0, "maintenance": 0}),
        "children": children,
        "direct": direct,
        "ranking": {"by": rank_by, "order": rank(children, rank_by)},
    }


def _direct(reports: dict, dossiers: dict, children: list[dict]) -> dict | None:
    """What was filed in the area itself rather than in one of its children (shown when there is any)."""
    rest_reports = {k: reports[k] - sum(c["reports"][k] for c in children) for k in REPORT_KEYS}
    rest_dossiers = {k: dossiers[k] - sum(c["dossiers"][k] for c in children) for k in DOSSIER_KEYS}
    if not any(rest_reports.values()) and not any(rest_dossiers.values()):
        return None
    return {"reports": report_figures(rest_reports), "dossiers": dossier_figures(rest_dossiers)}


# -- the records behind a figure -------------------------------------------------------------------

SOURCES = tuple(sql.MEASURES)
MAX_PER_PAGE = 500


@dataclass(frozen=True)
class RecordFilter:
    source: str = "reports"
    measure: str = "received"
    child: str | None = None  # a child's code, "direct", or None for the area itself
    dim: str | None = None
    key: str | None = None
    page: int = 1
    per_page: int = 50


@dataclass
class RecordPage:
    area: dict
    period: dict
    filter: dict
    total: int
    page: int
    per_page: int
    items: list[dict] = field(default_factory=list)


def _record_key(session: Session, source: str, dim: str, key: str | None) -> str:
    if key is None or key == "":
        raise Invalid(f"key is required with dim={dim}", {"field": "key"})
    if dim == "category":
        category = session.scalar(select(Category).where(Category.code == key))
        if category is None:
            raise Invalid(f"unknown category {key!r}", {"field": "key"})
        return str(category.id)
    if dim == "unit":
        if key == "none":
            return "0"
        unit = session.scalar(select(Unit).where(Unit.code == key))
        if unit is None:
            raise Invalid(f"unknown unit {key!r}", {"field": "key"})
        return str(unit.id)
    if dim == "age" and key not in sql.AGE_KEYS:
        raise Invalid(f"age must be one of {', '.join(sql.AGE_KEYS)}", {"field": "key"})
    return key


def check_filter(f: RecordFilter) -> None:
    if f.source not in SOURCES:
        raise Invalid(f"source must be one of {', '.join(SOURCES)}", {"field": "source"})
    if f.measure not in sql.MEASURES[f.source]:
        raise Invalid(f"measure must be one of {', '.join(sql.MEASURES[f.source])}", {"field": "measure"})
    if f.dim is not None and f.dim not in sql.DIMENSIONS[f.source]:
        raise Invalid(f"dim must be one of {', '.join(sql.DIMENSIONS[f.source])}", {"field": "dim"})
    if not 1 <= f.per_page <= MAX_PER_PAGE:
        raise Invalid(f"per_page must be between 1 and {MAX_PER_PAGE}", {"field": "per_page"})
    if f.page < 1:
        raise Invalid("page must be 1 or more", {"field": "page"})


def records(session: Session, principal: Principal, query: SummaryQuery, f: RecordFilter,
            now: datetime | None = None) -> RecordPage:
    """The records one figure counts: same area, period, as-of and areas as the figure, plus its filter."""
    check_filter(f)
    ctx = context(session, principal, query, now)
    target = ctx.area.id
    if f.child == "direct":
        target = DIRECT
    elif f.child:
        match = [c for c in ctx.mapping.children if c.code == f.child]
        if not match:
            raise NotFound(f"{f.child} is not a part of {ctx.area.code} in this view")
        target = match[0].id
    key = _record_key(session, f.source, f.dim, f.key) if f.dim else None
    open_only = ctx.period.is_now and f.measure in ("open", "overdue", "in_progress") and f.source != "alerts"
    statement = sql.record_ids(f.source, ctx.period.mode, f.measure, f.dim, open_only,
                               category=ctx.category is not None and f.source == "reports")
    with _bounded():
        rows = session.execute(statement, {**ctx.params(ctx.mapping.restricted(target)), "key": key,
                                           "limit": f.per_page, "offset": (f.page - 1) * f.per_page}).all()
    total = rows[0].total if rows else _total_past_end(session, statement, ctx, target, key, f)
    by_id = {r.id: r._mapping for r in session.execute(sql.RECORD_ROWS[f.source], {"ids": [r.id for r in rows]})}
    items = [_record_dict(f.source, by_id[r.id], ctx.period.t) for r in rows]
    return RecordPage(area=ctx.area.as_dict(), period=ctx.period.as_dict(),
                      filter={"source": f.source, "measure": f.measure, "child": f.child, "dim": f.dim, "key": f.key,
                              "category": ctx.category.code if ctx.category and f.source == "reports" else None},
                      total=total, page=f.page, per_page=f.per_page, items=items)


def _total_past_end(session, statement, ctx, target, key, f) -> int:
    if f.page == 1:
        return 0
    row = session.execute(statement, {**ctx.params(ctx.mapping.restricted(target)), "key": key, "limit": 1,
                                      "offset": 0}).first()
    return row.total if row else 0


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _record_area(row) -> dict | None:
    if not row["area_code"]:
        return None
    # A city-wide list mixes many wards' "Residential group 3": name the group with its ward.
    place = f"{row['area_name']}, {row['area_ward']}" if row["area_ward"] else row["area_name"]
    return {"code": row["area_code"], "name": row["area_name"], "place": place}


def _record_dict(source: str, row, t: datetime) -> dict:
    base = {"id": row["id"], "status": row["status"], "created_at": _iso(row["created_at"]),
            "due_at": _iso(row["due_at"]), "closed_at": _iso(row["closed_at"]),
            "area": _record_area(row)}
    closed = row["closed_at"] is not None and row["closed_at"] < t and row["status"] not in (
        "new", "acknowledged", "in_progress")
    base["overdue"] = not closed and row["due_at"] < t
    base["on_time"] = (row["closed_at"] <= row["due_at"]) if closed else None
    if source == "reports":
        base |= {"code": row["code"], "category": row["category"], "category_vi": row["category_vi"],
                 "category_en": row["category_en"], "channel": row["channel"], "unit": row["unit_name"],
                 "description": row["description"]}
    elif source == "dossiers":
        base |= {"code": row["code"], "procedure": row["procedure"], "channel": row["channel"]}
    else:
        base |= {"code": f"{row['camera_code']}#{row['id']}", "type": row["type"], "events": row["event_count"]}
    return base


def rebuild_rollups(session: Session, area_ids: list[int] | None = None) -> None:
    """Recompute the daily rollups (all areas by default) from the records, e.g. after a restore."""
    session.execute(sql.REBUILD, {"ids": area_ids})

