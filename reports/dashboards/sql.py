"""The dashboards' own SQL: layer statistics per area, and the features behind one of them. PostGIS measures.

Definitions (the same for the figure and for its records):
- a feature counts in an area when its point on surface (the point itself, a point on a line, a point inside a
  polygon) lies in the area, so each feature counts in exactly one of the children that tile an area;
- length and area are of the part of the feature inside the area, on the WGS84 spheroid (geography), in metres
  and square metres;
- with an overlay layer B: a feature counts when it intersects a feature of B; length and area are of the part
  inside both the area and the union of B's features there.
Table and column names come from the catalog (layers.storage builds the Table objects) and are quoted by
SQLAlchemy; every value is bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from geoalchemy2 import Geography
from sqlalchemy import Column, Table, Text, and_, case, cast, exists, func, literal, or_, over, select, tuple_

from reports.areas.models import Area

MEASURES = ("count", "length", "area")


@dataclass(frozen=True)
class StatTables:
    """What one statistic reads: the layer's table, the column to group by, the overlay layer's table."""

    table: Table
    group: Column | None = None
    within: Table | None = None


def _parts(measure: str, tables: StatTables, targets: list[int]):
    """(from clause, conditions, measured geometry, the target column, the feature alias) shared by the figure
    and its records."""
    t = select(Area.id.label("target"), Area.geom.label("geom")).where(Area.id.in_(targets)).cte("t")
    f = tables.table.alias("f")
    frm = t.join(f, func.ST_Intersects(f.c.geom, t.c.geom))
    conditions = []
    # Most features lie wholly inside one area: measure them as they are and cut only those on a border. (ST_Covers
    # with the area first: PostGIS prepares the repeated area once. bench/dashboards.py, 200,000 parcels in 40
    # wards: ST_CoveredBy the other way round 1.7-2.3x slower, cutting every feature 2.1-2.6x.)
    inside = case((func.ST_Covers(t.c.geom, f.c.geom), f.c.geom), else_=func.ST_Intersection(f.c.geom, t.c.geom))
    if measure == "count":
        conditions.append(func.ST_Intersects(t.c.geom, func.ST_PointOnSurface(f.c.geom)))
        if tables.within is not None:
            b = tables.within.alias("b")
            conditions.append(exists(select(literal(1)).select_from(b).where(func.ST_Intersects(b.c.geom, f.c.geom))))
        return frm, conditions, None, t.c.target, f
    measured = inside
    if tables.within is not None:
        b = tables.within.alias("b")
        union = (select(t.c.target.label("target"), func.ST_Union(b.c.geom).label("geom"))
                 .select_from(t.join(b, func.ST_Intersects(b.c.geom, t.c.geom))).group_by(t.c.target).cte("u"))
        frm = frm.join(union, (union.c.target == t.c.target) & func.ST_Intersects(f.c.geom, union.c.geom))
        measured = case((func.ST_Covers(union.c.geom, f.c.geom), inside),
                        else_=func.ST_Intersection(inside, union.c.geom))
    size = func.ST_Area if measure == "area" else func.ST_Length
    return frm, conditions, size(cast(measured, Geography(srid=4326))), t.c.target, f


def layer_statistic(measure: str, tables: StatTables, targets: list[int]):
    """Rows (target, grouped, grp, value): each target's total (grouped = 1) and, with a group column, one row per
    value of it (grouped = 0; grp may be NULL for features without a value)."""
    frm, conditions, size, target, f = _parts(measure, tables, targets)
    value = func.count() if size is None else func.coalesce(func.sum(size), 0.0)
    if tables.group is None:
        return (select(target.label("target"), literal(1).label("grouped"), cast(None, Text).label("grp"),
                       value.label("value")).select_from(frm).where(*conditions).group_by(target))
    grp = cast(f.c[tables.group.name], Text)
    return (select(target.label("target"), func.grouping(grp).label("grouped"), grp.label("grp"),
                   value.label("value")).select_from(frm).where(*conditions)
            .group_by(func.grouping_sets(tuple_(target), tuple_(target, grp))))


def layer_records(measure: str, tables: StatTables, target: int, group: str | None, grouped: bool, limit: int,
                  offset: int, others_than: list[str | None] | None = None):
    """The features one figure counts in the area *target* (of one group value when *grouped*; of every value but
    *others_than* when that is given: the "other" group), by feature id, each with what it adds to the figure and
    the total number of them."""
    frm, conditions, size, _, f = _parts(measure, tables, [target])
    if others_than is not None:
        column = cast(f.c[tables.group.name], Text)
        named = [k for k in others_than if k is not None]
        if None in others_than:  # "no value" has its own group: the others all have a value
            conditions.append(and_(column.is_not(None), column.not_in(named)))
        else:
            conditions.append(or_(column.is_(None), column.not_in(named)))
    elif grouped:
        column = cast(f.c[tables.group.name], Text)
        conditions.append(column.is_(None) if group is None else column == group)
    attributes = [c for c in f.c if c.name not in ("fid", "geom", "geom_3857")]
    contributes = literal(1) if size is None else size
    return (select(f.c.fid, *attributes, contributes.label("measure"), over(func.count()).label("total"))
            .select_from(frm).where(*conditions).order_by(f.c.fid).limit(limit).offset(offset))


def area_fingerprints(ids: list[int]):
    """The areas as they are now: a changed boundary is a new fingerprint, so a cached statistic is not reused."""
    return select(Area.id, func.md5(func.ST_AsEWKB(Area.geom)).label("digest")).where(Area.id.in_(ids))
