"""Reading any planning file into a clean GeoDataFrame in EPSG:4326, counting what was repaired or dropped."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyogrio
import pyogrio.raw
import shapely
import shapely.errors
from pyogrio.errors import DataLayerError, DataSourceError

from gisserver.core.exceptions import Invalid, UnsupportedMedia
from layers.archives import ArchiveLimits, safe_extract
from layers.crs import resolve_source_crs

SUFFIXES = {
    ".geojson": "geojson", ".json": "geojson", ".zip": "zip", ".shp": "shapefile", ".gpkg": "gpkg",
    ".kml": "kml", ".kmz": "kmz", ".csv": "csv",
}
LON_NAMES = ("lon", "lng", "long", "longitude", "kinh_do", "kinhdo", "kinh do", "kinh độ", "x_wgs84")
LAT_NAMES = ("lat", "latitude", "vi_do", "vido", "vi do", "vĩ độ", "y_wgs84")
X_NAMES = ("x", "easting", "toa_do_x")
Y_NAMES = ("y", "northing", "toa_do_y")
WKT_NAMES = ("wkt", "geom", "geometry", "the_geom", "hinh_hoc")
MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}
FAMILY = {"Point": "Point", "MultiPoint": "Point", "LineString": "LineString", "MultiLineString": "LineString",
          "Polygon": "Polygon", "MultiPolygon": "Polygon"}


@dataclass
class ReadCounts:
    read: int = 0
    stored: int = 0
    repaired: int = 0
    dropped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"read": self.read, "stored": self.stored, "repaired": self.repaired, "dropped": self.dropped,
                "dropped_reasons": self.reasons}


@dataclass
class ReadResult:
    frame: gpd.GeoDataFrame  # EPSG:4326, original attribute names
    source_crs: str
    geometry_type: str
    counts: ReadCounts
    source_layer: str | None = None


def file_kind(path: Path) -> str:
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedMedia(
            f"unsupported file type {path.suffix or '(none)'}; "
            "use GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ or CSV"
        )
    return kind


def _refuse_dtd(path: Path) -> None:
    head = path.read_bytes()[:1_000_000]
    if re.search(rb"<!(DOCTYPE|ENTITY)", head, re.IGNORECASE):
        # External entities can read server files or explode in memory (billion laughs).
        raise Invalid("KML with a DOCTYPE or ENTITY declaration is refused", {"reason": "dtd"})


def _open_archive(path: Path, workdir: Path, limits: ArchiveLimits) -> Path:
    files = safe_extract(path, workdir, limits)
    for wanted in (".shp", ".gpkg", ".geojson", ".json", ".kml", ".csv"):
        found = [f for f in files if f.suffix.lower() == wanted and not f.name.startswith("._")]
        if len(found) > 1 and wanted == ".shp":
            names = sorted(f.name for f in found)
            raise Invalid("the archive holds several Shapefiles; upload one per archive", {"files": names})
        if found:
            return found[0]
    raise Invalid("the archive holds no Shapefile (.shp with .dbf/.shx), GeoPackage, GeoJSON, KML or CSV")


# The binary formats large layers come in; GeoJSON and KML, which can spell NaN, go the plain way.
ARROW_KINDS = ("gpkg", "shapefile")


def _read_ogr(path: Path, layer: str | None, kind: str) -> tuple[gpd.GeoDataFrame, str | None, Counter]:
    """The layer's features, its name, and why the geometries GEOS could not build were unreadable."""
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, DataLayerError) as exc:
        raise Invalid(f"cannot read the file: {exc}") from None
    if kind == "kml" and not layer and len(layers) > 1:
        # KML folders become layers; a planner means the whole document.
        read = [_read_layer(path, name) for name in layers]
        frames = [f for f, _ in read if len(f)]
        unbuildable = sum((u for _, u in read), Counter())
        if not frames:
            return gpd.GeoDataFrame(geometry=[], crs=4326), None, unbuildable
        return gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=frames[0].crs), None, unbuildable
    if layer is not None and layer not in layers:
        raise Invalid(f"no layer {layer!r} in the file", {"layers": layers})
    if layer is None and len(layers) > 1:
        raise Invalid("the file holds several layers; pick one by name", {"layers": layers})
    name = layer or (layers[0] if layers else None)
    frame, unbuildable = _read_layer(path, name, arrow=kind in ARROW_KINDS)
    return frame, name, unbuildable


