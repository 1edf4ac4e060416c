"""OGC API - Features Part 3 filters (CQL2 text and JSON) turned into SQLAlchemy conditions by pygeofilter."""

from __future__ import annotations

import json

from lark.exceptions import LarkError
from pygeofilter import ast
from pygeofilter.backends.sqlalchemy import to_filter
from pygeofilter.parsers.cql2_json import parse as parse_cql2_json
from pygeofilter.parsers.cql2_text import parse as parse_cql2_text
from sqlalchemy import Table

from gisserver.core.exceptions import Invalid
from layers.models import Layer

FILTER_LANGS = ("cql2-text", "cql2-json")
GEOMETRY_NAMES = ("geometry", "geom")


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


def _standard_between(node):
    """CQL2 1.0 writes between as [property, low, high]; pygeofilter reads [property, [low, high]]."""
    if isinstance(node, dict):
        args = node.get("args")
        if str(node.get("op", "")).lower() == "between" and isinstance(args, list) and len(args) == 3:
            node = {**node, "args": [args[0], [args[1], args[2]]]}
        return {k: _standard_between(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_standard_between(v) for v in node]
    return node


def parse_filter(text: str, lang: str | None, layer: Layer, table: Table):
    """A condition from a CQL2 filter; unknown properties and syntax errors are 400 with the reason."""
    lang = lang or "cql2-text"
    if lang not in FILTER_LANGS:
        raise Invalid(f"filter-lang must be one of {', '.join(FILTER_LANGS)}", {"parameter": "filter-lang"})
    try:
        if lang == "cql2-json":
            tree = parse_cql2_json(_standard_between(json.loads(text)))
        else:
            tree = parse_cql2_text(text)
    except (LarkError, ValueError, TypeError, KeyError, AttributeError, json.JSONDecodeError) as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise Invalid(f"malformed {lang} filter: {reason}", {"parameter": "filter"}) from None
    mapping = field_mapping(layer, table)
    unknown = sorted(_names(tree) - mapping.keys())
    if unknown:
        raise Invalid(f"unknown propert{'y' if len(unknown) == 1 else 'ies'}: {', '.join(unknown)}",
                      {"parameter": "filter", "unknown": unknown, "queryables": sorted(mapping)})
    try:
        return to_filter(tree, mapping, undefined_as_null=False)
    except (KeyError, ValueError, TypeError, NotImplementedError, AttributeError) as exc:
        raise Invalid(f"unsupported filter: {exc}", {"parameter": "filter"}) from None
