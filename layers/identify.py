"""Identify: for a point, the features of each visible layer that contain it or lie within a tolerance."""

from __future__ import annotations

import json
import math

from geoalchemy2 import Geography
from sqlalchemy import Text, cast, func, literal, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from layers.catalog import LayerFilter, data_table, get_layer, list_layers
from layers.features import properties_json
from layers.models import Layer

# /api/openapi.json documents this same number (layers/openapi.py): clients were told 1000 while 500 was
# enforced. The GiST box and PER_LAYER bound the work whatever the tolerance.
MAX_TOLERANCE_M = 1000.0
PER_LAYER = 20


def identify(session: Session, lon: float, lat: float, *, tolerance_m: float = 5.0, names: list[str] | None = None,
             include_internal: bool = False) -> list[dict]:
    """[{layer, title, features: [{id, distance_m, properties}]}] for layers with a hit, nearest first."""
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid("lon/lat out of range")
    if not (math.isfinite(tolerance_m) and 0 <= tolerance_m <= MAX_TOLERANCE_M):
        raise Invalid(f"tolerance_m must be between 0 and {MAX_TOLERANCE_M}", {"parameter": "tolerance_m"})
    if names:
        layers = [get_layer(session, n, include_internal=include_internal) for n in names]
    else:
        layers = list_layers(session, LayerFilter(include_internal=include_internal))
    point = func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326)
    # A degree box around the point lets the GiST index find candidates; geography gives true metres.
    margin = tolerance_m / 111_320.0 / max(math.cos(math.radians(lat)), 0.01)
    results = []
    for layer in layers:
        hits = _layer_hits(session, layer, point, margin, tolerance_m)
        if hits:
            # The catalog's aliases, formats and units, so that a client reads "Năm hoàn thành: 2027".
            attributes = [{"name": a["name"], "type": a["type"],
                           **{k: a[k] for k in ("alias", "format", "unit", "decimals") if k in a}}
                          for a in layer.attributes]
            results.append({"layer": layer.name, "title": layer.title, "category": layer.category,
                            "attributes": attributes, "features": hits})
    return results


def _layer_hits(session: Session, layer: Layer, point, margin: float, tolerance_m: float) -> list[dict]:
    table = data_table(layer)
    distance = func.ST_Distance(cast(table.c.geom, _geography()), cast(point, _geography()))
    rows = session.execute(
        select(table.c.fid, distance.label("d"), cast(properties_json(table), Text).label("p"))
        .where(table.c.geom.op("&&")(func.ST_Expand(point, margin)))
        .where(func.ST_DWithin(cast(table.c.geom, _geography()), cast(point, _geography()), literal(tolerance_m)))
        .order_by("d", table.c.fid)
        .limit(PER_LAYER)
    )
    return [{"id": r.fid, "distance_m": round(r.d, 2), "properties": json.loads(r.p)} for r in rows]


def _geography() -> Geography:
    return Geography()