# Fields GDAL's KML reader adds to every placemark; dropped when they carry nothing.
KML_STANDARD_FIELDS = ("Name", "description", "timestamp", "begin", "end", "altitudeMode", "tessellate", "extrude",
                       "visibility", "drawOrder", "icon")


def _drop_kml_boilerplate(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    empty = [c for c in KML_STANDARD_FIELDS if c in frame.columns and frame[c].nunique(dropna=True) <= 1
             and (frame[c].isna().all() or c not in ("Name", "description"))]
    return frame.drop(columns=empty)


def _read_layer(path: Path, name: str | None, arrow: bool = False) -> tuple[gpd.GeoDataFrame, Counter]:
    """One layer of an OGR source; *arrow* reads whole columns at once (half the time of a large file), but
    turns a point with a NaN coordinate into an empty one, so it is kept for formats that cannot hold NaN text."""
    kwargs = {}
    has_cpg = path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()
    if path.suffix.lower() == ".shp" and not has_cpg:
        kwargs["encoding"] = "UTF-8"  # without a .cpg GDAL would assume Latin-1 and garble Vietnamese
    try:
        # A geometry GEOS cannot even build (a ring of two points, an unclosed ring) comes back as None,
        # to be dropped with its reason instead of failing the whole file.
        frame = pyogrio.read_dataframe(path, layer=name, on_invalid="ignore", use_arrow=arrow, **kwargs)
        unbuildable = Counter()
        if len(frame) and frame.geometry.isna().any():
            unbuildable = _unbuildable_reasons(path, name, kwargs)
    except (DataSourceError, DataLayerError, ValueError) as exc:
        raise Invalid(f"cannot read the file: {exc}") from None
    return frame, unbuildable


# GEOS's complaint about a geometry it cannot build -> the reason the planner reads.
UNBUILDABLE = (
    (re.compile(r"LinearRing.*(number of points|must be)", re.IGNORECASE), "ring with fewer than 4 points"),
    (re.compile(r"closed linestring", re.IGNORECASE), "ring that is not closed"),
    (re.compile(r"(LineString|number of points)", re.IGNORECASE), "line with fewer than 2 points"),
)


def _unbuildable_reasons(path: Path, name: str | None, kwargs: dict) -> Counter:
    """Why the file's geometries that GEOS could not build were refused (a second read of the geometries alone,
    only for a file that has any): a missing geometry is 'no geometry', a broken one says what is broken."""
    _, _, wkb, _ = pyogrio.raw.read(path, layer=name, columns=[], **kwargs)
    reasons: Counter = Counter()
    for value in wkb:
        if value is None:
            continue
        try:
            shapely.from_wkb(value)
        except shapely.errors.GEOSException as exc:
            reason = next((text for pattern, text in UNBUILDABLE if pattern.search(str(exc))),
                          f"geometry that cannot be built ({str(exc).splitlines()[0][:120]})")
            reasons[reason] += 1
    return reasons


def _find(columns, names) -> str | None:
    lowered = {str(c).strip().lower(): c for c in columns}
    return next((lowered[n] for n in names if n in lowered), None)


def _read_csv(path: Path, crs: str | None, province: str | None) -> tuple[gpd.GeoDataFrame, Counter]:
    try:
        df = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise Invalid(f"cannot read the CSV (UTF-8 expected): {exc}") from None
    dropped: Counter = Counter()
    lon, lat = _find(df.columns, LON_NAMES), _find(df.columns, LAT_NAMES)
    x, y = _find(df.columns, X_NAMES), _find(df.columns, Y_NAMES)
    wkt = _find(df.columns, WKT_NAMES)
    if lon and lat:
        xs, ys, file_crs, used = df[lon], df[lat], "EPSG:4326", [lon, lat]
    elif x and y:
        xs, ys, file_crs, used = df[x], df[y], None, [x, y]  # projected metres: the user must say which CRS
    elif wkt:
        geoms = shapely.from_wkt(df[wkt].replace("", None), on_invalid="ignore")
        frame = gpd.GeoDataFrame(df.drop(columns=[wkt]), geometry=geoms, crs=None)
        return frame, dropped
    else:
        raise Invalid("the CSV needs longitude/latitude columns (lon, lat, kinh_do, vi_do...) or a WKT column",
                      {"columns": list(df.columns)})
    xv = pd.to_numeric(xs.str.replace(",", ".", regex=False), errors="coerce").to_numpy()
    yv = pd.to_numeric(ys.str.replace(",", ".", regex=False), errors="coerce").to_numpy()
    bad = ~(np.isfinite(xv) & np.isfinite(yv))
    geoms = shapely.points(np.where(bad, np.nan, xv), np.where(bad, np.nan, yv))
    geoms[bad] = None
    frame = gpd.GeoDataFrame(df.drop(columns=used), geometry=geoms, crs=file_crs)
    if file_crs and (crs or province):
        frame = frame.set_crs(None, allow_override=True)
    return frame, dropped


# Longitudes/latitudes this little beyond the range are rounding (Natural Earth's Russia ends at
# 180.00000000000006): put on the edge, not dropped.
RANGE_TOLERANCE = 1e-9
DIMENSION_LOST = {"Point": "point that is not valid", "LineString": "line of zero length",
                  "Polygon": "polygon with no area (its rings collapse to lines or points)"}


def _in_range(bounds: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (np.isfinite(bounds).all(axis=1)
                & (bounds[:, 0] >= -180 - tolerance) & (bounds[:, 2] <= 180 + tolerance)
                & (bounds[:, 1] >= -90 - tolerance) & (bounds[:, 3] <= 90 + tolerance))


def _clamp(coords: np.ndarray) -> np.ndarray:
    coords = coords.copy()
    coords[:, 0] = np.clip(coords[:, 0], -180.0, 180.0)
    coords[:, 1] = np.clip(coords[:, 1], -90.0, 90.0)
    return coords


def _same_dimension(original, repaired):
    """The part of a repaired geometry of the original's dimension (make_valid can turn a polygon whose rings
    collapse into lines, which a polygon layer cannot hold); None when nothing of that dimension is left."""
    family = FAMILY.get(original.geom_type)
    if family is None:  # a GeometryCollection in a mixed layer: any repair will do
        return None if repaired.is_empty else repaired
    parts = [p for p in shapely.get_parts(repaired) if FAMILY.get(p.geom_type) == family]
    if not parts:
        return None
    merged = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return None if merged.is_empty else merged


def _clean(frame: gpd.GeoDataFrame, counts: ReadCounts, unbuildable: Counter | None = None
           ) -> tuple[gpd.GeoDataFrame, str]:
    reasons: Counter = Counter()
    geoms = frame.geometry.to_numpy()
    missing = shapely.is_missing(geoms)
    unbuildable = unbuildable or Counter()
    reasons.update(unbuildable)
    reasons["no geometry"] += int(missing.sum()) - sum(unbuildable.values())
    empty = ~missing & shapely.is_empty(geoms)
    reasons["empty geometry"] += int(empty.sum())
    keep = ~(missing | empty)
    # Reprojected coordinates must be real longitudes/latitudes.
    bounds = shapely.bounds(geoms)
    out_of_range = keep & ~_in_range(bounds, RANGE_TOLERANCE)
    reasons["coordinates out of range"] += int(out_of_range.sum())
    keep &= ~out_of_range
    on_edge = keep & ~_in_range(bounds)
    if on_edge.any():
        geoms[on_edge] = shapely.transform(geoms[on_edge], _clamp, include_z=None)
    invalid = keep & ~shapely.is_valid(geoms)
    if invalid.any():
        repaired = shapely.make_valid(geoms[invalid])
        for i, geom in zip(np.flatnonzero(invalid), repaired, strict=True):
            kept = _same_dimension(geoms[i], geom)
            if kept is None:
                keep[i] = False
                reasons[DIMENSION_LOST.get(FAMILY.get(geoms[i].geom_type), "not repairable")] += 1
            else:
                geoms[i] = kept
                counts.repaired += 1
    frame = frame[keep].copy()
    geoms = geoms[keep]
    types = set(shapely.get_type_id(geoms).tolist()) if len(geoms) else set()
    type_names = {_geom_name(shapely.GeometryType(t).name) for t in types}
    families = {FAMILY.get(t) for t in type_names}
    if len(type_names) == 1:
        geometry_type = type_names.pop()
    elif len(families) == 1 and None not in families:
        family = families.pop()
        geometry_type = MULTI[family]
        singles = shapely.get_type_id(geoms) == {"Point": 0, "LineString": 1, "Polygon": 3}[family]
        promoted = {"Point": shapely.multipoints, "LineString": shapely.multilinestrings,
                    "Polygon": shapely.multipolygons}[family]
        geoms[singles] = [promoted([g]) for g in geoms[singles]]
    else:
        geometry_type = "Geometry"  # mixed points, lines and polygons, or an empty layer
    frame = frame.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=4326))
    counts.reasons = {k: v for k, v in reasons.items() if v}
    counts.dropped = sum(counts.reasons.values())
    counts.stored = len(frame)
    return frame, geometry_type


