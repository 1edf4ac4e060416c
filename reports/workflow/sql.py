"""The PostGIS queries of the workflow: the nearest open report (duplicates), reports placed in areas."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.orm import Session

from gisserver.core.audit import entries_for_inserts, inserted_entry_params
from gisserver.core.db import as_loaded
from gisserver.core.pg_insert import insert
from reports.workflow.changes import FilingPart
from reports.workflow.models import Report, ReportEvent


def reports_in_box(point: str, metres: str) -> str:
    """A subquery of the reports (all their columns) whose point lies in a bounding box of the circle of *metres*
    around *point*, read through the GiST index on their points; within_metres() then checks the exact distance.

    ST_DWithin over geography casts cannot use the GiST index on the geometry column, so the box, in degrees, comes
    first: a degree of latitude is at least 110,574 m and one of longitude at least 111,319.49 m x cos(latitude);
    the 5% margin covers the latitude change across the box. The subquery is fenced (OFFSET 0) so that the box is
    all the planner may use to read it: psycopg prepares a statement after five runs, and PostgreSQL may then plan
    it once for any parameters. Beside the open-report conditions of the callers, such a generic plan read a
    partial index of every open report instead (on a flood day, every filing's duplicate check walked them all:
    3.4 ms at 4,000, against 0.1 ms through the box). *point* and *metres* are this package's own SQL expressions,
    never input.
    """
    box = (f"ST_Expand({point}, {metres} * 1.05 / (111319.49 * greatest(cos(radians(ST_Y({point}))), 0.01)), "
           f"{metres} * 1.05 / 110574.0)")
    return f"SELECT * FROM reports WHERE geom && {box} OFFSET 0"  # noqa: S608 - this package's SQL, no input


def within_metres(geom: str, point: str, metres: str) -> str:
    """SQL that is true when *geom* (a column in EPSG:4326) lies within *metres* of *point* on the spheroid: for rows
    of reports_in_box(), which the index found. The arguments are this package's own SQL expressions."""
    return f"ST_DWithin({geom}::geography, {point}::geography, {metres})"


# The nearest open report of a category within :metres of `point.geom`, filed between :since and :now: a subquery
# for a FROM list that holds `point(geom)` and `category(id)`. Intake flags the new report as its possible duplicate.
NEAREST_OPEN = f"""
SELECT r.id FROM ({reports_in_box("point.geom", ":metres")}) AS r
WHERE r.category_id = category.id
  AND r.status IN ('new', 'acknowledged', 'in_progress')
  AND r.merged_into_id IS NULL
  AND r.created_at BETWEEN :since AND :now
  AND {within_metres("r.geom", "point.geom", ":metres")}
ORDER BY r.geom::geography <-> point.geom::geography, r.id
LIMIT 1
"""  # noqa: S608 - constant SQL of this module, no input
_NEARBY_OPEN = text(f"""
SELECT nearest.id FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point,
     (SELECT CAST(:category_id AS integer) AS id) AS category, LATERAL ({NEAREST_OPEN}) AS nearest
""")  # noqa: S608 - constant SQL fragments of this module, no input


def nearest_open_report(
    session: Session, category_id: int, lon: float, lat: float, metres: float, since: datetime, now: datetime
) -> int | None:
    """The nearest open report of a category within a distance and time window, if any."""
    params = {"category_id": category_id, "lon": lon, "lat": lat, "metres": metres, "since": since, "now": now}
    return session.execute(_NEARBY_OPEN, params).scalar()


# The unit that handles a report of `category` (id, unit_type) in the areas `chain.ids` (deepest first): a subquery
# for a FROM list that holds both. An explicit routing rule wins (the deepest area first, then a rule for the
# category over a catch-all); then the active unit of the category's unit type serving the deepest area; then the
# city's unit of :fallback_unit_type.
ROUTE = """
SELECT unit_id FROM (
    SELECT r.unit_id, 0 AS tier, coalesce(array_position(chain.ids, r.area_id), cardinality(chain.ids)) AS depth,
           (r.category_id IS NULL)::int AS general, r.id AS tie
    FROM routing_rules r JOIN units u ON u.id = r.unit_id
    WHERE u.active AND r.alert_type IS NULL AND (r.category_id = category.id OR r.category_id IS NULL)
      AND (r.area_id = ANY(chain.ids) OR r.area_id IS NULL)
    UNION ALL
    SELECT u.id, 1, array_position(chain.ids, u.area_id), 0, u.id FROM units u
    WHERE u.active AND u.unit_type = category.unit_type AND u.area_id = ANY(chain.ids)
    UNION ALL
    SELECT u.id, 2, 0, 0, u.id FROM units u WHERE u.active AND u.unit_type = :fallback_unit_type
) candidates
ORDER BY tier, depth, general, tie
LIMIT 1
"""
_ROUTE = text(f"""
SELECT routed.unit_id FROM (SELECT CAST(:area_ids AS integer[]) AS ids) AS chain,
     (SELECT CAST(:category_id AS integer) AS id, CAST(:unit_type AS text) AS unit_type) AS category,
     LATERAL ({ROUTE}) AS routed
""")  # noqa: S608 - constant SQL fragments of this module, no input


def routed_unit_id(session: Session, category_id: int, unit_type: str, area_ids: list[int],
                   fallback_unit_type: str) -> int | None:
    """The id of the unit that handles a report of the category in the areas *area_ids* (deepest first)."""
    return session.execute(_ROUTE, {"area_ids": area_ids, "category_id": category_id, "unit_type": unit_type,
                                    "fallback_unit_type": fallback_unit_type}).scalar()


