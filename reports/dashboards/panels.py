"""A dashboard's layout read strictly: panels, their indicators, areas and periods, and the dashboard's filters.

parse_* check the shape of what a browser or a client sent (types, sizes, names from the catalog) and return
dataclasses; nothing is stored that did not pass. Whether the areas and layers named are the caller's to see
is checked against the database by the service (reports.dashboards.service.check_panels).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from gisserver.core.exceptions import Invalid
from reports.dashboards.indicators import (
    CATALOG,
    CHART_DIMENSIONS,
    CHART_INDICATORS,
    CHILDREN,
    GROUP,
    ITEMS,
    TIME,
    VALUE,
)
from reports.summaries.figures import MAX_DAYS

MAX_PANELS = 24
MAX_TITLE = 120
GRID_COLUMNS = 12
MAX_HEIGHT = 4
EARLIEST = date(2000, 1, 1)  # no record of this system is older; an earlier date is a typing error
LATEST_AHEAD = timedelta(days=366)
PANEL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
AREA_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
LAYER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CATEGORY_CODE = re.compile(r"^[a-z0-9_]{1,64}$")
PANEL_KEYS = {"id", "title", "chart", "dimension", "indicators", "area", "period", "width", "height"}
INDICATOR_KEYS = {"key", "by", "layer", "within"}


def _fail(message: str, where: dict) -> Invalid:
    return Invalid(message, where)


def _whole(value, name: str, low: int, high: int, where: dict) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(f"{name} must be a whole number from {low} to {high}", {**where, "field": name})
    return value


def _text(value, name: str, limit: int, where: dict, pattern: re.Pattern | None = None) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise _fail(f"{name} must be text of 1 to {limit} characters", {**where, "field": name})
    if pattern is not None and not pattern.match(value):
        raise _fail(f"{name} {value[:64]!r} is not a valid {name}", {**where, "field": name})
    return value.strip() if pattern is None else value


@dataclass(frozen=True)
class PeriodSpec:
    """The last *last_days* days up to today, or the days from *date_from* to *date_to*."""

    last_days: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    def dates(self, today: date) -> tuple[date, date]:
        if self.last_days is not None:
            return today - timedelta(days=self.last_days - 1), today
        return self.date_from, self.date_to

    def previous(self, today: date) -> PeriodSpec:
        """The period of the same length just before this one (what a number card's trend compares with)."""
        start, end = self.dates(today)
        length = (end - start).days + 1
        return PeriodSpec(date_from=start - timedelta(days=length), date_to=start - timedelta(days=1))

    def as_json(self) -> dict:
        if self.last_days is not None:
            return {"last_days": self.last_days}
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat()}


def parse_period(value, where: dict | None = None, today: date | None = None) -> PeriodSpec | None:
    """{"last_days": n} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}; absurd periods are refused."""
    where = {**(where or {}), "field": "period"}
    if value is None:
        return None
    if not isinstance(value, dict) or not value:
        raise _fail('a period is {"last_days": n} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}', where)
    if set(value) == {"last_days"}:
        return PeriodSpec(last_days=_whole(value["last_days"], "last_days", 1, MAX_DAYS, where))
    if set(value) != {"from", "to"}:
        raise _fail('a period is {"last_days": n} or {"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}', where)
    return period_between(value["from"], value["to"], where, today)


def period_between(date_from, date_to, where: dict | None = None, today: date | None = None) -> PeriodSpec:
    where = where or {"field": "period"}
    days = []
    for name, text in (("from", date_from), ("to", date_to)):
        try:
            days.append(text if isinstance(text, date) else date.fromisoformat(text))
        except (TypeError, ValueError):
            raise _fail(f"{name} must be a date (YYYY-MM-DD)", {**where, "field": name}) from None
    start, end = days
    latest = (today or date.today()) + LATEST_AHEAD
    if not (EARLIEST <= start <= latest and EARLIEST <= end <= latest):
        raise _fail(f"dates must lie between {EARLIEST} and {latest}", where)
    if start > end:
        raise _fail("from is after to", where)
    if (end - start).days >= MAX_DAYS:
        raise _fail(f"a period is at most {MAX_DAYS} days", where)
    return PeriodSpec(date_from=start, date_to=end)


