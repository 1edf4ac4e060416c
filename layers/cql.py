"""OGC API - Features Part 3 filters (CQL2 text and JSON) turned into SQLAlchemy conditions by pygeofilter.

pygeofilter parses; the literals it gets wrong or leaves out are ours: CQL2 1.0's BBOX literal (cql2-json's
{"bbox": [...]} reached pygeofilter's Envelope as x1, x2, y1, y2 and selected the wrong area; cql2-text's
BBOX(...) was an unknown function), geometry literals with their own CRS, literals in the filter-crs of OGC API -
Features Part 2 (moved to the stored EPSG:4326 by PostGIS once, before the query), and CASEI/ACCENTI.
"""

from __future__ import annotations

import json
import math

import shapely
import shapely.errors
import shapely.geometry
from geoalchemy2 import Geometry
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.backends.evaluator import handle
from pygeofilter.backends.sqlalchemy import filters
from pygeofilter.backends.sqlalchemy.evaluate import SQLAlchemyFilterEvaluator
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from sqlalchemy import LargeBinary, Table, Text, func, literal
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from layers.crs import STORAGE_CRS, ServedCrs, stored_box, stored_geometry
from layers.models import Layer

FILTER_LANGS = ("cql2-text", "cql2-json")
GEOMETRY_NAMES = ("geometry", "geom")
FUNCTIONS = ("CASEI", "ACCENTI")
CRS84_NAMES = ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84")


def field_mapping(layer: Layer, table: Table) -> dict:
    """Queryable names (original attribute names, plus 'geometry') -> columns."""
    mapping = {a["name"]: table.c[a["column"]] for a in layer.attributes}
    for name in GEOMETRY_NAMES:
        mapping.setdefault(name, table.c.geom)
    return mapping


def _names(node) -> set[str]:
    found = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Attribute):
            found.add(current.name)
        elif isinstance(current, ast.Node):
            stack.extend(current.get_sub_nodes())
        elif isinstance(current, list | tuple):
            stack.extend(current)
    return found


def box_numbers(numbers) -> list[float]:
    """The 4 numbers of a CQL2 bbox (4, or 6 with heights, which are dropped), checked to be finite numbers."""
    if not isinstance(numbers, list | tuple) or len(numbers) not in (4, 6) or not all(
        isinstance(n, int | float) and not isinstance(n, bool) and math.isfinite(n) for n in numbers
    ):
        raise Invalid("a bbox is 4 (or 6, with heights) numbers: minx, miny, maxx, maxy", {"parameter": "filter"})
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    return [float(n) for n in numbers]


def bbox_geometry(numbers) -> dict:
    """A CQL2/OGC bbox (minx, miny, maxx, maxy, or with minz/maxz) as a GeoJSON polygon in CRS84.

    A box whose west edge is east of its east edge crosses the antimeridian (OGC API - Features 1, 7.15.3)
    and becomes two boxes.
    """
    minx, miny, maxx, maxy = box_numbers(numbers)
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("a bbox is minx, miny, maxx, maxy in CRS84 (longitude, latitude); this one is outside "
                      "-180..180 / -90..90 or has miny > maxy", {"parameter": "filter", "bbox": list(numbers)})

    def ring(x0, x1):
        return [[[x0, miny], [x1, miny], [x1, maxy], [x0, maxy], [x0, miny]]]

    if minx > maxx:
        return {"type": "MultiPolygon", "coordinates": [ring(minx, 180.0), ring(-180.0, maxx)]}
    return {"type": "Polygon", "coordinates": ring(minx, maxx)}


def _json_literals(node):
    """CQL2-JSON with bbox literals as calls of BBOX (as cql2-text writes them), ACCENTI as a function call and
    BETWEEN as pygeofilter reads it."""
    if isinstance(node, list):
        return [_json_literals(v) for v in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"bbox"}:  # read in the filter's CRS by the evaluator, as cql2-text's BBOX(...) is
        return {"function": {"name": "bbox", "arguments": box_numbers(node["bbox"])}}
    op = str(node.get("op", "")).lower()
    args = node.get("args")
    if op == "between" and isinstance(args, list) and len(args) == 3:
        # CQL2 1.0 writes between as [property, low, high]; pygeofilter reads [property, [low, high]].
        node = {**node, "args": [args[0], [args[1], args[2]]]}
    elif op == "accenti" and isinstance(args, list):
        node = {"function": {"name": "accenti", "arguments": args}}
    return {k: _json_literals(v) for k, v in node.items()}


