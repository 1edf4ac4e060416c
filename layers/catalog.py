"""The layer catalog: list, read, update and delete layers; validate names and styles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers import storage
from layers.models import CATEGORIES, VISIBILITIES, Layer

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
STYLE_KEYS = {"fill", "stroke", "weight", "opacity", "fill_opacity", "radius", "by", "categories"}
CATEGORY_COLOURS = {
    "planning": "#e3a72f", "infrastructure": "#6c757d", "flood": "#1f78b4", "environment": "#33a02c",
    "disaster": "#e31a1c", "administrative": "#6a3d9a", "other": "#0b4f6c",
}

data_table = storage.data_table  # re-exported: other modules get a layer's Table from the catalog


@dataclass
class LayerFilter:
    category: str | None = None
    group: str | None = None
    text: str | None = None
    include_internal: bool = False


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid("a layer name is 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit",
                      {"field": "name"})
    return name


def check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise Invalid(f"category must be one of {', '.join(CATEGORIES)}", {"field": "category"})
    return category


def check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise Invalid(f"visibility must be {' or '.join(VISIBILITIES)}", {"field": "visibility"})
    return visibility


def check_style(style, attributes: list[dict] | None = None) -> dict:
    """A style: colours as #rrggbb, numbers in range, an optional attribute to colour by."""
    if not isinstance(style, dict):
        raise Invalid("style must be an object", {"field": "style"})
    unknown = set(style) - STYLE_KEYS
    if unknown:
        raise Invalid(f"unknown style key(s): {', '.join(sorted(unknown))}", {"field": "style"})
    for key in ("fill", "stroke"):
        if key in style and not (isinstance(style[key], str) and COLOUR.match(style[key])):
            raise Invalid(f"style.{key} must be a colour like #1f78b4", {"field": "style"})
    for key, low, high in (("weight", 0, 20), ("opacity", 0, 1), ("fill_opacity", 0, 1), ("radius", 1, 50)):
        value = style.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)
                                  or not low <= value <= high):
            raise Invalid(f"style.{key} must be a number from {low} to {high}", {"field": "style"})
    if "by" in style:
        names = [a["name"] for a in attributes or []]
        if attributes is not None and style["by"] not in names:
            raise Invalid(f"style.by names no attribute of the layer: {style['by']!r}", {"field": "style"})
        categories = style.get("categories", {})
        if not isinstance(categories, dict) or not all(
            isinstance(v, str) and COLOUR.match(v) for v in categories.values()
        ):
            raise Invalid("style.categories maps values to colours like #1f78b4", {"field": "style"})
    return style


def default_style(category: str) -> dict:
    colour = CATEGORY_COLOURS.get(category, "#0b4f6c")
    return {"stroke": colour, "fill": colour, "weight": 2, "opacity": 0.9, "fill_opacity": 0.35}


def list_layers(session: Session, f: LayerFilter | None = None) -> list[Layer]:
    f = f or LayerFilter()
    query = select(Layer).order_by(Layer.category, Layer.group_name.nulls_last(), Layer.title)
    if not f.include_internal:
        query = query.where(Layer.visibility == "public")
    if f.category:
        query = query.where(Layer.category == check_category(f.category))
    if f.group:
        query = query.where(Layer.group_name == f.group)
    if f.text:
        pattern = f"%{f.text.strip()}%"
        query = query.where(or_(Layer.title.ilike(pattern), Layer.name.ilike(pattern),
                                Layer.description.ilike(pattern), Layer.group_name.ilike(pattern)))
    return list(session.scalars(query))


def get_layer(session: Session, name: str, *, include_internal: bool = False) -> Layer:
    """A layer by name; an internal one is 'not found' for those who may not see it."""
    layer = session.scalar(select(Layer).where(Layer.name == name))
    if layer is None or (layer.visibility == "internal" and not include_internal):
        raise NotFound(f"no layer named {name!r}")
    return layer


def update_layer(session: Session, layer: Layer, changes: dict, *, actor: str) -> Layer:
    allowed = {"title", "description", "category", "group", "style", "visibility"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"cannot change: {', '.join(sorted(unknown))}", {"fields": sorted(allowed)})
    if "title" in changes:
        title = str(changes["title"] or "").strip()
        if not title:
            raise Invalid("title cannot be empty", {"field": "title"})
        layer.title = title
    if "description" in changes:
        layer.description = str(changes["description"] or "")
    if "category" in changes:
        layer.category = check_category(changes["category"])
    if "group" in changes:
        layer.group_name = (str(changes["group"]).strip() or None) if changes["group"] is not None else None
    if "style" in changes:
        layer.style = check_style(changes["style"], layer.attributes)
    if "visibility" in changes:
        layer.visibility = check_visibility(changes["visibility"])
    layer.updated_by = actor
    layer.updated_at = func.now()
    session.flush()
    return layer


def delete_layer(session: Session, layer: Layer) -> None:
    """Remove the layer and its data table (in the caller's transaction)."""
    storage.drop_table(session.connection(), layer.data_table)
    session.delete(layer)
    session.flush()


def layer_json(layer: Layer) -> dict:
    """A layer's catalog entry as the API and the CLI show it."""
    return {
        "name": layer.name,
        "title": layer.title,
        "description": layer.description,
        "category": layer.category,
        "group": layer.group_name,
        "geometry_type": layer.geometry_type,
        "feature_count": layer.feature_count,
        "extent": layer.extent,
        "source_crs": layer.source_crs,
        "attributes": [{"name": a["name"], "type": a["type"]} for a in layer.attributes],
        "style": layer.style,
        "visibility": layer.visibility,
        "data_version": layer.data_version,
        "source_file": layer.source_file,
        "created_by": layer.created_by,
        "created_at": _iso(layer.created_at),
        "updated_by": layer.updated_by,
        "updated_at": _iso(layer.updated_at),
    }


def _iso(value) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None
