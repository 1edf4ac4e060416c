"""The layer catalog: list, read, update and delete layers; validate names and styles."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers import history, storage
from layers.models import ATTRIBUTE_FORMATS, CATEGORIES, VISIBILITIES, Layer

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
STYLE_KEYS = {"fill", "stroke", "weight", "opacity", "fill_opacity", "radius", "by", "categories", "labels"}
MAX_LABEL = 200
ATTRIBUTE_META = {"alias": str, "format": str, "unit": str, "decimals": int}
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
    if "labels" in style:
        # What a legend reads for a category value ("ODT" -> "Đất ở tại đô thị").
        labels = style["labels"]
        if not isinstance(labels, dict) or not all(
            isinstance(v, str) and 0 < len(v.strip()) <= MAX_LABEL for v in labels.values()
        ):
            raise Invalid(f"style.labels maps values to texts of 1 to {MAX_LABEL} characters", {"field": "style"})
    return style


def check_attribute_meta(changes, attributes: list[dict]) -> list[dict]:
    """The layer's attributes with what readers see changed: [{"name", "alias"?, "format"?, "unit"?, "decimals"?}].
    A value of null removes that setting."""
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise Invalid("attributes is a list of {name, alias, format, unit, decimals}", {"field": "attributes"})
    by_name = {a["name"]: dict(a) for a in attributes}
    for change in changes:
        name = change.get("name")
        if name not in by_name:
            raise Invalid(f"no attribute {name!r} in the layer", {"field": "attributes"})
        unknown = set(change) - {"name", *ATTRIBUTE_META}
        if unknown:
            raise Invalid(f"unknown attribute setting(s): {', '.join(sorted(unknown))}", {"field": "attributes"})
        for key, kind in ATTRIBUTE_META.items():
            if key not in change:
                continue
            value = change[key]
            if value is None:
                by_name[name].pop(key, None)
                continue
            if isinstance(value, bool) or not isinstance(value, kind):
                raise Invalid(f"attributes: {key} of {name!r} must be a {kind.__name__}", {"field": "attributes"})
            if kind is str:
                value = value.strip()
                if not 0 < len(value) <= MAX_LABEL:
                    raise Invalid(f"attributes: {key} of {name!r} is 1 to {MAX_LABEL} characters",
                                  {"field": "attributes"})
            if key == "format" and value not in ATTRIBUTE_FORMATS:
                raise Invalid(f"attributes: format is one of {', '.join(ATTRIBUTE_FORMATS)}", {"field": "attributes"})
            if key == "decimals" and not 0 <= value <= 6:
                raise Invalid("attributes: decimals is 0 to 6", {"field": "attributes"})
            by_name[name][key] = value
    return [by_name[a["name"]] for a in attributes]


def carry_attribute_meta(old: list[dict], new: list[dict]) -> list[dict]:
    """New data's attributes keep the aliases and formats the old data's attributes of the same name had."""
    kept = {a["name"]: {k: a[k] for k in ATTRIBUTE_META if k in a} for a in old or []}
    return [{**a, **kept.get(a["name"], {})} for a in new]


def default_style(category: str) -> dict:
    colour = CATEGORY_COLOURS.get(category, "#0b4f6c")
    return {"stroke": colour, "fill": colour, "weight": 2, "opacity": 0.9, "fill_opacity": 0.35}


def list_layers(session: Session, f: LayerFilter | None = None) -> list[Layer]:
    f = f or LayerFilter()
    # The catalog's order (set by planners), then by subject: the map's tree and its legend follow it.
    query = select(Layer).order_by(Layer.sort_order, Layer.category, Layer.group_name.nulls_last(), Layer.title)
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
    allowed = {"title", "description", "category", "group", "style", "visibility", "shown_by_default", "sort_order",
               "attributes"}
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
    if "shown_by_default" in changes:
        if not isinstance(changes["shown_by_default"], bool):
            raise Invalid("shown_by_default must be true or false", {"field": "shown_by_default"})
        layer.shown_by_default = changes["shown_by_default"]
    if "sort_order" in changes:
        order = changes["sort_order"]
        if isinstance(order, bool) or not isinstance(order, int) or not -10_000 <= order <= 10_000:
            raise Invalid("sort_order must be a whole number from -10000 to 10000", {"field": "sort_order"})
        layer.sort_order = order
    if "attributes" in changes:
        layer.attributes = check_attribute_meta(changes["attributes"], layer.attributes)
    layer.updated_by = actor
    layer.updated_at = func.now()
    session.flush()
    return layer


def delete_layer(session: Session, layer: Layer) -> None:
    """Remove the layer, its data table and its whole history (in the caller's transaction)."""
    for name in {layer.data_table, *history.tables_of(session, layer.id)}:
        storage.drop_table(session.connection(), name)
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
        "attributes": [{"name": a["name"], "type": a["type"],
                        **{k: a[k] for k in ATTRIBUTE_META if k in a}} for a in layer.attributes],
        "style": layer.style,
        "visibility": layer.visibility,
        "shown_by_default": layer.shown_by_default,
        "sort_order": layer.sort_order,
        "data_version": layer.data_version,
        "source_file": layer.source_file,
        "created_by": layer.created_by,
        "created_at": _iso(layer.created_at),
        "updated_by": layer.updated_by,
        "updated_at": _iso(layer.updated_at),
    }


def _iso(value) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None