def _checked_geometry(geojson: dict) -> dict:
    """A geometry literal, refused when it names its own CRS or has coordinates outside CRS84."""
    if "crs" in geojson:
        name = ((geojson.get("crs") or {}).get("properties") or {}).get("name")
        if name not in CRS84_NAMES:
            raise Invalid(f"geometry literals are in CRS84 (longitude, latitude); {name or 'another CRS'} is not "
                          "supported", {"parameter": "filter", "supported_crs": [CRS84_NAMES[0]]})
        geojson = {k: v for k, v in geojson.items() if k != "crs"}
    try:
        shape = shapely.geometry.shape(geojson)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError, shapely.errors.ShapelyError):
        raise Invalid("a geometry literal of the filter cannot be read", {"parameter": "filter"}) from None
    minx, miny, maxx, maxy = shape.bounds if not shape.is_empty else (0, 0, 0, 0)
    if not (math.isfinite(minx + miny + maxx + maxy) and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid("a geometry literal of the filter is outside CRS84 (longitude -180..180, latitude -90..90); "
                      "coordinates are longitude first", {"parameter": "filter"})
    return shapely.geometry.mapping(shape)


def _geometry_literal(geojson: dict):
    text = json.dumps(_checked_geometry(geojson))
    return func.ST_SetSRID(func.ST_GeomFromGeoJSON(text), 4326, type_=Geometry(srid=4326))


def _stored_literal(wkb: bytes):
    return func.ST_GeomFromWKB(literal(wkb, LargeBinary), 4326, type_=Geometry(srid=4326))


class _Evaluator(SQLAlchemyFilterEvaluator):
    """pygeofilter's SQLAlchemy evaluator with CQL2 1.0's literals and functions done as the standard says; the
    literals are in *crs* (filter-crs), in that CRS's axis order."""

    def __init__(self, mapping: dict, crs: ServedCrs, session: Session | None):
        super().__init__(mapping, undefined_as_null=False)
        self.crs, self.session = crs, session

    def _geometry(self, geojson: dict):
        if self.crs.is_storage or "crs" in geojson:  # a literal naming its CRS must name CRS84
            return _geometry_literal(geojson)
        text = literal(json.dumps(geojson), type_=Text)
        return _stored_literal(stored_geometry(self.session, func.ST_GeomFromGeoJSON(text), self.crs, "filter-crs"))

    def _box(self, numbers):
        if self.crs.is_storage:
            return _geometry_literal(bbox_geometry(numbers))
        minx, miny, maxx, maxy = box_numbers(numbers)
        if self.crs.lat_lon:  # EPSG:4326: minlat, minlon, maxlat, maxlon
            return _geometry_literal(bbox_geometry([miny, minx, maxy, maxx]))
        return _stored_literal(stored_box(self.session, (minx, miny, maxx, maxy), self.crs, "filter-crs"))

    @handle(values.Geometry)
    def geometry(self, node):
        return self._geometry(node.__geo_interface__)

    @handle(values.Envelope)
    def envelope(self, node):
        # Only cql2-text's ENVELOPE (not CQL2, kept from pygeofilter): minx, maxx, miny, maxy.
        return self._box([node.x1, node.y1, node.x2, node.y2])

    @handle(ast.BBox)
    def bbox(self, node, lhs):
        if node.crs and node.crs not in CRS84_NAMES:
            raise Invalid(f"BBOX in {node.crs} is not supported; name the CRS with filter-crs",
                          {"parameter": "filter"})
        box = (_geometry_literal(bbox_geometry([node.minx, node.miny, node.maxx, node.maxy])) if node.crs
               else self._box([node.minx, node.miny, node.maxx, node.maxy]))
        return func.ST_Intersects(lhs, box)

    @handle(ast.Like)
    def like(self, node, lhs):
        # pygeofilter looks a function in a LIKE pattern up in its own table, which knows only lower().
        pattern = node.pattern
        if isinstance(pattern, ast.Function):
            pattern = self.function(pattern, *[self.evaluate(a) for a in pattern.arguments])
        return filters.like(lhs, pattern, not node.nocase, node.not_)

    @handle(ast.Function)
    def function(self, node, *arguments):
        name = node.name.lower()
        if name == "bbox":  # the CQL2 1.0 literal BBOX(minx, miny, maxx, maxy), parsed as a call
            return self._box(node.arguments)
        if name == "lower" and len(arguments) == 1:  # CASEI
            return func.lower(arguments[0])
        if name == "accenti" and len(arguments) == 1:
            return func.unaccent(arguments[0])
        raise Invalid(f"unknown function {node.name!r}", {"parameter": "filter", "functions": list(FUNCTIONS)})


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def parse_filter(text: str, lang: str | None, layer: Layer, table: Table, crs: ServedCrs = STORAGE_CRS,
                 session: Session | None = None):
    """A condition from a CQL2 filter whose geometries are in *crs* (filter-crs; *session* moves them to EPSG:4326
    when it is another than CRS84); unknown properties and syntax errors are 400 with the reason."""
    lang = lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise Invalid(f"filter-lang must be one of {', '.join(FILTER_LANGS)}", {"parameter": "filter-lang"})
    try:
        if lang == "cql2-json":
            tree = parse_cql2_json(_json_literals(json.loads(text, parse_constant=_refuse_constant)))
        else:
            tree = parse_cql2_text(text)
    except (LarkError, ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise Invalid(f"malformed {lang} filter: {reason}", {"parameter": "filter"}) from None
    mapping = field_mapping(layer, table)
    unknown = sorted(_names(tree) - mapping.keys())
    if unknown:
        raise Invalid(f"unknown propert{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
                      {"parameter": "filter", "unknown": unknown, "queryables": sorted(mapping)})
    try:
        return _Evaluator(mapping, crs, session).evaluate(tree)
    except (KeyError, ValueError, TypeError, NotImplementedError, AttributeError) as exc:
        raise Invalid(f"unsupported filter: {exc}", {"parameter": "filter"}) from None