@dataclass(frozen=True)
class IndicatorRef:
    key: str
    by: str | None = None
    layer: str | None = None
    within: str | None = None

    @property
    def indicator(self):
        return CATALOG[self.key]

    def as_json(self) -> dict:
        return {k: v for k, v in (("key", self.key), ("by", self.by), ("layer", self.layer),
                                  ("within", self.within)) if v is not None}


@dataclass(frozen=True)
class Panel:
    id: str
    chart: str
    dimension: str
    indicators: tuple[IndicatorRef, ...]
    title: str | None = None
    area: str | None = None  # None: the dashboard's area filter
    period: PeriodSpec | None = None  # None: the dashboard's period filter
    width: int = 4  # of GRID_COLUMNS
    height: int = 1  # rows of the grid

    def as_json(self) -> dict:
        data = {"id": self.id, "chart": self.chart, "dimension": self.dimension,
                "indicators": [i.as_json() for i in self.indicators], "width": self.width, "height": self.height}
        if self.title:
            data["title"] = self.title
        if self.area:
            data["area"] = self.area
        if self.period:
            data["period"] = self.period.as_json()
        return data


def _indicator(value, chart: str, dimension: str, where: dict) -> IndicatorRef:
    if not isinstance(value, dict):
        raise _fail("an indicator is an object with a key", {**where, "field": "indicators"})
    unknown = set(value) - INDICATOR_KEYS
    if unknown:
        raise _fail(f"unknown indicator field(s): {', '.join(sorted(map(str, unknown)))[:200]}",
                    {**where, "field": "indicators"})
    key = value.get("key")
    if not isinstance(key, str) or key not in CATALOG:
        raise _fail(f"unknown indicator {str(key)[:64]!r}; GET /api/indicators lists them", {**where, "field": "key"})
    indicator = CATALOG[key]
    if dimension not in indicator.dims:
        raise _fail(f"{key} cannot be shown {dimension}-wise; it can be: {', '.join(sorted(indicator.dims))}",
                    {**where, "field": "dimension"})
    by = value.get("by")
    layer, within = value.get("layer"), value.get("within")
    if indicator.is_layer:
        layer = _text(layer, "layer", 63, where, LAYER_NAME)
        if within is not None:
            within = _text(within, "within", 63, where, LAYER_NAME)
        if by is not None:
            by = _text(by, "by", 128, where)
        if dimension == GROUP and by is None:
            raise _fail("by kind needs the attribute to group by (by)", {**where, "field": "by"})
        grouped_ok = dimension == GROUP or (dimension == CHILDREN and chart in ("stacked", "bar", "table"))
        if by is not None and not grouped_ok:
            raise _fail("an attribute to group by (by) needs a chart by kind, or stacked bars or a table by area",
                        {**where, "field": "by"})
    else:
        if layer is not None or within is not None:
            raise _fail(f"{key} is not a layer statistic: it takes no layer", {**where, "field": "layer"})
        if dimension == GROUP:
            if by not in indicator.groups:
                raise _fail(f"{key} by kind needs by = one of {', '.join(indicator.groups)}",
                            {**where, "field": "by"})
        elif by is not None:
            raise _fail("by is only for a chart by kind", {**where, "field": "by"})
    if chart == "gauge" and dimension == VALUE and indicator.unit != "percent":
        raise _fail("a gauge shows a share (a percent indicator) or hotspot levels", {**where, "field": "chart"})
    if dimension == ITEMS and key != "hotspot_levels":
        raise _fail("only hotspot levels are shown hotspot by hotspot", {**where, "field": "dimension"})
    if chart == "choropleth" and by is not None:
        raise _fail("a map shades areas by one figure each: no by", {**where, "field": "by"})
    return IndicatorRef(key, by, layer, within)