def _geom_name(name: str) -> str:
    return {"POINT": "Point", "LINESTRING": "LineString", "POLYGON": "Polygon", "MULTIPOINT": "MultiPoint",
            "MULTILINESTRING": "MultiLineString", "MULTIPOLYGON": "MultiPolygon", "LINEARRING": "LineString",
            "GEOMETRYCOLLECTION": "GeometryCollection"}.get(name.upper(), name)


def read_vector_file(path: Path, *, layer: str | None = None, crs: str | None = None, province: str | None = None,
                     limits: ArchiveLimits = ArchiveLimits()) -> ReadResult:  # noqa: B008
    """Read any supported file, reproject to EPSG:4326 and clean the geometries."""
    path = Path(path)
    kind = file_kind(path)
    with tempfile.TemporaryDirectory(prefix="gisserver-read-") as tmp:
        source = path
        if kind in ("zip", "kmz"):
            source = _open_archive(path, Path(tmp), limits)
            kind = file_kind(source) if source.suffix.lower() != ".shp" else "shapefile"
        if kind == "kml":
            _refuse_dtd(source)
        if kind == "csv":
            frame, _ = _read_csv(source, crs, province)
            source_layer, unbuildable = None, Counter()
        else:
            frame, source_layer, unbuildable = _read_ogr(source, layer, kind)
            if kind == "kml":
                frame = _drop_kml_boilerplate(frame)
        counts = ReadCounts(read=len(frame))
        source_crs, description = resolve_source_crs(frame.crs, crs=crs, province=province)
        if len(frame):
            frame = frame.set_crs(source_crs, allow_override=True).to_crs(4326)
        else:
            frame = frame.set_crs(4326, allow_override=True)
        frame, geometry_type = _clean(frame, counts, unbuildable)
    return ReadResult(frame=frame, source_crs=description, geometry_type=geometry_type, counts=counts,
                      source_layer=source_layer)


