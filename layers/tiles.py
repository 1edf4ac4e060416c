"""Mapbox Vector Tiles of a layer, built by PostGIS (ST_AsMVT), simplified per zoom."""

from __future__ import annotations

import hashlib

from sqlalchemy import Integer, func, literal, literal_column, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers.catalog import data_table
from layers.models import Layer
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


def etag(layer: Layer, z: int, x: int, y: int) -> str:
    """Changes with the layer's data version and style-free content, so caches refresh on every replace."""
    key = f"{layer.id}:{layer.data_version}:{layer.data_table}:{z}/{x}/{y}"
    return hashlib.sha1(key.encode()).hexdigest()[:20]  # noqa: S324 - a cache key, not security


def tile(session: Session, layer: Layer, z: int, x: int, y: int) -> bytes:
    """The MVT bytes (empty when nothing is there); the layer in the tile is named after the layer."""
    check_tile(z, x, y)
    zoom = z
    table = data_table(layer)
    # z/x/y are checked integers, written into the SQL: with bound parameters psycopg's prepared statement
    # falls back to a generic plan that cannot see the tile's extent and reads the index in a worse way.
    z, x, y = (literal(int(v), Integer, literal_execute=True) for v in (z, x, y))
    envelope = func.ST_TileEnvelope(z, x, y)
    # Select in 4326 with the GiST index, then project; simplify to half a pixel at this zoom. Plain
    # ST_Simplify (keeping collapsed parts) costs next to nothing, where the topology-preserving variant doubled
    # the tile's time; ST_AsMVTGeom snaps to the tile grid and repairs polygons afterwards anyway.
    pixel = WORLD / (2 ** zoom) / EXTENT
    projected = table.c[MERCATOR_COLUMN]
    if layer.geometry_type not in ("Point", "MultiPoint"):
        projected = func.ST_Simplify(projected, literal(pixel / 2, literal_execute=True), True)
    margin = func.ST_TileEnvelope(z, x, y, literal_column("margin => 0.015625"))
    rows = (
        select(
            func.ST_AsMVTGeom(projected, envelope, EXTENT, BUFFER, True).label("geom"),
            table.c.fid.label("fid"),
            *[c.label(c.info["name"]) for c in attribute_columns(table)],
        )
        .where(table.c.geom.op("&&")(func.ST_Transform(margin, 4326)))
        .subquery("features")
    )
    # No "geom IS NOT NULL" filter: the planner would inline it and build every MVT geometry twice. ST_AsMVT
    # skips the features that ST_AsMVTGeom clipped away (NULL) by itself.
    mvt = select(func.ST_AsMVT(literal_column("features"), layer.name, EXTENT, "geom", "fid")).select_from(rows)
    data = session.execute(mvt).scalar()
    return bytes(data or b"")


def tilejson(layer: Layer, tiles_url: str) -> dict:
    extent = layer.extent or [-180.0, -85.0511, 180.0, 85.0511]
    return {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": extent,
        "center": [(extent[0] + extent[2]) / 2, (extent[1] + extent[3]) / 2, 14],
        "vector_layers": [{
            "id": layer.name,
            "fields": {a["name"]: "Number" if a["type"] in ("integer", "bigint", "double") else
                       "Boolean" if a["type"] == "boolean" else "String" for a in layer.attributes},
            "minzoom": 0,
            "maxzoom": MAX_ZOOM,
        }],
    }


def parse_zxy(z: str, x: str, y: str) -> tuple[int, int, int]:
    try:
        return int(z), int(x), int(y)
    except ValueError:
        raise Invalid("z/x/y must be integers") from None


