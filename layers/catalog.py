"""The layer catalog: list, read, update and delete layers; validate names and styles."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers import history, storage
from layers.models import ATTRIBUTE_FORMATS, CATEGORIES, UPDATE_FREQUENCIES, VISIBILITIES, Layer

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
STYLE_KEYS = {"mode", "fill", "stroke", "weight", "opacity", "fill_opacity", "radius", "by", "categories", "classes",
              "label", "labels"}
STYLE_MODES = ("single", "categories", "graduated")
METADATA_TEXT = {"title_en": 500, "description_en": 20_000, "source": 2000, "licence": 500, "contact": 500}
METADATA_KEYS = {*METADATA_TEXT, "keywords", "keywords_en", "update_frequency"}
MAX_CLASSES = 12
MAX_LABEL = 200
ATTRIBUTE_META = {"alias": str, "format": str, "unit": str, "decimals": int}
SCHEMA_KEYS = ("required", "values")
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


def _attribute_named(name, attributes: list[dict] | None, what: str) -> dict | None:
    if not isinstance(name, str):
        raise Invalid(f"style.{what} must name an attribute", {"field": "style"})
    if attributes is None:
        return None
    for attribute in attributes:
        if attribute["name"] == name:
            return attribute
    raise Invalid(f"style.{what} names no attribute of the layer: {name!r}", {"field": "style"})


def _colour(value, where: str) -> str:
    if not (isinstance(value, str) and COLOUR.match(value)):
        raise Invalid(f"{where} must be a colour like #1f78b4", {"field": "style"})
    return value


def _number(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def check_style(style, attributes: list[dict] | None = None) -> dict:
    """A style: a single symbol, categories of an attribute's values, or graduated classes of a number; colours as
    #rrggbb, numbers in range, an optional label attribute. *attributes* (when known) are checked against."""
    if not isinstance(style, dict):
        raise Invalid("style must be an object", {"field": "style"})
    unknown = set(style) - STYLE_KEYS
    if unknown:
        raise Invalid(f"unknown style key(s): {', '.join(sorted(unknown))}", {"field": "style"})
    for key in ("fill", "stroke"):
        if key in style:
            _colour(style[key], f"style.{key}")
    for key, low, high in (("weight", 0, 20), ("opacity", 0, 1), ("fill_opacity", 0, 1), ("radius", 1, 50)):
        value = style.get(key)
        if value is not None and not (_number(value) and low <= value <= high):
            raise Invalid(f"style.{key} must be a number from {low} to {high}", {"field": "style"})
    mode = style.get("mode") or ("graduated" if "classes" in style else "categories" if "by" in style else "single")
    if mode not in STYLE_MODES:
        raise Invalid(f"style.mode must be one of {', '.join(STYLE_MODES)}", {"field": "style"})
    if "label" in style and style["label"] is not None:
        _attribute_named(style["label"], attributes, "label")
    if "labels" in style:
        # What a legend reads for a category value ("ODT" -> "Đất ở tại đô thị").
        labels = style["labels"]
        if not isinstance(labels, dict) or not all(
            isinstance(v, str) and 0 < len(v.strip()) <= MAX_LABEL for v in labels.values()
        ):
            raise Invalid(f"style.labels maps values to texts of 1 to {MAX_LABEL} characters", {"field": "style"})
    if mode == "single":
        if "by" in style or "categories" in style or "classes" in style:
            raise Invalid("a single-symbol style has no by, categories or classes", {"field": "style"})
        return style
    if "by" not in style:
        raise Invalid(f"a {mode} style needs style.by, the attribute it follows", {"field": "style"})
    attribute = _attribute_named(style["by"], attributes, "by")
    if mode == "categories":
        categories = style.get("categories", {})
        if not isinstance(categories, dict) or len(categories) > 500 or not all(
                isinstance(v, str) and COLOUR.match(v) for v in categories.values()):
            raise Invalid("style.categories maps values to colours like #1f78b4", {"field": "style"})
        return style
    if attribute is not None and attribute["type"] not in ("integer", "bigint", "double"):
        raise Invalid(f"graduated classes need a number attribute; {style['by']} is {attribute['type']}",
                      {"field": "style"})
    classes = style.get("classes")
    if not isinstance(classes, list) or not 1 <= len(classes) <= MAX_CLASSES:
        raise Invalid(f"style.classes is a list of 1 to {MAX_CLASSES} classes {{min, max, colour}}",
                      {"field": "style"})
    for item in classes:
        if not isinstance(item, dict) or set(item) - {"min", "max", "colour", "label"} or not (
                _number(item.get("min")) and _number(item.get("max")) and item["min"] <= item["max"]):
            raise Invalid("each class is {min, max, colour} with min <= max", {"field": "style"})
        _colour(item.get("colour"), "a class's colour")
        if "label" in item and not (isinstance(item["label"], str) and len(item["label"]) <= 100):
            raise Invalid("a class's label is a short text", {"field": "style"})
    return style


