"""The PostGIS queries of the workflow: the nearest open report (duplicates), reports placed in areas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

_NEARBY_OPEN = text("""
SELECT id FROM reports
WHERE category_id = :category_id
  AND status IN ('new', 'acknowledged', 'in_progress')
  AND merged_into_id IS NULL
  AND created_at BETWEEN :since AND :now
  AND geom IS NOT NULL
  AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, id
LIMIT 1
""")


def nearest_open_report(
    session: Session, category_id: int, lon: float, lat: float, metres: float, since: datetime, now: datetime
) -> int | None:
    """The nearest open report of a category within a distance and time window, if any."""
    params = {"category_id": category_id, "lon": lon, "lat": lat, "metres": metres, "since": since, "now": now}
    return session.execute(_NEARBY_OPEN, params).scalar()


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
_OPEN_NEAR = text("""
SELECT r.id, r.tracking_code, r.status, r.created_at, r.description, c.code AS category, c.name_vi, c.name_en,
       ST_Distance(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) AS metres
FROM reports r JOIN categories c ON c.id = r.category_id
WHERE r.status IN ('new', 'acknowledged', 'in_progress') AND r.merged_into_id IS NULL AND r.geom IS NOT NULL
  AND c.domain <> ALL(:unpublished) AND r.created_at >= :since
  AND ST_DWithin(r.geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, :metres)
ORDER BY r.geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, r.id
LIMIT :limit
""")


def open_reports_near(session: Session, lon: float, lat: float, metres: float, since: datetime, unpublished,
                      limit: int) -> list:
    return list(session.execute(_OPEN_NEAR, {"lon": lon, "lat": lat, "metres": metres, "since": since,
                                             "unpublished": list(unpublished), "limit": limit}))
