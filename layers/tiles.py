"""Mapbox Vector Tiles of a layer, built by PostGIS (ST_AsMVT), simplified per zoom."""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

from sqlalchemy import Float, Integer, Table, bindparam, case, func, literal, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers import sqltext
from layers.catalog import data_table
from layers.history import DataAt
from layers.models import Layer
from layers.served import Served, still_valid
from layers.storage import MERCATOR_COLUMN, attribute_columns

MAX_ZOOM = 22
EXTENT = 4096
BUFFER = 64
WORLD = 40075016.68557849  # metres across the Web Mercator square


def check_tile(z: int, x: int, y: int) -> None:
    if not 0 <= z <= MAX_ZOOM:
        raise NotFound(f"zoom {z} is outside 0..{MAX_ZOOM}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFound(f"tile {z}/{x}/{y} does not exist")


def etag(layer: Layer, z: int, x: int, y: int, past: str | None = None) -> str:
    """A tile of now changes with the layer's data version (moved on by every replace and every single-feature
    edit), so caches refresh at once. A tile of an instant (*past*: history.state_key of the layer then) depends
    only on the data of that instant: later edits leave it, and its caches, alone."""
    state = f"{layer.data_version}:{layer.data_table}" if past is None else f"at:{past}"
    key = f"{layer.id}:{state}:{z}/{x}/{y}"
    return hashlib.sha1(key.encode()).hexdigest()[:20]  # noqa: S324 - a cache key, not security


def tile(conn: Connection, layer: Layer | Served, z: int, x: int, y: int, at: DataAt | None = None, *,
         check: dict | None = None) -> bytes | None:
    """The MVT bytes (empty when nothing is there); the layer in the tile is named after the layer. With *at*, the
    features as they were at that instant. With *check* (Served.check_params) the same statement checks the
    process's catalog entry first, and reads nothing when it is stale: None then."""
    check_tile(z, x, y)
    table = data_table(layer) if at is None else at.rows
    if table is None:
        return b""  # the layer did not exist yet
    geometry_type = layer.geometry_type if at is None else at.geometry_type
    sql, constants = tile_sql(table, geometry_type, layer.name, z, checked=check is not None, past=at is not None)
    # The tile's column and row (checked integers) are written into the SQL: with bound parameters psycopg's
    # prepared statement falls back to a generic plan that cannot see the tile's extent and reads the index in a
    # worse way.
    sql = sql.replace("%(tile_x)s", str(int(x))).replace("%(tile_y)s", str(int(y)))
    row = conn.exec_driver_sql(sql, {**constants, **(check or {})}).one()
    if check is None:
        return bytes(row[0] or b"")
    ok, data = row
    return bytes(data or b"") if ok else None


def tile_sql(table: Table, geometry_type: str, name: str, z: int, *, checked: bool,
             past: bool = False) -> tuple[str, dict]:
    """The SQL text of the tiles of a table at zoom *z* (compiled once: sqltext), with %(tile_x)s and %(tile_y)s
    where the tile's column and row go; checked: whether the entry holds, then the bytes. *past*: the table is the
    rows of an instant (history.DataAt.rows)."""
    return sqltext.compiled(_tile_statement(table, geometry_type, name, z, checked, past))


@functools.lru_cache(maxsize=1024)
def _tile_statement(table: Table, geometry_type: str, name: str, zoom: int, checked: bool, past: bool):
    z, x, y = literal(zoom, Integer), bindparam("tile_x", type_=Integer), bindparam("tile_y", type_=Integer)
    envelope = func.ST_TileEnvelope(z, x, y)
    # Select in 4326 with the GiST index, then project; simplify to half a pixel at this zoom. Plain
    # ST_Simplify (keeping collapsed parts) costs next to nothing, where the topology-preserving variant doubled
    # the tile's time; ST_AsMVTGeom snaps to the tile grid and repairs polygons afterwards anyway.
    pixel = WORLD / (2 ** zoom) / EXTENT
    projected = table.c[MERCATOR_COLUMN]
    if geometry_type not in ("Point", "MultiPoint"):
        projected = func.ST_Simplify(projected, literal(pixel / 2, Float(53)), True)
    margin = func.ST_TileEnvelope(z, x, y, literal_column("margin => 0.015625"))
    rows = (
        select(
            func.ST_AsMVTGeom(projected, envelope, EXTENT, BUFFER, True).label("geom"),
            table.c.fid.label("fid"),
            *[c.label(c.info["name"]) for c in attribute_columns(table)],
        )
        .where(table.c.geom.op("&&")(func.ST_Transform(margin, 4326)))
    )
    if past:
        # The past is read from two tables (rows still current, states since replaced) whose share of a tile moves
        # with every later edit; in fid order the bytes stay those the tile's ETag (the state's key) promises.
        rows = rows.order_by(table.c.fid)
    rows = rows.subquery("features")
    # No "geom IS NOT NULL" filter: the planner would inline it and build every MVT geometry twice. ST_AsMVT
    # skips the features that ST_AsMVTGeom clipped away (NULL) by itself.
    mvt = select(func.ST_AsMVT(literal_column("features"), name, EXTENT, "geom", "fid")).select_from(rows)
    if not checked:
        return mvt
    # Materialised, so that the check runs once and gates the tile: a stale entry reads no data.
    valid = select(still_valid().label("ok")).cte("valid").prefix_with("MATERIALIZED")
    return select(valid.c.ok, case((valid.c.ok, mvt.scalar_subquery()))).select_from(valid)


@dataclass(frozen=True)
class TileView:
    """Where a layer's tiles are worth looking at, from its data: the centre (a point on the data), the zoom that
    shows it all, and the zoom range clients should ask for."""

    center: tuple[float, float]
    center_zoom: int
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]