def check_metadata(metadata) -> dict:
    """English title/description, keywords (vi, en), source, licence, contact and update frequency."""
    if not isinstance(metadata, dict):
        raise Invalid("metadata must be an object", {"field": "metadata"})
    unknown = set(metadata) - METADATA_KEYS
    if unknown:
        raise Invalid(f"unknown metadata field(s): {', '.join(sorted(unknown))}",
                      {"field": "metadata", "allowed": sorted(METADATA_KEYS)})
    clean = {}
    for key, limit in METADATA_TEXT.items():
        value = metadata.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"metadata.{key} is a text of at most {limit} characters", {"field": f"metadata.{key}"})
        clean[key] = value.strip()
    for key in ("keywords", "keywords_en"):
        value = metadata.get(key)
        if value in (None, []):
            continue
        if not isinstance(value, list) or len(value) > 50 or not all(
                isinstance(k, str) and 0 < len(k.strip()) <= 100 for k in value):
            raise Invalid(f"metadata.{key} is a list of up to 50 short words", {"field": f"metadata.{key}"})
        clean[key] = [k.strip() for k in value]
    frequency = metadata.get("update_frequency")
    if frequency not in (None, ""):
        if frequency not in UPDATE_FREQUENCIES:
            raise Invalid(f"metadata.update_frequency must be one of {', '.join(UPDATE_FREQUENCIES)}",
                          {"field": "metadata.update_frequency"})
        clean["update_frequency"] = frequency
    return clean


def check_attributes(attributes: list[dict], changes) -> list[dict]:
    """One list of attribute changes, [{"name", "alias"?, "format"?, "unit"?, "decimals"?, "required"?, "values"?}]:
    what readers see (check_attribute_meta) and what editors must respect (check_schema)."""
    if not isinstance(changes, list) or not all(isinstance(c, dict) for c in changes):
        raise Invalid("attributes is a list of {name, alias, format, unit, decimals, required, values}",
                      {"field": "attributes"})
    meta = [{k: v for k, v in c.items() if k not in SCHEMA_KEYS} for c in changes]
    schema = [{k: v for k, v in c.items() if k == "name" or k in SCHEMA_KEYS} for c in changes]
    return check_schema(check_attribute_meta(meta, attributes), [c for c in schema if len(c) > 1])


def check_schema(attributes: list[dict], changes) -> list[dict]:
    """The layer's attribute entries with what editors must respect: required, and the allowed values.

    *changes* is [{"name", "required"?, "values"?}]; names and types stay those of the data."""
    if not isinstance(changes, list):
        raise Invalid("attributes is a list of {name, required, values}", {"field": "attributes"})
    by_name = {a["name"]: dict(a) for a in attributes}
    for change in changes:
        if not isinstance(change, dict) or change.get("name") not in by_name or set(change) - {
                "name", "required", "values"}:
            raise Invalid("each attribute change is {name, required, values} naming an attribute of the layer",
                          {"field": "attributes", "attributes": list(by_name)})
        entry = by_name[change["name"]]
        if "required" in change:
            if not isinstance(change["required"], bool):
                raise Invalid("required is true or false", {"field": "attributes"})
            entry["required"] = change["required"]
        if "values" in change:
            values = change["values"]
            if values is None or values == []:
                entry.pop("values", None)
                continue
            fits = {"text": lambda v: isinstance(v, str) and len(v) <= 500,
                    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
                    "bigint": lambda v: isinstance(v, int) and not isinstance(v, bool),
                    "double": _number, "boolean": lambda v: isinstance(v, bool)}.get(entry["type"])
            if fits is None or not isinstance(values, list) or len(values) > 200 or not all(map(fits, values)):
                raise Invalid(f"values of {entry['name']} are up to 200 {entry['type']} values",
                              {"field": "attributes"})
            entry["values"] = values
    return [by_name[a["name"]] for a in attributes]


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


def base_map(session: Session) -> list[Layer]:
    """The public layers planners marked as the city's base map, in drawing order (lowest first)."""
    return list(session.scalars(select(Layer).where(Layer.basemap.is_(True), Layer.visibility == "public")
                                .order_by(Layer.basemap_order, Layer.name)))


def get_layer(session: Session, name: str, *, include_internal: bool = False) -> Layer:
    """A layer by name; an internal one is 'not found' for those who may not see it."""
    layer = session.scalar(select(Layer).where(Layer.name == name))
    if layer is None or (layer.visibility == "internal" and not include_internal):
        raise NotFound(f"no layer named {name!r}")
    return layer


def update_layer(session: Session, layer: Layer, changes: dict, *, actor: str) -> Layer:
    allowed = {"title", "description", "category", "group", "style", "visibility", "shown_by_default", "sort_order",
               "metadata", "attributes", "basemap", "basemap_order"}
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
    if "metadata" in changes:
        layer.metadata_ = check_metadata(changes["metadata"])
    if "attributes" in changes:
        layer.attributes = check_attributes(layer.attributes, changes["attributes"])
    if "basemap" in changes:
        if not isinstance(changes["basemap"], bool):
            raise Invalid("basemap is true or false", {"field": "basemap"})
        layer.basemap = changes["basemap"]
    if "basemap_order" in changes:
        order = changes["basemap_order"]
        if isinstance(order, bool) or not isinstance(order, int) or not -1000 <= order <= 1000:
            raise Invalid("basemap_order is a whole number from -1000 to 1000", {"field": "basemap_order"})
        layer.basemap_order = order
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
        "attributes": [{k: a[k] for k in ("name", "type", *SCHEMA_KEYS, *ATTRIBUTE_META) if k in a}
                       for a in layer.attributes],
        "style": layer.style,
        "visibility": layer.visibility,
        "shown_by_default": layer.shown_by_default,
        "sort_order": layer.sort_order,
        "metadata": layer.metadata_ or {},
        "basemap": bool(layer.basemap),
        "basemap_order": layer.basemap_order or 0,
        "data_version": layer.data_version,
        "source_file": layer.source_file,
        "created_by": layer.created_by,
        "created_at": _iso(layer.created_at),
        "updated_by": layer.updated_by,
        "updated_at": _iso(layer.updated_at),
    }


def _iso(value) -> str | None:
    return value.isoformat() if hasattr(value, "isoformat") else None
