"""The PostGIS queries of areas: point -> area chain, subtrees, sibling checks, outlines as GeoJSON."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

# An area and its parents, deepest first, as (id, code, name, level, parent_id, valid_to, depth); *start* picks the
# first area, *before* may define what it needs. The fragments below are subqueries for a FROM list.
_CHAIN = """
WITH RECURSIVE {before}chain AS (
    SELECT a.id, a.code, a.name, a.level, a.parent_id, a.valid_to, 0 AS depth FROM areas a {start}
    UNION ALL
    SELECT p.id, p.code, p.name, p.level, p.parent_id, p.valid_to, c.depth + 1
    FROM areas p JOIN chain c ON p.id = c.parent_id
)
SELECT * FROM chain
"""
# The areas containing `point.geom` on the date :on, for a FROM list that holds a relation `point(geom)` (intake
# asks it beside the routing and the duplicate check, in one statement). Among areas of one level sharing a border,
# the lowest code wins, so a point on a border always lands in the same area.
CHAIN_OF_POINT = _CHAIN.format(before="""hit AS (
    SELECT id FROM areas
    WHERE ST_Intersects(geom, point.geom)
      AND valid_from <= :on AND (valid_to IS NULL OR valid_to > :on)
    ORDER BY CASE level WHEN 'group' THEN 0 WHEN 'ward' THEN 1 ELSE 2 END, code
    LIMIT 1
), """, start="JOIN hit USING (id)")
# The same for an area given by :area_code (a ward's QR code): the area and its parents.
CHAIN_OF_CODE = _CHAIN.format(before="", start="WHERE a.code = :area_code")
# The same for a FROM list that holds a relation `subject_area(id)`: the area of that id and its parents (the
# notifications' read of an event asks it beside the event's report).
CHAIN_OF_SUBJECT_AREA = _CHAIN.format(before="", start="WHERE a.id = subject_area.id")
_CHAIN_OF_ID = text(f"""
SELECT chain.name, chain.level FROM (SELECT CAST(:area_id AS integer) AS id) AS subject_area,
     LATERAL ({CHAIN_OF_SUBJECT_AREA}) AS chain
ORDER BY chain.depth
""")  # noqa: S608 - constant SQL fragments of this module, no input


def area_chain_names(session: Session, area_id: int) -> list[tuple[str, str]]:
    """(name, level) of the area with this id and of its parents, deepest first; [] when there is none."""
    return [(row.name, row.level) for row in session.execute(_CHAIN_OF_ID, {"area_id": area_id})]


_AREA_CHAIN = text(f"""
SELECT chain.id FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point,
     LATERAL ({CHAIN_OF_POINT}) AS chain
ORDER BY chain.depth
""")  # noqa: S608 - constant SQL fragments of this module, no input


def area_chain_ids(session: Session, lon: float, lat: float, on: date) -> list[int]:
    """Ids of the areas containing the point on a date, deepest first."""
    return list(session.execute(_AREA_CHAIN, {"lon": lon, "lat": lat, "on": on}).scalars())


_SUBTREE = text("""
WITH RECURSIVE sub AS (
    SELECT id FROM areas WHERE id = ANY(:ids)
    UNION
    SELECT a.id FROM areas a JOIN sub ON a.parent_id = sub.id
)
SELECT id FROM sub
""")


def area_subtree_ids(session: Session, area_ids) -> set[int]:
    """The given areas and everything below them."""
    ids = list(area_ids)
    if not ids:
        return set()
    return set(session.execute(_SUBTREE, {"ids": ids}).scalars())


# Digitised boundaries never meet exactly: a part counts as a problem only when it is larger than the
# tolerance and is wider than 5 m (so slivers along shared borders, however long, are ignored).
_OVERLAPS = text("""
SELECT a, b, sum(ST_Area(part::geography)) AS m2 FROM (
    SELECT a.code AS a, b.code AS b,
           (ST_Dump(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3))).geom AS part
    FROM areas a
    JOIN areas b ON a.parent_id IS NOT DISTINCT FROM b.parent_id AND a.id < b.id AND a.level = b.level
         AND ST_Intersects(a.geom, b.geom)
    WHERE a.level = :level AND a.valid_to IS NULL AND b.valid_to IS NULL
) parts
WHERE ST_Area(part::geography) > :tolerance
  AND NOT ST_IsEmpty(ST_Buffer(part::geography, -2.5)::geometry)
