"""The attribute table of a layer for the workspace: paged, sorted by any attribute, filtered by values."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from layers.features import parse_value, properties_json
from layers.models import Layer
from layers.storage import data_table

MAX_PER_PAGE = 500


@dataclass
class TableQuery:
    page: int = 1
    per_page: int = 50
    sort: str | None = None  # an attribute name, or None for the feature id
    descending: bool = False
    filters: dict[str, str] = field(default_factory=dict)  # attribute name -> value (text: contains, case-blind)


def rows(session: Session, layer: Layer, q: TableQuery) -> dict:
    """{"total", "page", "per_page", "rows": [{"id", "properties"}]} of the layer's current data."""
    if not 1 <= q.per_page <= MAX_PER_PAGE or q.page < 1:
        raise Invalid(f"page is 1 or more and per_page 1 to {MAX_PER_PAGE}", {"parameter": "per_page"})
    table = data_table(layer)
    by_name = {a["name"]: a for a in layer.attributes}
    unknown = [n for n in [*q.filters, *([q.sort] if q.sort else [])] if n not in by_name]
    if unknown:
        raise Invalid(f"unknown attribute(s): {', '.join(unknown)}", {"attributes": list(by_name)})
    where = []
    for name, raw in q.filters.items():
        attribute, column = by_name[name], table.c[by_name[name]["column"]]
        if attribute["type"] == "text":
            pattern = "%" + raw.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(column.ilike(pattern))
        else:
            where.append(column == parse_value(attribute, raw))
    order = [table.c.fid.desc() if q.descending and not q.sort else table.c.fid]
    if q.sort:
        column = table.c[by_name[q.sort]["column"]]
        order.insert(0, (column.desc() if q.descending else column.asc()).nulls_last())
    total = session.scalar(select(func.count()).select_from(table).where(*where))
    found = session.execute(select(table.c.fid, cast(properties_json(table), Text)).where(*where).order_by(*order)
                            .limit(q.per_page).offset((q.page - 1) * q.per_page)).all()
    return {"total": total, "page": q.page, "per_page": q.per_page,
            "rows": [{"id": fid, "properties": json.loads(properties)} for fid, properties in found]}


def distinct_values(session: Session, layer: Layer, name: str, limit: int = 100) -> list[dict]:
    """The values an attribute takes, most frequent first, with their counts (for categorised styles)."""
    attribute = _attribute(layer, name)
    table = data_table(layer)
    column = table.c[attribute["column"]]
    found = session.execute(select(column, func.count()).where(column.is_not(None)).group_by(column)
                            .order_by(func.count().desc(), column).limit(limit)).all()
    return [{"value": _plain(v), "count": c} for v, c in found]


def class_breaks(session: Session, layer: Layer, name: str, classes: int, method: str) -> list[float]:
    """Up to classes + 1 break values of a number attribute: equal intervals or quantiles (computed by PostgreSQL);
    equal breaks (many equal values) collapse into one, so there may be fewer classes than asked for."""
    attribute = _attribute(layer, name)
    if attribute["type"] not in ("integer", "bigint", "double"):
        raise Invalid(f"{name} is not a number", {"parameter": "attribute"})
    if not 2 <= classes <= 9:
        raise Invalid("classes must be from 2 to 9", {"parameter": "classes"})
    if method not in ("equal", "quantile"):
        raise Invalid("method must be equal or quantile", {"parameter": "method"})
    column = data_table(layer).c[attribute["column"]]
    if method == "quantile":
        fractions = [i / classes for i in range(classes + 1)]
        breaks = session.scalar(select(func.percentile_cont(fractions).within_group(column)))
    else:
        low, high = session.execute(select(func.min(column), func.max(column))).one()
        breaks = None if low is None else [low + (high - low) * i / classes for i in range(classes + 1)]
    return sorted({float(b) for b in breaks}) if breaks else []


def _attribute(layer: Layer, name: str) -> dict:
    for attribute in layer.attributes:
        if attribute["name"] == name:
            return attribute
    raise Invalid(f"{layer.name} has no attribute {name!r}", {"parameter": "attribute",
                                                              "attributes": [a["name"] for a in layer.attributes]})


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value
