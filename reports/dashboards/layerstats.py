"""Statistics of the planning layers per area: how many features, how many kilometres, how many hectares of a
layer lie in each area, optionally by the value of one of its attributes, and optionally only where a second
layer lies (an overlay). PostGIS measures (see reports.dashboards.sql for the definitions).

A statistic is cached in the process by everything it depends on: the layer's data version and table (a new
import or an edit of the data makes a new version: layers keep the tiles' ETag by it too), the overlay layer's,
and each area's boundary. A changed layer or boundary is a different key, so a figure is never served stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, Unavailable
from layers.catalog import data_table, get_layer
from layers.models import Layer
from layers.storage import attribute_columns
from reports.dashboards import sql

MEASURES = sql.MEASURES
UNITS = {"count": "count", "length": "km", "area": "ha"}
SCALE = {"count": 1.0, "length": 1 / 1000, "area": 1 / 10_000}  # metres -> km, square metres -> hectares
LINES = ("LineString", "MultiLineString", "Geometry")
POLYGONS = ("Polygon", "MultiPolygon", "Geometry")
MAX_GROUPS = 20  # the largest values by name; the rest together as "other"
CACHE_SIZE = 512


@dataclass(frozen=True)
class LayerStat:
    """What to measure: *measure* of *layer* (count, length, area), by the value of the attribute *by*, only
    where the layer *within* lies."""

    measure: str
    layer: str
    by: str | None = None
    within: str | None = None


@dataclass
class Resolved:
    stat: LayerStat
    layer: Layer
    within: Layer | None
    tables: sql.StatTables

    @property
    def unit(self) -> str:
        return UNITS[self.stat.measure]


@dataclass
class StatResult:
    """Values per target area (in the unit: count, km or ha) and, when grouped, per attribute value."""

    unit: str
    totals: dict[int, float]
    groups: dict[int, dict[str | None, float]] = field(default_factory=dict)
    group_keys: list[str | None] = field(default_factory=list)  # largest first, at most MAX_GROUPS
    other: dict[int, float] = field(default_factory=dict)  # what the groups beyond MAX_GROUPS hold together


def resolve(session: Session, stat: LayerStat, *, include_internal: bool) -> Resolved:
    """Check a statistic against the catalog: the layers exist and the caller may see them, the measure fits
    the geometry, the attribute exists. An internal layer is "not found" for those who may not see it."""
    if stat.measure not in MEASURES:
        raise Invalid(f"a layer statistic measures one of {', '.join(MEASURES)}", {"field": "measure"})
    layer = get_layer(session, stat.layer, include_internal=include_internal)
    if stat.measure == "length" and layer.geometry_type not in LINES:
        raise Invalid(f"{layer.name} holds {layer.geometry_type}s, which have no length; count them",
                      {"field": "measure"})
    if stat.measure == "area" and layer.geometry_type not in POLYGONS:
        raise Invalid(f"{layer.name} holds {layer.geometry_type}s, which have no area", {"field": "measure"})
    table = data_table(layer)
    group = None
    if stat.by is not None:
        matches = [c for c in attribute_columns(table) if c.info["name"] == stat.by]
        if not matches:
            raise Invalid(f"{layer.name} has no attribute {str(stat.by)[:64]!r}", {"field": "by"})
        group = matches[0]
    within = None
    if stat.within is not None:
        within = get_layer(session, stat.within, include_internal=include_internal)
        if stat.measure != "count" and within.geometry_type not in POLYGONS:
            raise Invalid(f"only polygons can cut lengths and areas; {within.name} holds {within.geometry_type}s",
                          {"field": "within"})
    return Resolved(stat, layer, within, sql.StatTables(table, group, data_table(within) if within else None))


class _Cache:
    """A small LRU of computed statistics, shared by the threads of a process."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                self.hits += 1
                return self.items[key]
            self.misses += 1
            return None

    def put(self, key, value) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.hits = self.misses = 0


CACHE = _Cache(CACHE_SIZE)


def _version(layer: Layer | None) -> tuple | None:
    return (layer.id, layer.data_version, layer.data_table) if layer is not None else None


