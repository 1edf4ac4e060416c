"""What readers see for the catalog's codes: layer categories in their language, attribute values formatted by
what they are (a year is 2027, an area carries its unit)."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "planning": _l("Planning"), "infrastructure": _l("Infrastructure"), "flood": _l("Flood"),
    "environment": _l("Environment"), "disaster": _l("Disaster prevention"), "administrative": _l("Administrative"),
    "other": _l("Other"),
}
NUMERIC_TYPES = ("integer", "bigint", "double")


def layer_category(code: str) -> str:
    return str(CATEGORY_LABELS.get(code, code))


def attribute_label(attribute: dict) -> str:
    """The attribute's alias ("Năm hoàn thành"), or its name in the file."""
    return attribute.get("alias") or attribute["name"]


def attribute_value(value, attribute: dict) -> str:
    """A value as the reader writes it: numbers by the attribute's format and unit (static/js/planner.js does the
    same in the browser)."""
    if value is None:
        return ""
    if attribute.get("type") not in NUMERIC_TYPES or isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    fmt, decimals = attribute.get("format", "number"), attribute.get("decimals")
    if fmt == "plain":
        text = str(value)
    elif fmt == "percent":
        text = format_decimal(value * 100, format="#,##0" + ("." + "0" * (decimals or 1))) + "%"
    else:
        digits = decimals if decimals is not None else (0 if attribute.get("type") != "double" else 2)
        text = format_decimal(round(value, digits), format="#,##0" + ("." + "#" * digits if digits else ""))
    return f"{text} {attribute['unit']}" if attribute.get("unit") else text


def template_labels() -> dict:
    return {"layer_category": layer_category, "attribute_label": attribute_label, "attribute_value": attribute_value}
