"""Address search over a gazetteer built from any point/line/polygon layer: with or without diacritics.

The gazetteer is a table of (label, normalised text, point) rebuilt from a layer's attributes, searched
with pg_trgm on the unaccented text and reverse-geocoded by nearest neighbour on a GiST index.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, func, literal, select, text
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from layers.catalog import data_table, get_layer
from reports.areas.models import GazetteerEntry

MIN_SIMILARITY = 0.3
REVERSE_METRES = 150.0


@dataclass(frozen=True)
class Place:
    label: str
    lon: float
    lat: float
    score: float  # similarity for a search, metres for a reverse lookup
    kind: str = "address"  # or "area": a ward, commune or residential group
    bbox: tuple[float, float, float, float] | None = None  # an area's extent, to fit the map to


def build_gazetteer(session: Session, layer_name: str, fields: list[str]) -> int:
    """Replace the gazetteer with one entry per feature of *layer_name*, labelled by *fields* joined."""
    layer = get_layer(session, layer_name, include_internal=True)
    by_name = {a["name"]: a["column"] for a in layer.attributes}
    unknown = [f for f in fields if f not in by_name]
    if not fields or unknown:
        raise Invalid(f"unknown field(s): {', '.join(unknown) or '(none given)'}", {"fields": sorted(by_name)})
    table = data_table(layer)
    parts = [func.nullif(func.trim(func.cast(table.c[by_name[f]], Text)), "") for f in fields]
    label = func.concat_ws(", ", *parts)
    session.execute(GazetteerEntry.__table__.delete())
    source = select(
        literal(layer.id), label, func.lower(func.unaccent(label)), func.ST_PointOnSurface(table.c.geom)
    ).where(label != "")
    session.execute(GazetteerEntry.__table__.insert().from_select(["layer_id", "label", "search_text", "geom"], source))
    session.execute(text("ANALYZE gazetteer"))
    return session.scalar(select(func.count()).select_from(GazetteerEntry))


# The gazetteer repeats a layer's text, so it is as visible as that layer: an internal source layer is
# searched only for staff (and never fills in the public address of a report).
_SEARCH = text("""
SELECT g.label, ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat, word_similarity(q.t, g.search_text) AS score
FROM gazetteer g JOIN layers l ON l.id = g.layer_id, (SELECT lower(unaccent(:q)) AS t) q
WHERE q.t <% g.search_text AND (:internal OR l.visibility = 'public')
ORDER BY score DESC, length(g.label), g.id
LIMIT :limit
""")


def search(session: Session, query: str, limit: int = 10, *, include_internal: bool = False) -> list[Place]:
    """Places whose label matches *query*, accents optional ('tran hung dao' finds 'Trần Hưng Đạo')."""
    query = (query or "").strip()
    if len(query) < 2 or len(query) > 200:
        raise Invalid("search for 2 to 200 characters", {"field": "q"})
    if not 1 <= limit <= 50:
        raise Invalid("limit must be 1 to 50", {"field": "limit"})
    session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                    {"t": str(MIN_SIMILARITY)})
    rows = session.execute(_SEARCH, {"q": query, "limit": limit, "internal": include_internal})
    return [Place(r.label, r.lon, r.lat, round(r.score, 3)) for r in rows]


_AREA_SEARCH = text("""
SELECT name AS label, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat,
       ST_XMin(geom) AS minx, ST_YMin(geom) AS miny, ST_XMax(geom) AS maxx, ST_YMax(geom) AS maxy,
       word_similarity(q.t, lower(unaccent(name))) AS score
FROM areas, (SELECT lower(unaccent(:q)) AS t) q
WHERE valid_to IS NULL AND level <> 'city' AND q.t <% lower(unaccent(name))
ORDER BY score DESC, level DESC, name
LIMIT :limit
""")


def search_areas(session: Session, query: str, limit: int = 3) -> list[Place]:
    """Current wards, communes and residential groups whose name matches *query*, accents optional."""
    query = (query or "").strip()
    if len(query) < 2 or len(query) > 200:
        raise Invalid("search for 2 to 200 characters", {"field": "q"})
    session.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"),
                    {"t": str(MIN_SIMILARITY)})
    return [Place(r.label, r.lon, r.lat, round(r.score, 3), "area", (r.minx, r.miny, r.maxx, r.maxy))
            for r in session.execute(_AREA_SEARCH, {"q": query, "limit": limit})]


# The nearest address to `point.geom` in the published layers (and internal ones when :internal): a subquery for a
# FROM list that holds `point(geom)` (intake asks it in the statement that files a report without an address).
NEAREST_ADDRESS = """
SELECT g.label, ST_X(g.geom) AS lon, ST_Y(g.geom) AS lat,
       ST_Distance(g.geom::geography, point.geom::geography) AS metres
FROM gazetteer g JOIN layers l ON l.id = g.layer_id
WHERE :internal OR l.visibility = 'public'
ORDER BY g.geom <-> point.geom
LIMIT 1
"""
_REVERSE = text(f"""
SELECT place.* FROM (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS geom) AS point,
     LATERAL ({NEAREST_ADDRESS}) AS place
""")  # noqa: S608 - a constant SQL fragment of this module, no input


def reverse(session: Session, lon: float, lat: float, max_metres: float = REVERSE_METRES, *,
            include_internal: bool = False) -> Place | None:
    """The nearest address to a point, if one is within *max_metres*."""
    row = session.execute(_REVERSE, {"lon": lon, "lat": lat, "internal": include_internal}).first()
    if row is None or row.metres > max_metres:
        return None
    return Place(row.label, row.lon, row.lat, round(row.metres, 1))