def parse_panel(value, index: int, today: date | None = None) -> Panel:
    where = {"panel": index}
    if not isinstance(value, dict):
        raise _fail("a panel is an object", where)
    unknown = set(value) - PANEL_KEYS
    if unknown:
        raise _fail(f"unknown panel field(s): {', '.join(sorted(map(str, unknown)))[:200]}", where)
    panel_id = _text(value.get("id"), "id", 32, where, PANEL_ID)
    where = {"panel": panel_id}
    chart = value.get("chart")
    if chart not in CHART_DIMENSIONS:
        raise _fail(f"chart must be one of {', '.join(CHART_DIMENSIONS)}", {**where, "field": "chart"})
    dimension = value.get("dimension", CHART_DIMENSIONS[chart][0])
    if dimension not in CHART_DIMENSIONS[chart]:
        raise _fail(f"a {chart} shows {' or '.join(CHART_DIMENSIONS[chart])}", {**where, "field": "dimension"})
    raw = value.get("indicators")
    limit = CHART_INDICATORS[chart]
    if not isinstance(raw, list) or not 1 <= len(raw) <= limit:
        raise _fail(f"a {chart} shows 1 to {limit} indicator(s)", {**where, "field": "indicators"})
    indicators = tuple(_indicator(item, chart, dimension, where) for item in raw)
    if dimension == TIME and any(not i.indicator.period for i in indicators):
        raise _fail("only figures of a period have a course over time", {**where, "field": "dimension"})
    title = value.get("title")
    if title is not None:
        title = _text(title, "title", MAX_TITLE, where) if title != "" else None
    area = value.get("area")
    if area is not None:
        area = _text(area, "area", 64, where, AREA_CODE)
    return Panel(panel_id, chart, dimension, indicators, title, area,
                 parse_period(value.get("period"), where, today),
                 _whole(value.get("width", 4), "width", 1, GRID_COLUMNS, where),
                 _whole(value.get("height", 1), "height", 1, MAX_HEIGHT, where))


def parse_panels(value, today: date | None = None) -> list[Panel]:
    if not isinstance(value, list):
        raise _fail("panels must be a list", {"field": "panels"})
    if len(value) > MAX_PANELS:
        raise _fail(f"a dashboard holds at most {MAX_PANELS} panels", {"field": "panels"})
    panels = [parse_panel(item, i, today) for i, item in enumerate(value)]
    ids = [p.id for p in panels]
    if len(set(ids)) != len(ids):
        raise _fail("two panels have the same id", {"field": "panels"})
    return panels


@dataclass(frozen=True)
class Filters:
    """What applies to every panel that does not fix its own: the area, the period, a report category, and
    what to compare with (another area or another period)."""

    area: str | None = None
    period: PeriodSpec | None = None
    category: str | None = None
    compare_area: str | None = None
    compare_period: PeriodSpec | None = None
    category_given: bool = False  # the request chose the category (None then means all categories)

    def as_json(self) -> dict:
        data = {}
        if self.period:
            data["period"] = self.period.as_json()
        if self.category:
            data["category"] = self.category
        return data


DEFAULT_PERIOD = PeriodSpec(last_days=365)


def parse_filters(value, today: date | None = None) -> Filters:
    """A dashboard's stored filters: {"period": ..., "category": code}."""
    if value is None:
        return Filters()
    if not isinstance(value, dict):
        raise _fail("filters must be an object", {"field": "filters"})
    unknown = set(value) - {"period", "category"}
    if unknown:
        raise _fail(f"unknown filter(s): {', '.join(sorted(map(str, unknown)))[:200]}", {"field": "filters"})
    category = value.get("category")
    if category is not None:
        category = _text(category, "category", 64, {}, CATEGORY_CODE)
    return Filters(period=parse_period(value.get("period"), {"in": "filters"}, today), category=category)