VIEW_PIXELS = 512  # the centre zoom fits the data's extent into a view this wide
TILE_FEATURES = 2000  # the zoom range ends where an average tile of the data holds no more features than this
SAMPLE_FEATURES = 1000


def _mercator_size(bounds) -> tuple[float, float]:
    minx, miny, maxx, maxy = bounds
    lat = [max(min(v, 85.0511), -85.0511) for v in (miny, maxy)]

    def y(v):
        return WORLD / (2 * math.pi) * math.log(math.tan(math.pi / 4 + math.radians(v) / 2))

    return max((maxx - minx) / 360 * WORLD, 0.01), max(y(lat[1]) - y(lat[0]), 0.01)


def _zoom_for(metres_per_tile: float) -> float:
    return math.log2(WORLD / max(metres_per_tile, 1e-6))


# (data table, catalog row's last change, count) -> view: a data table never changes once loaded, and the
# change time tells a table from an earlier one of the same name (a database restored or recreated).
_VIEWS: dict[tuple, TileView] = {}


def tile_view(session: Session, layer: Layer) -> TileView:
    """The layer's view from its data (a few index lookups and a sample of up to SAMPLE_FEATURES features),
    computed once per data version."""
    key = (layer.data_table, str(layer.updated_at), layer.feature_count)
    cached = _VIEWS.get(key)
    if cached is not None:
        return cached
    bounds = tuple(layer.extent or (-180.0, -85.0511, 180.0, 85.0511))
    count, geometry_type = layer.feature_count, layer.geometry_type
    table = data_table(layer)
    width, height = _mercator_size(bounds)
    # The whole extent in a VIEW_PIXELS-wide view (tiles are 256 px).
    fit = int(math.floor(_zoom_for(max(width, height) * 256 / VIEW_PIXELS)))
    fit = max(0, min(fit, MAX_ZOOM))
    # Density: enough zoom that an average tile over the extent holds at most TILE_FEATURES features.
    dense = math.ceil(_zoom_for(math.sqrt(width * height * TILE_FEATURES / max(count, 1))))
    # Detail: a tile's grid (1/EXTENT of it) as fine as a tenth of the data's typical segment; points have none.
    detail = 0
    if geometry_type not in ("Point", "MultiPoint"):
        projected = table.c[MERCATOR_COLUMN]
        # Evenly spread fids (they are the row numbers 1..n), each found through the primary key.
        spread = select(func.generate_series(1, count, max(count // SAMPLE_FEATURES, 1))).scalar_subquery()
        sample = select(projected.label("g")).where(table.c.fid.in_(spread)).subquery()
        length = func.coalesce(func.nullif(func.ST_Perimeter(sample.c.g), 0), func.ST_Length(sample.c.g))
        segment = session.execute(select(func.percentile_cont(0.5).within_group(
            length / func.greatest(func.ST_NPoints(sample.c.g) - 1, 1)))).scalar()
        if segment:
            detail = math.ceil(_zoom_for(EXTENT * segment / 10))
    maxzoom = max(fit, min(MAX_ZOOM, max(dense, detail)))
    minzoom = max(0, fit - 5)  # below this the whole layer is smaller than ~16 pixels
    # The centre: the middle of the extent when data is there, else the nearest feature's point on surface
    # (Vietnam's extent is centred in Laos).
    cx, cy = (bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2
    middle = func.ST_SetSRID(func.ST_MakePoint(cx, cy), 4326)
    nearest = select(table.c.geom).order_by(table.c.geom.op("<->")(middle)).limit(1).scalar_subquery()
    point = select(case((func.ST_Intersects(nearest, middle), middle),
                        else_=func.ST_PointOnSurface(nearest)).label("p")).subquery()
    x, y = session.execute(select(func.ST_X(point.c.p), func.ST_Y(point.c.p))).one()
    center = (cx, cy) if x is None else (float(x), float(y))
    view = TileView(center=center, center_zoom=fit, minzoom=minzoom, maxzoom=maxzoom,
                    bounds=(bounds[0], bounds[1], bounds[2], bounds[3]))
    if len(_VIEWS) > 1024:
        _VIEWS.clear()
    _VIEWS[key] = view
    return view


def vector_fields(layer: Layer) -> dict:
    return {a["name"]: "Number" if a["type"] in ("integer", "bigint", "double") else
            "Boolean" if a["type"] == "boolean" else "String" for a in layer.attributes}


def tilejson(layer: Layer, view: TileView, tiles_url: str) -> dict:
    """TileJSON 3.0.0 of the layer's tiles at *tiles_url* (a {z}/{x}/{y} or {z}/{y}/{x} template)."""
    return {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "tiles": [tiles_url],
        "minzoom": view.minzoom,
        "maxzoom": view.maxzoom,
        "bounds": list(view.bounds),
        "center": [view.center[0], view.center[1], view.center_zoom],
        "vector_layers": [{
            "id": layer.name,
            "fields": vector_fields(layer),
            "minzoom": view.minzoom,
            "maxzoom": view.maxzoom,
        }],
    }


def parse_zxy(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        return int(z), int(x), int(y)
    except ValueError:
        raise Invalid("z/x/y must be integers") from None