# -- files stored as read ---------------------------------------------------------------------------------------

# WKB geometry type codes of 2D geometries -> our names; Z/M types, collections and curves take the full path.
WKB_TYPES = {1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon"}


@dataclass
class PlainRead:
    """A file whose features can be stored as read: its WKB (EPSG:4326) and attribute columns as Arrow arrays."""

    wkb: pa.Array
    columns: dict[str, pa.Array]  # original attribute name -> values, in the file's order
    attributes: list[dict]  # catalog entries, as storage.infer_attributes gives them for the same file
    geometry_type: str
    source_crs: str
    source_layer: str


def read_plain(path: Path, *, layer: str | None = None, crs: str | None = None,
               province: str | None = None) -> PlainRead | None:
    """A GeoPackage or Shapefile in EPSG:4326 read as Arrow columns, when nothing in it calls for read_vector_file's
    work: every geometry present and of one 2D type, attributes of types Arrow and PostgreSQL share. None
    otherwise (also for anything read_vector_file would refuse: it says why). Whether the geometries are valid,
    in range and not empty is checked as they are stored (storage.load_columns with as_read)."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ARROW_KINDS or crs or province:
        return None
    kwargs = {}
    if kind == "shapefile" and not (path.with_suffix(".cpg").exists() or path.with_suffix(".CPG").exists()):
        kwargs["encoding"] = "UTF-8"
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
        if (layer is not None and layer not in layers) or (layer is None and len(layers) != 1):
            return None
        name = layer or layers[0]
        meta, table = pyogrio.read_arrow(path, layer=name, **kwargs)
    except (DataSourceError, DataLayerError, ValueError):
        return None
    geometry_name = meta.get("geometry_name") or "wkb_geometry"
    if not meta.get("crs") or geometry_name not in table.column_names or table.num_rows == 0:
        return None
    try:
        source, description = resolve_source_crs(meta["crs"])
    except Invalid:
        return None
    if source.to_epsg() != 4326:
        return None
    wkb = table.column(geometry_name).combine_chunks()
    geometry_type = _one_wkb_type(wkb)
    if geometry_type is None:
        return None
    columns = {str(c): table.column(c).combine_chunks() for c in table.column_names if c != geometry_name}
    attributes = []
    for i, (column_name, values) in enumerate(columns.items()):
        kind = _plain_kind(values)
        if kind is None:
            return None
        attributes.append({"name": column_name, "column": f"a{i}", "type": kind})
    return PlainRead(wkb=wkb, columns=columns, attributes=attributes, geometry_type=geometry_type,
                     source_crs=description, source_layer=name)


def _one_wkb_type(wkb: pa.Array) -> str | None:
    """The one 2D geometry type of little-endian WKB values (read from their first five bytes), else None."""
    if wkb.null_count or not (pa.types.is_binary(wkb.type) or pa.types.is_large_binary(wkb.type)):
        return None
    _, offsets, data = wkb.buffers()
    ends = np.frombuffer(offsets, np.int64 if pa.types.is_large_binary(wkb.type) else np.int32)
    ends = ends[wkb.offset:wkb.offset + len(wkb) + 1].astype(np.int64)
    starts = ends[:-1]
    if (np.diff(ends) < 5).any():
        return None
    raw = np.frombuffer(data, np.uint8)
    if (raw[starts] != 1).any():  # big-endian WKB: rare, and the full path reads it
        return None
    codes = (raw[starts + 1].astype(np.uint32) | raw[starts + 2].astype(np.uint32) << 8
             | raw[starts + 3].astype(np.uint32) << 16 | raw[starts + 4].astype(np.uint32) << 24)
    found = np.unique(codes)
    return WKB_TYPES.get(int(found[0])) if len(found) == 1 else None


def _plain_kind(values: pa.Array) -> str | None:
    """The catalog type storage.infer_attributes gives the column read into pandas, for the Arrow types where that
    is plain; None for the rest (integers or booleans with gaps become floats or objects in pandas, time zones
    are converted, an all-empty date column is text there: read_vector_file keeps those quirks in one place)."""
    kind = values.type
    if pa.types.is_boolean(kind) and not values.null_count:
        return "boolean"
    if pa.types.is_integer(kind) and not values.null_count:
        low, high = pc.min_max(values).values()
        return "integer" if low.as_py() >= -(2**31) and high.as_py() < 2**31 else "bigint"
    if pa.types.is_floating(kind):
        return "double"
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "text"
    if pa.types.is_date32(kind) and values.null_count < len(values):
        return "date"
    return None


def plain_values(values: pa.Array, kind: str) -> pa.Array:
    """A column of read_plain as storage stores it: NULL for NaN and for empty text, as the full path does."""
    if kind == "double":
        values = values.cast(pa.float64())
        return pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float64()), values)
    if kind == "text":
        values = values.cast(pa.large_string())
        return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.large_string()), values)
    return values
