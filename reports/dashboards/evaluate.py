"""Panels evaluated for one viewer: every figure re-read under the viewer's own rights, never the author's.

A panel's indicators are evaluated for one or two "sides" (its area and period, and with a comparison the other
area or the other period). Figures of reports, dossiers, alerts and cameras come from reports.summaries'
summarize() (the summary page's numbers), asked once per area, period and category for the whole dashboard;
hotspots from their latest readings; layer statistics from reports.dashboards.layerstats.

Each series carries its values and, per point, what a click opens: a child area to drill into, or the records
behind the figure (a summaries records list, the features of a layer statistic, its "other" group included, the
cameras or hotspots counted, a hotspot's page), as parameters the page turns into links.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Invalid, NotFound, ServiceError
from layers.models import Layer
from reports.cameras.alert_types import alert_type_labels
from reports.dashboards import labels
from reports.dashboards.indicators import CHILDREN, GROUP, HIGHER, ITEMS, LAYER_MEASURES, LOWER, TIME, VALUE
from reports.dashboards.layerstats import LayerStat, Resolved, resolve, statistic
from reports.dashboards.panels import DEFAULT_PERIOD, Filters, IndicatorRef, Panel, PeriodSpec
from reports.dashboards.records import hotspots_in
from reports.summaries import sql as summaries_sql
from reports.summaries.figures import SummaryQuery, summarize
from reports.summaries.hierarchy import TZ, AreaRef, area_in_scope, breadcrumb, load_hierarchy, visible_area_ids
from reports.summaries.indicator_map import NO_DATA, class_breaks, class_of, colours
from reports.workflow.labels import CHANNEL_LABELS

SHAPE_TOLERANCE = 0.0002  # degrees: the leader map's simplification
MAX_HOTSPOTS = 12
OTHER = "__other"  # the group of a layer statistic's values beyond the panel's largest ones
# The cameras list behind each camera figure (reports.dashboards.records): which health it counts (None: all).
CAMERA_RECORDS = {"online": "online", "offline": "offline", "online_share": None}


@dataclass(frozen=True)
class Viewer:
    """Who the figures are for. A wall display sees as its owner does, minus what only people may see."""

    principal: Principal
    display: bool = False
    english: bool = False

    @property
    def include_internal(self) -> bool:
        return self.principal.is_staff and not self.display


@dataclass(frozen=True)
class Side:
    area: str
    period: PeriodSpec


@dataclass
class Evaluator:
    session: Session
    viewer: Viewer
    filters: Filters
    now: datetime | None = None
    _summaries: dict = field(default_factory=dict)
    _resolved: dict = field(default_factory=dict)
    _shapes: dict = field(default_factory=dict)
    _alert_types: dict | None = None

    def __post_init__(self):
        self.hierarchy = load_hierarchy(self.session)
        self.visible = visible_area_ids(self.hierarchy, self.viewer.principal)
        self.today = (self.now or datetime.now(UTC)).astimezone(TZ).date()

    # -- the sides of a panel ----------------------------------------------------------------------------

    def sides(self, panel: Panel) -> list[Side]:
        area = panel.area or self.filters.area
        period = panel.period or self.filters.period or DEFAULT_PERIOD
        sides = [Side(area, period)]
        if self.filters.compare_area:
            sides.append(Side(self.filters.compare_area, period))
        elif self.filters.compare_period:
            sides.append(Side(area, self.filters.compare_period))
        return sides

    def area(self, code: str) -> AreaRef:
        """The area if the viewer may see it; otherwise "not found", as the summaries answer."""
        return area_in_scope(self.hierarchy, self.visible, code)

    def side_json(self, side: Side, uses_period: bool) -> dict:
        area = self.area(side.area)
        start, end = side.period.dates(self.today)
        return {"area": {"code": area.code, "name": area.name, "level": area.level},
                "period": {"from": start.isoformat(), "to": end.isoformat()} if uses_period else None}

    # -- one panel ---------------------------------------------------------------------------------------

    def panel(self, panel: Panel) -> dict:
        result = {"id": panel.id, "chart": panel.chart, "dimension": panel.dimension, "title": panel.title,
                  "width": panel.width, "height": panel.height, "sides": [], "series": [], "error": None}
        uses_period = any(ref.indicator.period for ref in panel.indicators)
        try:
            for n, side in enumerate(self.sides(panel)):
                result["sides"].append(self.side_json(side, uses_period))
                for ref in panel.indicators:
                    result["series"].extend(self.series(panel, ref, side, n))
                if panel.chart == "choropleth":
                    result.setdefault("shapes", []).append(self.shapes(side, result["series"][-1]))
        except ServiceError as exc:
            # One panel the viewer may not see (an area outside their scope, a layer hidden from them) does not
            # take the others down; it says why it is empty and shows nothing of what it would have held.
            result.update(series=[], shapes=None, sides=[], error={"code": exc.code, "message": exc.message,
                                                                     "status": exc.status})
        return result

    def series(self, panel: Panel, ref: IndicatorRef, side: Side, n: int) -> list[dict]:
        indicator = ref.indicator
        base = {"indicator": ref.key, "label": indicator.label, "unit": indicator.unit, "better": indicator.better,
                "side": n, "by": ref.by, "layer": ref.layer, "within": ref.within}
        if indicator.is_layer:
            made = self._layer_series(panel, ref, side, base)
        elif indicator.family == "hotspots":
            made = self._hotspot_series(panel, ref, side, base)
        else:
            made = self._summary_series(panel, ref, side, base)
        if panel.chart == "ranking":
            for s in made:
                s["points"] = _ranked(s["points"], indicator.better)
        return made

    # -- figures of the summaries ------------------------------------------------------------------------

    def summary(self, area: str, period: PeriodSpec, category: str | None) -> dict:
        start, end = period.dates(self.today)
        key = (area, start, end, category)
        if key not in self._summaries:
            try:
                query = SummaryQuery(area, date_from=start, date_to=end, category=category)
                self._summaries[key] = summarize(self.session, self.viewer.principal, query, now=self.now)
            except ServiceError as exc:
                self._summaries[key] = exc
        found = self._summaries[key]
        if isinstance(found, ServiceError):
            raise found
        return found

    def _summary_series(self, panel: Panel, ref: IndicatorRef, side: Side, base: dict) -> list[dict]:
        indicator = ref.indicator
        category = self.filters.category if indicator.category else None
        summary = self.summary(side.area, side.period, category)
        pinned = _pinned(summary)
        area = summary["area"]["code"]

        def records(**extra) -> dict | None:
            if indicator.family == "cameras":  # not in the summaries' records: the dashboards' cameras list
                health = CAMERA_RECORDS[indicator.figure]
                return {"kind": "cameras", "area": extra.get("child") or area,
                        "params": {"area": extra.get("child") or area, **({"health": health} if health else {})}}
            if indicator.records is None:
                return None
            source, measure = indicator.records
            return {"kind": "summary", "area": area,
                    "params": {**pinned, "source": source, "measure": measure,
                               **{k: v for k, v in extra.items() if v is not None}}}

        series = {**base, "area": area, "records": records(), "value": _figure(indicator, summary)}
        if panel.dimension == VALUE and panel.chart == "number":
            if indicator.period:
                previous = self.summary(side.area, side.period.previous(self.today), category)
                series["previous"] = _figure(indicator, previous)
            if TIME in indicator.dims:
                series["spark"] = [_trend_value(indicator, t) for t in summary[indicator.family]["trend"]]
        elif panel.dimension == CHILDREN:
            series["points"] = [{"key": c["code"], "label": c["name"], "value": _child_value(indicator, c),
                                 "drill": c["code"] if c["valid_to"] is None else None,
                                 "records": records(child=c["code"])} for c in summary["children"]]
        elif panel.dimension == TIME:
            series["points"] = [{"key": t["key"], "label": t["key"], "value": _trend_value(indicator, t),
                                 "records": records(dim="trend", key=t["key"])}
                                for t in summary[indicator.family]["trend"]]
        elif panel.dimension == GROUP:
            series["points"] = [{"key": row["key"], "label": self._group_label(ref.by, row),
                                 "value": row[indicator.figure], "records": records(dim=ref.by, key=row["key"])}
                                for row in _group_rows(summary, indicator.family, ref.by)]
        return [series]

    def _group_label(self, by: str, row: dict) -> str:
        if by == "category":
            return row["name_en"] if self.viewer.english else row["name_vi"]
        if by == "unit":
            return row.get("name") or str(labels.WORDS["no_value"])
        if by == "channel":
            return str(CHANNEL_LABELS.get(row["key"], row["key"]))
        if self._alert_types is None:
            self._alert_types = alert_type_labels(self.session, self.viewer.english)
        return self._alert_types.get(row["key"], row["key"])

    # -- hotspots ---------------------------------------------------------------------------------------

    def _hotspot_series(self, panel: Panel, ref: IndicatorRef, side: Side, base: dict) -> list[dict]:
        area = self.area(side.area)
        children = {c.id: c for c in self.hierarchy.children_now(area)} if area.current else {}
        found = [(h.hotspot, h.status, h.under) for h in hotspots_in(self.session, self.hierarchy, area)]
        level = {"hotspots_warning": "warning", "hotspots_danger": "danger"}.get(ref.key, "all")

        def records(where: str) -> dict:
            return {"kind": "hotspots", "area": where, "params": {"area": where, "level": level}}

        series = {**base, "area": area.code, "records": records(area.code)}
        if ref.key == "hotspot_levels":
            shares = [h.last_level_cm / h.danger_cm for h, _, _ in found if h.last_level_cm is not None]
            series["value"] = round(max(shares), 4) if shares else None
            worst = sorted(found, key=lambda f: -(f[0].last_level_cm or -1e9) / f[0].danger_cm)[:MAX_HOTSPOTS]
            if panel.dimension == ITEMS:
                series["points"] = [{
                    "key": h.code, "label": h.name, "value": h.last_level_cm, "status": status,
                    "thresholds": [h.watch_cm, h.warning_cm, h.danger_cm], "max": round(h.danger_cm * 1.25, 1),
                    "at": h.last_reading_at.isoformat() if h.last_reading_at else None,
                    "records": {"kind": "hotspot", "code": h.code}} for h, status, _ in worst]
            return [series]
        wanted = ("danger",) if ref.key == "hotspots_danger" else ("warning", "danger")
        series["value"] = sum(1 for _, status, _ in found if status in wanted)
        if panel.dimension == CHILDREN:
            series["points"] = [{"key": c.code, "label": c.name, "drill": c.code, "records": records(c.code),
                                 "value": sum(1 for _, status, under in found if under == c.id and status in wanted)}
                                for c in children.values()]
        return [series]

    # -- layer statistics -------------------------------------------------------------------------------

    def resolved(self, ref: IndicatorRef) -> Resolved:
        key = (ref.key, ref.layer, ref.by, ref.within)
        if key not in self._resolved:
            stat = LayerStat(LAYER_MEASURES[ref.key], ref.layer, ref.by, ref.within)
            try:
                self._resolved[key] = resolve(self.session, stat, include_internal=self.viewer.include_internal)
            except NotFound:
                if self.viewer.display and self.viewer.principal.is_staff and _internal(self.session, stat):
                    raise NotFound("an internal layer: shown to people signed in, never on a wall screen") from None
                raise
        return self._resolved[key]

    def _layer_series(self, panel: Panel, ref: IndicatorRef, side: Side, base: dict) -> list[dict]:
        resolved = self.resolved(ref)
        area = self.area(side.area)
        if not area.current:
            raise Invalid(f"{area.code} was replaced on {area.valid_to}: layer statistics are of today's areas",
                          {"field": "area"})
        children = self.hierarchy.children_now(area)
        result = statistic(self.session, resolved, [area.id, *(c.id for c in children)])
        base = {**base, "label": f"{base['label']}: {resolved.layer.title}", "unit": result.unit}

        def records(where: AreaRef, group=None, grouped=False) -> dict:
            params = {"layer": ref.layer, "measure": resolved.stat.measure, "area": where.code}
            if ref.within:
                params["within"] = ref.within
            if grouped and group == OTHER:
                # Every value but the groups shown, as this panel's area (with its children) ranked them.
                params.update(by=ref.by, grouped="other", of=area.code)
            elif grouped:
                params.update(by=ref.by, group="" if group is None else group, grouped="1")
            return {"kind": "layer", "area": where.code, "params": params}

        def group_label(key):
            return str(labels.WORDS["no_value"]) if key is None else key

        series = {**base, "area": area.code, "value": result.totals.get(area.id, 0.0), "records": records(area)}
        if panel.dimension == GROUP:
            values = result.groups.get(area.id, {})
            series["points"] = [{"key": k, "label": group_label(k), "value": values.get(k, 0.0),
                                 "records": records(area, k, True)} for k in result.group_keys]
            if result.other.get(area.id):
                series["points"].append({"key": OTHER, "label": str(labels.WORDS["other"]),
                                         "value": result.other[area.id], "records": records(area, OTHER, True)})
            return [series]
        if panel.dimension == CHILDREN and ref.by is not None:
            # One series per value of the attribute, each with a point per child area: stacked by kind.
            made = []
            for k in result.group_keys:
                made.append({**base, "label": group_label(k), "group": k, "area": area.code, "records": None,
                             "value": result.groups.get(area.id, {}).get(k, 0.0),
                             "points": [{"key": c.code, "label": c.name, "drill": c.code,
                                         "value": result.groups.get(c.id, {}).get(k, 0.0),
                                         "records": records(c, k, True)} for c in children]})
            if any(result.other.values()):
                made.append({**base, "label": str(labels.WORDS["other"]), "group": OTHER, "area": area.code,
                             "records": records(area, OTHER, True), "value": result.other.get(area.id, 0.0),
                             "points": [{"key": c.code, "label": c.name, "drill": c.code,
                                         "records": records(c, OTHER, True), "value": result.other.get(c.id, 0.0)}
                                        for c in children]})
            return made
        if panel.dimension == CHILDREN:
            series["points"] = [{"key": c.code, "label": c.name, "drill": c.code,
                                 "value": result.totals.get(c.id, 0.0), "records": records(c)} for c in children]
        return [series]

    # -- the map of a choropleth ------------------------------------------------------------------------

    def shapes(self, side: Side, series: dict) -> dict:
        """The child areas' outlines, each with its class and colour (the leader map's Fisher-Jenks breaks)."""
        area = self.area(side.area)
        points = series.get("points") or []
        ids = {self.hierarchy.by_code(p["key"]).id: p for p in points}
        wanted = [i for i in [*ids, area.id] if i not in self._shapes]
        if wanted:
            for row in self.session.execute(summaries_sql.AREA_SHAPES, {"ids": wanted,
                                                                        "tolerance": SHAPE_TOLERANCE}):
                self._shapes[row.id] = json.loads(row.geometry) if row.geometry else None
        breaks = class_breaks([p["value"] for p in points])
        kind = {HIGHER: "good", LOWER: "bad"}.get(series.get("better"), "neutral")
        palette = colours(kind, breaks["k"])
        features = []
        for area_id, point in ids.items():
            cls = class_of(point["value"], breaks["bins"])
            point["colour"] = palette[cls] if cls is not None else NO_DATA
            features.append({"type": "Feature", "id": point["key"], "geometry": self._shapes.get(area_id),
                             "properties": {"code": point["key"], "name": point["label"], "value": point["value"],
                                            "colour": point["colour"], "drill": point.get("drill")}})
        return {"type": "FeatureCollection", "features": features, "outline": self._shapes.get(area.id),
                "legend": {**breaks, "colours": palette, "no_data": NO_DATA}}


def _internal(session: Session, stat: LayerStat) -> bool:
    """Whether a statistic names an internal layer (for saying why a wall screen leaves it out)."""
    names = [n for n in (stat.layer, stat.within) if n]
    return bool(session.scalar(select(Layer.id).where(Layer.name.in_(names), Layer.visibility == "internal")))


# -- reading the summaries' figures -----------------------------------------------------------------------


def _pinned(summary: dict) -> dict:
    """The summary's resolved period as the records list's arguments, so a link counts the same records."""
    period = summary["period"]
    pinned = {"from": period["from"], "to": period["to"], "as_of": period["as_of"], "areas": period["areas"],
              "trend": period["trend"]}
    if summary.get("category"):
        pinned["category"] = summary["category"]["code"]
    return pinned


def _camera_figure(cameras: dict, figure: str):
    if figure == "online_share":
        return round(cameras["online"] / cameras["total"], 4) if cameras["total"] else None
    return cameras[figure]


def _figure(indicator, summary: dict):
    if indicator.family == "cameras":
        return _camera_figure(summary["cameras"], indicator.figure)
    if indicator.figure in ("median", "p90"):
        return summary["reports"]["handling_hours"][indicator.figure]
    return summary[indicator.family]["totals"][indicator.figure]


def _child_value(indicator, child: dict):
    if indicator.family == "cameras":
        return _camera_figure(child["cameras"], indicator.figure)
    return child[indicator.family][indicator.figure]


def _trend_value(indicator, bucket: dict):
    return bucket[indicator.figure]


def _group_rows(summary: dict, family: str, by: str) -> list[dict]:
    if family == "alerts":
        return summary["alerts"]["by_type"]
    return summary["reports"][f"by_{by}"]


def _ranked(points: list[dict], better: str | None) -> list[dict]:
    """Best first (most first when neither way is better); areas without a value last, by name."""
    valued = [p for p in points if p["value"] is not None]
    valued.sort(key=lambda p: (p["value"] if better == LOWER else -p["value"], p["label"]))
    ranked = valued + sorted((p for p in points if p["value"] is None), key=lambda p: p["label"])
    for i, p in enumerate(ranked, start=1):
        p["rank"] = i if p["value"] is not None else None
    return ranked


def evaluate(session: Session, viewer: Viewer, panels: list[Panel], filters: Filters,
             now: datetime | None = None) -> dict:
    """Every panel's data for one viewer, with the filters the dashboard was seen with."""
    evaluator = Evaluator(session, viewer, filters, now)
    area = evaluator.area(filters.area)  # the dashboard's own area: outside the viewer's scope, the whole is 404
    other = evaluator.area(filters.compare_area) if filters.compare_area else None
    period = filters.period or DEFAULT_PERIOD
    start, end = period.dates(evaluator.today)
    return {
        "area": {"code": area.code, "name": area.name, "level": area.level, "current": area.current},
        "breadcrumb": _breadcrumb(evaluator, area),
        "children": [{"code": c.code, "name": c.name} for c in evaluator.hierarchy.children_now(area)]
        if area.current else [],
        "period": {**period.as_json(), "from": start.isoformat(), "to": end.isoformat()},
        "category": filters.category,
        "compare": {"area": filters.compare_area, "area_name": other.name if other else None,
                    "period": filters.compare_period.as_json() if filters.compare_period else None},
        "panels": [evaluator.panel(p) for p in panels],
        "generated_at": (now or datetime.now(UTC)).isoformat(),
    }


def _breadcrumb(evaluator: Evaluator, area: AreaRef) -> list[dict]:
    return [{"code": a.code, "name": a.name} for a in breadcrumb(evaluator.hierarchy, area, evaluator.visible)]
