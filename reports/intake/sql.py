"""Intake's one read before a report is written: everything filing needs to know, in one statement.

The category, the report already filed under the request's idempotency key, the areas containing the point (and
those of the ward's QR code), the unit that handles it, the nearest open report of the category (the duplicate
flag) and the nearest address: PostGIS answers the point-in-area, the routing and the nearest-report search
together. Each part is the SQL of the domain that owns it (reports.areas.sql, .gazetteer, reports.workflow.sql),
asked as a LATERAL subquery over the same `point` and `category`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from reports.areas import gazetteer
from reports.areas import sql as areas_sql
from reports.areas.units import FALLBACK_UNIT_TYPE
from reports.workflow import sql as report_sql

_FILING_CONTEXT = text(f"""
SELECT row_to_json(category) AS category,
       (SELECT json_build_object('id', r.id, 'description', r.description, 'category_id', r.category_id)
        FROM reports r WHERE r.idempotency_key = :key) AS replayed,
       located.areas AS located, given.areas AS given,
       row_to_json(unit) AS unit, nearest.id AS duplicate_of, place.label AS address, place.metres AS address_metres
FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point
LEFT JOIN categories AS category ON category.code = :category
CROSS JOIN LATERAL (SELECT json_agg(c ORDER BY c.depth) AS areas, array_agg(c.id ORDER BY c.depth) AS ids
                    FROM ({areas_sql.CHAIN_OF_POINT}) AS c) AS located
CROSS JOIN LATERAL (SELECT json_agg(c ORDER BY c.depth) AS areas, array_agg(c.id ORDER BY c.depth) AS ids
                    FROM ({areas_sql.CHAIN_OF_CODE}) AS c) AS given
CROSS JOIN LATERAL (SELECT coalesce(CASE WHEN point.geom IS NULL THEN given.ids ELSE located.ids END,
                                    '{{}}') AS ids) AS chain
LEFT JOIN LATERAL ({report_sql.ROUTE}) AS routed ON category.id IS NOT NULL
LEFT JOIN units AS unit ON unit.id = routed.unit_id
LEFT JOIN LATERAL ({report_sql.NEAREST_OPEN}) AS nearest ON point.geom IS NOT NULL AND category.id IS NOT NULL
LEFT JOIN LATERAL ({gazetteer.NEAREST_ADDRESS}) AS place ON CAST(:reverse AS boolean) AND point.geom IS NOT NULL
""")  # noqa: S608 - constant SQL fragments of the domains, no input


@dataclass
class AreaRow:
    """An area as the context statement read it (enough to route, name and limit; not its outline)."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    valid_to: date | None = None


@dataclass
class FilingContext:
    category: dict | None  # the categories row, None for an unknown code
    replayed: dict | None  # {id, description, category_id} of the report filed before under the same key
    located: list[AreaRow]  # the areas containing the point, deepest first ([] outside the city or without a point)
    given: list[AreaRow]  # the area of the QR code (area_code) and its parents
    unit: dict | None  # the units row of the unit that handles it (for the located chain, else the given one)
    duplicate_of: int | None
    address: str | None  # the nearest address within *max_metres* when asked for


def _areas(rows) -> list[AreaRow]:
    return [AreaRow(r["id"], r["code"], r["name"], r["level"], r["parent_id"],
                    date.fromisoformat(r["valid_to"]) if r["valid_to"] else None) for r in rows or []]


def filing_context(session: Session, *, category: str, point: tuple[float, float] | None, on: date,
                   idempotency_key: str | None, area_code: str | None, reverse_geocode: bool, address_metres: float,
                   duplicate_metres: float, duplicate_since: datetime, now: datetime) -> FilingContext:
    """Everything filing a report of *category* at *point* (or in the area of *area_code*) needs, in one statement."""
    lon, lat = point if point is not None else (None, None)
    row = session.execute(_FILING_CONTEXT, {
        "category": category, "key": idempotency_key, "lon": lon, "lat": lat, "on": on, "area_code": area_code,
        "reverse": reverse_geocode, "internal": False, "metres": duplicate_metres, "since": duplicate_since,
        "now": now, "fallback_unit_type": FALLBACK_UNIT_TYPE}).one()
    address = row.address if row.address_metres is not None and row.address_metres <= address_metres else None
    return FilingContext(category=_json(row.category), replayed=_json(row.replayed), located=_areas(_json(row.located)),
                         given=_areas(_json(row.given)), unit=_json(row.unit), duplicate_of=row.duplicate_of,
                         address=address)


def _json(value):
    return json.loads(value) if isinstance(value, str) else value
