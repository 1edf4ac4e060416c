"""Exporting a layer (optionally only what meets a bbox or an area) as GeoJSON, GeoPackage, zipped Shapefile or CSV."""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import shapely.errors
import shapely.geometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from layers.models import Layer
from layers.storage import attribute_columns, data_table

FORMATS = {
    "geojson": (".geojson", "application/geo+json"),
    "gpkg": (".gpkg", "application/geopackage+sqlite3"),
    "shp": (".zip", "application/zip"),
    "csv": (".csv", "text/csv"),
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise Invalid("bbox is minx,miny,maxx,maxy in degrees", {"field": "bbox"}) from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise Invalid("bbox is minx,miny,maxx,maxy in degrees", {"field": "bbox"})
    minx, miny, maxx, maxy = values
    if not (-180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise Invalid("bbox must have minx < maxx and miny < maxy within -180..180 / -90..90", {"field": "bbox"})
    return minx, miny, maxx, maxy


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_area(text: str | None) -> bytes | None:
    """An area to export, as a GeoJSON Polygon/MultiPolygon (or a Feature/FeatureCollection of them) in WGS84."""
    if not text:
        return None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise Invalid("area must be GeoJSON", {"field": "area"}) from None
    if isinstance(value, dict) and value.get("type") == "FeatureCollection":
        value = {"type": "GeometryCollection",
                 "geometries": [f.get("geometry") for f in value.get("features") or [] if isinstance(f, dict)]}
    elif isinstance(value, dict) and value.get("type") == "Feature":
        value = value.get("geometry")
    try:
        area = shapely.geometry.shape(value)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, shapely.errors.ShapelyError):
        raise Invalid("area must be a GeoJSON Polygon or MultiPolygon", {"field": "area"}) from None
    polygons = [g for g in shapely.get_parts(area) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons or len(polygons) != len(shapely.get_parts(area)):
        raise Invalid("area must be a GeoJSON Polygon or MultiPolygon", {"field": "area"})
    area = shapely.make_valid(shapely.union_all(polygons))
    minx, miny, maxx, maxy = area.bounds
    if not (math.isfinite(minx + miny + maxx + maxy) and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("area coordinates must be longitudes/latitudes", {"field": "area"})
    return shapely.to_wkb(area)


def read_features(session: Session, layer: Layer, bbox=None, area: bytes | None = None) -> gpd.GeoDataFrame:
    """The layer's features with their original attribute names (bbox/area filtered in PostGIS)."""
    table = data_table(layer)
    columns = [table.c.fid, func.ST_AsBinary(table.c.geom).label("geom")]
    columns += [c.label(c.info["name"]) for c in attribute_columns(table)]
    query = select(*columns).order_by(table.c.fid)
    if bbox:
        query = query.where(func.ST_Intersects(table.c.geom, func.ST_MakeEnvelope(*bbox, 4326)))
    if area:
        query = query.where(func.ST_Intersects(table.c.geom, func.ST_GeomFromWKB(area, 4326)))
    rows = session.execute(query).all()
    names = ["fid", "geom"] + [c.info["name"] for c in attribute_columns(table)]
    frame = pd.DataFrame(rows, columns=names)
    geometry = gpd.GeoSeries.from_wkb(frame.pop("geom").map(bytes), crs=4326)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)


def _defuse(value):
    """Spreadsheets run cells starting with = + - @ as formulas; quote them."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_safe(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of *table* whose text cells cannot run as formulas when a CSV is opened in a spreadsheet."""
    table = pd.DataFrame(table).copy()
    for column in table.columns:
        if not pd.api.types.is_numeric_dtype(table[column]):
            table[column] = table[column].map(_defuse)
    return table


def export_file(session: Session, layer: Layer, fmt: str, directory: Path, bbox: str | None = None,
                area: str | None = None) -> Path:
    """Write the layer (features meeting the bbox and/or the area, if given) as *fmt* into *directory*."""
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}", {"field": "format"})
    frame = read_features(session, layer, parse_bbox(bbox), parse_area(area))
    suffix = FORMATS[fmt][0]
    target = directory / f"{layer.name}{suffix}"
    if fmt == "geojson":
        pyogrio.write_dataframe(frame, target, driver="GeoJSON")
    elif fmt == "gpkg":
        pyogrio.write_dataframe(frame, target, driver="GPKG", layer=layer.name)
    elif fmt == "shp":
        shp_dir = directory / "shp"
        shp_dir.mkdir()
        pyogrio.write_dataframe(frame, shp_dir / f"{layer.name}.shp", driver="ESRI Shapefile", encoding="UTF-8")
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for part in sorted(shp_dir.iterdir()):
                zf.write(part, part.name)
    else:
        table = spreadsheet_safe(frame.drop(columns=frame.geometry.name))
        table["wkt"] = frame.geometry.to_wkt()
        table.to_csv(target, index=False, encoding="utf-8-sig")  # the BOM lets Excel read Vietnamese
    return target