GROUP BY a, b ORDER BY m2 DESC
""")

_GAPS = text("""
SELECT parent, sum(ST_Area(part::geography)) AS m2 FROM (
    SELECT p.code AS parent, (ST_Dump(ST_Difference(p.geom, ST_Union(c.geom)))).geom AS part
    FROM areas p JOIN areas c ON c.parent_id = p.id AND c.level = :level AND c.valid_to IS NULL
    WHERE p.valid_to IS NULL
    GROUP BY p.id, p.code, p.geom
) parts
WHERE ST_GeometryType(part) = 'ST_Polygon' AND ST_Area(part::geography) > :tolerance
  AND NOT ST_IsEmpty(ST_Buffer(part::geography, -2.5)::geometry)
GROUP BY parent ORDER BY m2 DESC
""")

_OUTSIDE = text("""
SELECT child, parent, sum(ST_Area(part::geography)) AS m2 FROM (
    SELECT c.code AS child, p.code AS parent, (ST_Dump(ST_Difference(c.geom, p.geom))).geom AS part
    FROM areas c JOIN areas p ON c.parent_id = p.id
    WHERE c.level = :level AND c.valid_to IS NULL
) parts
WHERE ST_GeometryType(part) = 'ST_Polygon' AND ST_Area(part::geography) > :tolerance
  AND NOT ST_IsEmpty(ST_Buffer(part::geography, -2.5)::geometry)
GROUP BY child, parent
""")


def sibling_problems(session: Session, level: str, tolerance_m2: float) -> list[dict]:
    """Overlaps between siblings, gaps in their parent's cover, and parts outside the parent."""
    params = {"level": level, "tolerance": tolerance_m2}
    problems = [
        {"kind": "overlap", "areas": [r.a, r.b], "m2": round(r.m2, 1)}
        for r in session.execute(_OVERLAPS, params)
    ]
    problems += [{"kind": "gap", "areas": [r.parent], "m2": round(r.m2, 1)} for r in session.execute(_GAPS, params)]
    problems += [
        {"kind": "outside_parent", "areas": [r.child, r.parent], "m2": round(r.m2, 1)}
        for r in session.execute(_OUTSIDE, params)
    ]
    return problems


_AREA_OUTLINE = text("""
SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 6) AS outline,
       ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy
FROM areas WHERE id = :id
""")


def area_outline(session: Session, area_id: int, tolerance: float = 0.0001) -> tuple[str, tuple[float, ...]]:
    """An area's boundary as GeoJSON (simplified for display) and its bounds (minx, miny, maxx, maxy)."""
    row = session.execute(_AREA_OUTLINE, {"id": area_id, "tolerance": tolerance}).one()
    return row.outline, (row.minx, row.miny, row.maxx, row.maxy)


_AREAS_GEOJSON = text("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(json_build_object(
    'type', 'Feature', 'id', code,
    'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 6)::json,
    'properties', json_build_object('code', code, 'name', name, 'level', level)) ORDER BY code), '[]'))::text
FROM areas
WHERE level = :level AND valid_to IS NULL
  AND (CAST(:parent AS int) IS NULL OR parent_id = CAST(:parent AS int))
""")


def areas_geojson(session: Session, level: str, parent_id: int | None = None, tolerance: float = 0.0002) -> str:
    """Current areas of a level as a GeoJSON text written by PostGIS, simplified for display."""
    return session.execute(_AREAS_GEOJSON, {"level": level, "parent": parent_id, "tolerance": tolerance}).scalar()