_RELOCATE = text("""
SELECT r.id, r.geom IS NOT NULL AS located, ST_X(r.geom) AS lon, ST_Y(r.geom) AS lat
FROM reports r WHERE r.area_current_id = ANY(:ids)
""")


def reports_in_areas(session: Session, area_ids) -> list:
    """Reports whose current area is one of these, with their coordinates."""
    return list(session.execute(_RELOCATE, {"ids": list(area_ids)}))


def point_lonlat(session: Session, report_id: int) -> tuple[float, float] | None:
    row = session.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM reports WHERE id = :id AND geom IS NOT NULL"), {"id": report_id}
    ).first()
    return (row[0], row[1]) if row else None


_STEP = text("""
SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS metres,
       coalesce(degrees(ST_Azimuth(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography)), 0)
           AS bearing
FROM reports WHERE id = :id AND geom IS NOT NULL
""")


def step_between(session: Session, report_id: int, lon: float, lat: float):
    """How far (metres, on the spheroid) and which way (degrees from north) a report's point is from (lon, lat)
    to be moved there; None when it has no point yet."""
    return session.execute(_STEP, {"id": report_id, "lon": lon, "lat": lat}).first()


# Open reports of public categories near a point, for a resident about to send the same thing (never police
# matters: what is reported to them is not shown to others).
_OPEN_NEAR = text(f"""
SELECT r.id, r.tracking_code, r.status, r.created_at, r.description, c.code AS category, c.name_vi, c.name_en,
       ST_Distance(r.geom::geography, point.geom::geography) AS metres
FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point
CROSS JOIN LATERAL ({reports_in_box("point.geom", ":metres")}) AS r
JOIN categories c ON c.id = r.category_id
WHERE r.status IN ('new', 'acknowledged', 'in_progress') AND r.merged_into_id IS NULL
  AND c.domain <> ALL(:unpublished) AND r.created_at >= :since
  AND {within_metres("r.geom", "point.geom", ":metres")}
ORDER BY r.geom::geography <-> point.geom::geography, r.id
LIMIT :limit
""")  # noqa: S608 - constant SQL of this module, no input


def open_reports_near(session: Session, lon: float, lat: float, metres: float, since: datetime, unpublished,
                      limit: int) -> list:
    return list(session.execute(_OPEN_NEAR, {"lon": lon, "lat": lat, "metres": metres, "since": since,
                                             "unpublished": list(unpublished), "limit": limit}))


def _values(obj) -> dict:
    """The column values given to a new ORM object, by column name."""
    state = inspect(obj)
    return {attr.columns[0].name: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}


# The columns of the new report that insert_report's statement hands its FilingParts (the CTE "written").
WRITTEN_COLUMNS = ("id", "area_current_id", "unit_id", "created_at")


@functools.cache
def _write_statement(report_columns: tuple[str, ...], event_columns: tuple[str, ...], builds: tuple = ()):
    """The statement of insert_report for reports and events given these columns and parts' builds, built once: each
    value is a bound parameter (r_<column> of the report, e_<column> of the event, the audit entries' own and the
    parts'); with how many columns each part adds to its row."""
    reports, events = Report.__table__, ReportEvent.__table__
    written = (insert(reports).values({c: bindparam(f"r_{c}", type_=reports.c[c].type) for c in report_columns})
               .on_conflict_do_nothing(index_elements=[reports.c.idempotency_key])
               .returning(*(reports.c[c] for c in WRITTEN_COLUMNS)).cte("written"))
    first = (events.insert().from_select(
        ["report_id", *event_columns],
        select(written.c.id, *[bindparam(f"e_{c}", type_=events.c[c].type) for c in event_columns]))
        .returning(events.c.id, events.c.report_id).cte("first_event"))
    audit = entries_for_inserts([
        (Report.__tablename__, written, {"id": written.c.id}),
        (ReportEvent.__tablename__, first, {"id": first.c.id, "report_id": first.c.report_id})])
    statement = (select(written.c.id, first.c.id).join_from(written, first, first.c.report_id == written.c.id)
                 .add_cte(audit.cte("audited")))
    widths = []
    for build in builds:
        ctes, columns = build(written)
        statement = statement.add_cte(*ctes).add_columns(*columns)
        widths.append(len(columns))
    return statement, tuple(widths)


def insert_report(session: Session, report: Report, event: ReportEvent,
                  parts: Sequence[FilingPart] = ()) -> Report | None:
    """Write a new report, its first event, their audit entries and the *parts* of the domains above in one
    statement; the report as the session's loaded object, or None when another request took its idempotency key
    meanwhile (that one's report stands, and no part wrote anything).

    *report* and *event* are new ORM objects holding their values (event.report_id is filled in by the database).
    The ORM would have sent a statement for each row and one for the audit entries; the statement is built once per
    set of columns and parts given, and SQLAlchemy's cache keeps its SQL.
    """
    report_values = _values(report)
    event_values = {k: v for k, v in _values(event).items() if k != "report_id"}
    statement, widths = _write_statement(tuple(report_values), tuple(event_values),
                                         tuple(part.build for part in parts))
    params = {**{f"r_{k}": v for k, v in report_values.items()}, **{f"e_{k}": v for k, v in event_values.items()},
              **inserted_entry_params(session, [(Report, report_values), (ReportEvent, event_values)])}
    for part in parts:
        params.update(part.params)
    row = session.connection().execute(statement, params).first()
    if row is None:
        return None
    report.id, event.id, event.report_id = row[0], row[1], row[0]
    as_loaded(session, event)
    start = 2
    for part, width in zip(parts, widths, strict=True):
        if part.written is not None:
            part.written(session, row[start:start + width])
        start += width
    return as_loaded(session, report)
