"""Exporting a layer (optionally only what meets a bbox or an area) as GeoJSON, GeoPackage, zipped Shapefile or CSV."""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
import shapely.errors
import shapely.geometry
from pyproj import CRS
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Conflict, Invalid
from layers.crs import parse_crs, province_crs
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


@dataclass
class Export:
    path: Path
    notes: list[str] = field(default_factory=list)  # what the format changed (field names, cut text, split types)


SHP_TEXT_BYTES = 254  # a DBF text field holds at most this many bytes
SHP_FAMILIES = {"Point": "points", "MultiPoint": "points", "LineString": "lines", "MultiLineString": "lines",
                "Polygon": "polygons", "MultiPolygon": "polygons"}

SHP_EMPTY_TYPES = {"points": "Point", "lines": "MultiLineString", "polygons": "MultiPolygon"}


def target_crs(crs: str | None = None, province: str | None = None) -> CRS | None:
    """The CRS to export in (None: WGS 84 as stored): an EPSG code, 'vn2000:<meridian>', or a province's VN-2000
    TM-3 zone, read exactly as the importer reads them."""
    if crs and province:
        raise Invalid("give either crs or province, not both", {"field": "crs"})
    if province:
        return province_crs(province)
    if crs:
        return parse_crs(crs)
    return None


def _write_shapefile(frame: gpd.GeoDataFrame, layer: Layer, directory: Path, target: Path) -> list[str]:
    """A zipped Shapefile; one .shp per geometry type when the layer mixes them. The notes say what the format
    could not keep: laundered field names (10 characters), text cut to 254 bytes, the split."""
    families = frame.geometry.geom_type.map(SHP_FAMILIES)
    others = sorted(set(frame.geometry.geom_type[families.isna() & frame.geometry.notna()]))
    if others:
        raise Conflict(f"a Shapefile cannot hold {', '.join(others)} features ({int(families.isna().sum())} in this "
                       "layer); export it as gpkg or geojson", {"field": "format", "geometry_types": others})
    notes = []
    for column in frame.columns:
        if column != frame.geometry.name and not pd.api.types.is_numeric_dtype(frame[column]):
            cut = int(frame[column].map(lambda v: isinstance(v, str) and len(v.encode()) > SHP_TEXT_BYTES).sum())
            if cut:
                notes.append(f"field {column!r}: {cut} value(s) cut to {SHP_TEXT_BYTES} bytes (Shapefile limit)")
    groups = sorted(set(families.dropna())) or [SHP_FAMILIES.get(layer.geometry_type, "polygons")]
    if len(groups) > 1:
        notes.append(f"the layer mixes geometry types: one Shapefile per type ({', '.join(groups)})")
    shp_dir = directory / "shp"
    shp_dir.mkdir()
    laundered = set()
    for group in groups:
        part = frame[families == group] if len(groups) > 1 else frame
        name = f"{layer.name}_{group}" if len(groups) > 1 else layer.name
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            pyogrio.write_dataframe(part, shp_dir / f"{name}.shp", driver="ESRI Shapefile", encoding="UTF-8",
                                    geometry_type=None if len(part) else SHP_EMPTY_TYPES[group])
        # GDAL's own account of renamed fields; it reports cut values once per layer only, hence the count above.
        laundered |= {str(w.message) for w in caught if "laundered field name" in str(w.message)}
    notes += sorted(laundered)
    if notes:
        (shp_dir / "NOTES.txt").write_text("\n".join(notes) + "\n", encoding="utf-8")
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(shp_dir.iterdir()):
            zf.write(part, part.name)
    return notes


def export_file(session: Session, layer: Layer, fmt: str, directory: Path, bbox: str | None = None,
                area: str | None = None, crs: str | None = None, province: str | None = None) -> Export:
    """Write the layer (features meeting the bbox and/or the area, if given) as *fmt* into *directory*,
    in WGS 84 or the CRS asked for."""
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}", {"field": "format"})
    to_crs = target_crs(crs, province)
    if to_crs is not None and fmt == "geojson":
        raise Invalid("GeoJSON is always WGS 84 (RFC 7946); export as gpkg, shp or csv in another CRS",
                      {"field": "crs"})
    frame = read_features(session, layer, parse_bbox(bbox), parse_area(area))
    if to_crs is not None:
        frame = frame.to_crs(to_crs)
    suffix = FORMATS[fmt][0]
    target = directory / f"{layer.name}{suffix}"
    notes = []
    if fmt == "geojson":
        # 17 decimals: the coordinates exactly as stored. GDAL's default (15) moved Natural Earth's Sudan enough to
        # make it self-intersect.
        pyogrio.write_dataframe(frame, target, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 17})
    elif fmt == "gpkg":
        # A mixed layer is a GEOMETRY layer in the GeoPackage; empty frames need the type said.
        geometry_type = None if len(frame) else ("Unknown" if layer.geometry_type == "Geometry"
                                                 else layer.geometry_type)
        pyogrio.write_dataframe(frame, target, driver="GPKG", layer=layer.name, geometry_type=geometry_type)
    elif fmt == "shp":
        notes = _write_shapefile(frame, layer, directory, target)
    else:
        table = spreadsheet_safe(frame.drop(columns=frame.geometry.name))
        # Full precision: shapely's default of 6 decimals can make a valid polygon invalid.
        table["wkt"] = frame.geometry.to_wkt(rounding_precision=-1)
        table.to_csv(target, index=False, encoding="utf-8-sig")  # the BOM lets Excel read Vietnamese
    return Export(target, notes)