@contextmanager
def _bounded():
    """A statistic cut by the database's time limit is a clear answer, not a server error."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "57014":  # query_canceled
            raise
        raise Unavailable("this layer statistic takes too long to compute; choose a smaller area or no overlay",
                          {"engine": "layers"}) from None


def statistic(session: Session, resolved: Resolved, targets: list[int]) -> StatResult:
    """The statistic for each target area, from the cache when nothing it depends on has changed."""
    digests = tuple(sorted((row.id, row.digest) for row in session.execute(sql.area_fingerprints(targets))))
    stat = resolved.stat
    key = (stat.measure, stat.by, _version(resolved.layer), _version(resolved.within), digests)
    cached = CACHE.get(key)
    if cached is not None:
        return cached
    scale = SCALE[stat.measure]
    totals: dict[int, float] = {t: 0.0 for t in targets}
    raw: dict[int, dict[str | None, float]] = {}
    with _bounded():
        rows = session.execute(sql.layer_statistic(stat.measure, resolved.tables, targets)).all()
    for row in rows:
        value = round(float(row.value) * scale, 6)
        if row.grouped:
            totals[row.target] = value
        else:
            raw.setdefault(row.target, {})[row.grp] = value
    result = StatResult(resolved.unit, totals)
    if resolved.tables.group is not None:
        overall: dict[str | None, float] = {}
        for values in raw.values():
            for k, v in values.items():
                overall[k] = overall.get(k, 0.0) + v
        keys = sorted(overall, key=lambda k: (-overall[k], k is None, k or ""))
        result.group_keys = keys[:MAX_GROUPS]
        kept = set(result.group_keys)
        for target in targets:
            values = raw.get(target, {})
            result.groups[target] = {k: values.get(k, 0.0) for k in result.group_keys}
            rest = sum(v for k, v in values.items() if k not in kept)
            if rest:
                result.other[target] = round(rest, 6)
    CACHE.put(key, result)
    return result


def other_groups(session: Session, resolved: Resolved, targets: list[int]) -> list[str | None]:
    """The groups a panel over *targets* shows by name; its "other" group holds every value but these."""
    return statistic(session, resolved, targets).group_keys


@dataclass
class FeaturePage:
    layer: dict
    total: int
    page: int
    per_page: int
    columns: list[str]
    items: list[dict]
    unit: str


def features_counted(session: Session, resolved: Resolved, area_id: int, *, group: str | None = None,
                     grouped: bool = False, page: int = 1, per_page: int = 50,
                     others_than: list[str | None] | None = None) -> FeaturePage:
    """The features behind one figure, with what each adds to it (in the figure's unit); with *others_than*, those
    of the "other" group (every value but the groups a panel names)."""
    if (grouped or others_than is not None) and resolved.tables.group is None:
        raise Invalid("this statistic is not grouped by an attribute", {"field": "group"})
    if not 1 <= per_page <= 500:
        raise Invalid("per_page must be between 1 and 500", {"field": "per_page"})
    if not 1 <= page <= 100_000:
        raise Invalid("page must be between 1 and 100000", {"field": "page"})
    statement = sql.layer_records(resolved.stat.measure, resolved.tables, area_id, group, grouped, per_page,
                                  (page - 1) * per_page, others_than)
    with _bounded():
        rows = session.execute(statement).all()
    columns = attribute_columns(resolved.tables.table)
    scale = SCALE[resolved.stat.measure]
    items = [{"id": row.fid, "measure": round(float(row.measure) * scale, 6),
              "properties": {c.info["name"]: _plain(row._mapping[c.name]) for c in columns}} for row in rows]
    layer = resolved.layer
    return FeaturePage(layer={"name": layer.name, "title": layer.title}, total=rows[0].total if rows else 0,
                       page=page, per_page=per_page, columns=[c.info["name"] for c in columns], items=items,
                       unit=resolved.unit)


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def layer_choices(session: Session, *, include_internal: bool) -> list[dict]:
    """The layers a caller may measure, with the measures their geometry allows and their attributes."""
    from layers.catalog import LayerFilter, list_layers

    choices = []
    for layer in list_layers(session, LayerFilter(include_internal=include_internal)):
        measures = ["count"]
        if layer.geometry_type in LINES:
            measures.append("length")
        if layer.geometry_type in POLYGONS:
            measures.append("area")
        choices.append({"name": layer.name, "title": layer.title, "geometry_type": layer.geometry_type,
                        "visibility": layer.visibility, "measures": measures,
                        "attributes": [a["name"] for a in layer.attributes], "polygons": layer.geometry_type
                        in POLYGONS})
    return choices
