"""The catalog of indicators a panel may show: the summaries' figures, hotspot levels and layer statistics.

Each indicator says where its figure comes from (a summaries section and figure, the hotspots, or a layer
statistic), its unit, whether more is better, which ways it can be shown (one figure, over time, by child area,
by kind), whether the period and the category filter apply, and which records stand behind it. The figures are
read from reports.summaries (the same definitions and numbers as the summary page), never recounted here.
"""

from __future__ import annotations

from dataclasses import dataclass

from reports.dashboards import labels

VALUE, TIME, CHILDREN, GROUP, ITEMS = "value", "time", "children", "group", "items"
HIGHER, LOWER = "higher", "lower"  # which way is better (None: neither, a volume)


@dataclass(frozen=True)
class Indicator:
    key: str
    family: str  # reports, dossiers, alerts, cameras, hotspots, layers
    unit: str  # count, percent, hours, cm, km, ha
    dims: frozenset[str]
    better: str | None = None
    figure: str | None = None  # the summaries' figure (reports.totals[figure] ...)
    records: tuple[str, str] | None = None  # (source, measure) of reports.summaries' records
    period: bool = True  # depends on the period
    category: bool = False  # follows the category filter
    groups: tuple[str, ...] = ()  # what "by" may name for the GROUP dimension

    @property
    def label(self) -> str:
        return str(labels.INDICATOR_LABELS[self.key])

    @property
    def definition(self) -> str:
        return str(labels.DEFINITIONS[self.key])

    @property
    def is_layer(self) -> bool:
        return self.family == "layers"


def _reports(key, figure, unit="count", better=None, measure=None, dims=(VALUE, TIME, CHILDREN, GROUP)):
    return Indicator(key, "reports", unit, frozenset(dims), better, figure, ("reports", measure or figure),
                     category=True, groups=("category", "channel", "unit") if GROUP in dims else ())


def _dossiers(key, figure, unit="count", better=None, measure=None):
    return Indicator(key, "dossiers", unit, frozenset((VALUE, TIME, CHILDREN)), better, figure,
                     ("dossiers", measure or figure))


def _alerts(key, figure, unit="count", better=None, measure=None):
    return Indicator(key, "alerts", unit, frozenset((VALUE, CHILDREN, GROUP)), better, figure,
                     ("alerts", measure or figure), groups=("type",))


CATALOG: dict[str, Indicator] = {i.key: i for i in (
    _reports("reports_received", "received"),
    _reports("reports_closed", "closed", better=HIGHER),
    _reports("reports_resolved", "resolved", better=HIGHER),
    _reports("reports_open", "open", better=LOWER),
    _reports("reports_overdue", "overdue", better=LOWER),
    _reports("reports_late", "late", better=LOWER),
    _reports("reports_on_time_rate", "on_time_rate", "percent", HIGHER, measure="on_time"),
    _reports("reports_handling_median", "median", "hours", LOWER, measure="closed", dims=(VALUE,)),
    _reports("reports_handling_p90", "p90", "hours", LOWER, measure="closed", dims=(VALUE,)),
    _dossiers("dossiers_received", "received"),
    _dossiers("dossiers_finished", "finished", better=HIGHER),
    _dossiers("dossiers_in_progress", "in_progress", better=LOWER),
    _dossiers("dossiers_overdue", "overdue", better=LOWER),
    _dossiers("dossiers_late", "late", better=LOWER),
    _dossiers("dossiers_on_time_rate", "on_time_rate", "percent", HIGHER, measure="on_time"),
    _dossiers("dossiers_online_share", "online_share", "percent", HIGHER, measure="online"),
    _alerts("alerts_received", "received"),
    _alerts("alerts_open", "open", better=LOWER),
    _alerts("alerts_overdue", "overdue", better=LOWER),
    _alerts("alerts_on_time_rate", "on_time_rate", "percent", HIGHER, measure="on_time"),
    Indicator("cameras_online", "cameras", "count", frozenset((VALUE, CHILDREN)), HIGHER, "online", period=False),
    Indicator("cameras_offline", "cameras", "count", frozenset((VALUE, CHILDREN)), LOWER, "offline", period=False),
    Indicator("cameras_online_share", "cameras", "percent", frozenset((VALUE, CHILDREN)), HIGHER, "online_share",
              period=False),
    Indicator("hotspots_warning", "hotspots", "count", frozenset((VALUE, CHILDREN)), LOWER, "warning", period=False),
    Indicator("hotspots_danger", "hotspots", "count", frozenset((VALUE, CHILDREN)), LOWER, "danger", period=False),
    Indicator("hotspot_levels", "hotspots", "percent", frozenset((VALUE, ITEMS)), LOWER, "levels", period=False),
    Indicator("layer_count", "layers", "count", frozenset((VALUE, CHILDREN, GROUP)), period=False),
    Indicator("layer_length", "layers", "km", frozenset((VALUE, CHILDREN, GROUP)), period=False),
    Indicator("layer_area", "layers", "ha", frozenset((VALUE, CHILDREN, GROUP)), period=False),
)}
LAYER_MEASURES = {"layer_count": "count", "layer_length": "length", "layer_area": "area"}

# Which ways of showing each chart takes, the first being its default.
CHART_DIMENSIONS: dict[str, tuple[str, ...]] = {
    "number": (VALUE,),
    "gauge": (VALUE, ITEMS),
    "line": (TIME,),
    "bar": (TIME, CHILDREN, GROUP),
    "stacked": (CHILDREN, TIME),
    "ranking": (CHILDREN,),
    "choropleth": (CHILDREN,),
    "table": (CHILDREN, TIME, GROUP, ITEMS),
}
# How many indicators a chart shows at most.
CHART_INDICATORS = {"number": 1, "gauge": 1, "ranking": 1, "choropleth": 1, "line": 4, "bar": 4, "stacked": 6,
                    "table": 6}


def catalog_json() -> list[dict]:
    """The catalog as the editor and the API show it, in the reader's language."""
    return [{"key": i.key, "family": i.family, "label": i.label, "definition": i.definition, "unit": i.unit,
             "dims": sorted(i.dims), "better": i.better, "period": i.period, "category": i.category,
             "groups": list(i.groups), "layer": i.is_layer} for i in CATALOG.values()]
