"""A layer's style (catalog.check_style) as files QGIS opens: SLD 1.1 (Symbology Encoding) and QGIS's own QML.

Both are built with ElementTree, so values and names from users' files are always escaped. Sizes are in pixels
as on our maps; opacity goes into SLD's *-opacity parameters and into QML's alpha channel.
"""

from __future__ import annotations

from xml.etree import ElementTree as ET

from layers.models import Layer

FORMATS = {"sld": "application/vnd.ogc.sld+xml", "qml": "application/xml"}
SLD = "http://www.opengis.net/sld"
SE = "http://www.opengis.net/se"
OGC = "http://www.opengis.net/ogc"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DEFAULT_COLOUR = "#0b4f6c"
QGIS_VERSION = "3.28.0-Firenze"
for prefix, uri in (("", SLD), ("se", SE), ("ogc", OGC), ("xsi", XSI)):
    ET.register_namespace(prefix, uri)


def _symbol_kind(geometry_type: str) -> str:
    if "Point" in geometry_type:
        return "point"
    if "Line" in geometry_type:
        return "line"
    return "polygon"


def _symbols(style: dict, fill: str | None = None) -> dict:
    """The symbol parameters of one rule: the style's, with *fill* for a category or class."""
    colour = fill or style.get("fill") or style.get("stroke") or DEFAULT_COLOUR
    return {"fill": colour, "stroke": style.get("stroke") or colour, "weight": style.get("weight", 2),
            "opacity": style.get("opacity", 0.9), "fill_opacity": style.get("fill_opacity", 0.35),
            "radius": style.get("radius", 5)}


def _rules(style: dict) -> list[tuple[str, tuple | None, dict]]:
    """(title, condition, symbols) per rule; condition is None (all), ("eq", attribute, value),
    ("range", attribute, low, high) or ("else",)."""
    mode = style.get("mode") or ("graduated" if "classes" in style else "categories" if "by" in style else "single")
    if mode == "categories":
        rules = [(str(value), ("eq", style["by"], value), _symbols(style, colour))
                 for value, colour in (style.get("categories") or {}).items()]
        return rules + [("", ("else",), _symbols(style))]
    if mode == "graduated":
        return [(c.get("label") or f"{c['min']:g} - {c['max']:g}", ("range", style["by"], c["min"], c["max"]),
                 _symbols(style, c["colour"])) for c in style.get("classes") or []]
    return [("", None, _symbols(style))]


# -- SLD 1.1 -----------------------------------------------------------------------------------------------------


def _se(parent, tag: str, text: str | None = None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, f"{{{SE}}}{tag}", attributes)
    if text is not None:
        element.text = text
    return element


def _svg(parent, name: str, value) -> None:
    _se(parent, "SvgParameter", str(value), name=name)


def _literal(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _filter(parent, condition) -> None:
    if condition[0] == "else":
        _se(parent, "ElseFilter")
        return
    where = ET.SubElement(parent, f"{{{OGC}}}Filter")
    if condition[0] == "eq":
        tests = [("PropertyIsEqualTo", condition[1], condition[2])]
    else:
        tests = [("PropertyIsGreaterThanOrEqualTo", condition[1], condition[2]),
                 ("PropertyIsLessThanOrEqualTo", condition[1], condition[3])]
        where = ET.SubElement(where, f"{{{OGC}}}And")
    for operator, name, value in tests:
        test = ET.SubElement(where, f"{{{OGC}}}{operator}")
        ET.SubElement(test, f"{{{OGC}}}PropertyName").text = name
        ET.SubElement(test, f"{{{OGC}}}Literal").text = _literal(value)


def _fill_and_stroke(parent, kind: str, s: dict) -> None:
    if kind != "line":
        fill = _se(parent, "Fill")
        _svg(fill, "fill", s["fill"])
        _svg(fill, "fill-opacity", s["fill_opacity"] if kind == "polygon" else s["opacity"])
    stroke = _se(parent, "Stroke")
    _svg(stroke, "stroke", s["stroke"])
    _svg(stroke, "stroke-width", s["weight"] if kind != "point" else 1)
    _svg(stroke, "stroke-opacity", s["opacity"])
    if kind == "line":
        _svg(stroke, "stroke-linejoin", "round")
        _svg(stroke, "stroke-linecap", "round")


def _symbolizer(rule, kind: str, s: dict) -> None:
    if kind == "point":
        graphic = _se(_se(rule, "PointSymbolizer"), "Graphic")
        mark = _se(graphic, "Mark")
        _se(mark, "WellKnownName", "circle")
        _fill_and_stroke(mark, kind, s)
        _se(graphic, "Size", f"{2 * s['radius']:g}")
    else:
        _fill_and_stroke(_se(rule, "LineSymbolizer" if kind == "line" else "PolygonSymbolizer"), kind, s)


def to_sld(layer: Layer) -> bytes:
    style, kind = layer.style or {}, _symbol_kind(layer.geometry_type)
    root = ET.Element(f"{{{SLD}}}StyledLayerDescriptor", {
        "version": "1.1.0",
        f"{{{XSI}}}schemaLocation": "http://www.opengis.net/sld "
                                    "http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd"})
    named = ET.SubElement(root, f"{{{SLD}}}NamedLayer")
    _se(named, "Name", layer.name)
    user = ET.SubElement(named, f"{{{SLD}}}UserStyle")
    _se(user, "Name", layer.name)
    description = _se(user, "Description")
    _se(description, "Title", layer.title)
    feature_type = _se(user, "FeatureTypeStyle")
    for title, condition, symbols in _rules(style):
        rule = _se(feature_type, "Rule")
        _se(rule, "Name", title or layer.name)
        _se(_se(rule, "Description"), "Title", title or layer.title)
        if condition is not None:
            _filter(rule, condition)
        _symbolizer(rule, kind, symbols)
    if style.get("label"):
        rule = _se(feature_type, "Rule")
        _se(rule, "Name", "label")
        text = _se(rule, "TextSymbolizer")
        label = _se(text, "Label")
        ET.SubElement(label, f"{{{OGC}}}PropertyName").text = style["label"]
        font = _se(text, "Font")
        _svg(font, "font-family", "Sans Serif")
        _svg(font, "font-size", 11)
        halo = _se(text, "Halo")
        _se(halo, "Radius", "1.5")
        _svg(_se(halo, "Fill"), "fill", "#ffffff")
        _svg(_se(text, "Fill"), "fill", "#323232")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- QGIS QML ----------------------------------------------------------------------------------------------------


def _rgba(colour: str, alpha: float) -> str:
    return f"{int(colour[1:3], 16)},{int(colour[3:5], 16)},{int(colour[5:7], 16)},{round(alpha * 255)}"


def _option(parent, name: str, value) -> None:
    ET.SubElement(parent, "Option", {"name": name, "type": "QString", "value": str(value)})


def _qgis_symbol(parent, name: str, kind: str, s: dict) -> None:
    symbol_type = {"point": "marker", "line": "line", "polygon": "fill"}[kind]
    symbol = ET.SubElement(parent, "symbol", {"type": symbol_type, "name": name, "alpha": "1", "clip_to_extent": "1",
                                              "force_rhr": "0"})
    layer_class = {"point": "SimpleMarker", "line": "SimpleLine", "polygon": "SimpleFill"}[kind]
    options = ET.SubElement(ET.SubElement(symbol, "layer", {"class": layer_class, "enabled": "1", "locked": "0",
                                                            "pass": "0"}), "Option", {"type": "Map"})
    if kind == "polygon":
        _option(options, "color", _rgba(s["fill"], s["fill_opacity"]))
        _option(options, "style", "solid")
        _option(options, "outline_color", _rgba(s["stroke"], s["opacity"]))
        _option(options, "outline_style", "solid")
        _option(options, "outline_width", s["weight"])
        _option(options, "outline_width_unit", "Pixel")
    elif kind == "line":
        _option(options, "line_color", _rgba(s["stroke"], s["opacity"]))
        _option(options, "line_style", "solid")
        _option(options, "line_width", s["weight"])
        _option(options, "line_width_unit", "Pixel")
        _option(options, "capstyle", "round")
        _option(options, "joinstyle", "round")
    else:
        _option(options, "name", "circle")
        _option(options, "color", _rgba(s["fill"], s["opacity"]))
        _option(options, "outline_color", _rgba(s["stroke"], s["opacity"]))
        _option(options, "outline_width", 1)
        _option(options, "outline_width_unit", "Pixel")
        _option(options, "size", 2 * s["radius"])
        _option(options, "size_unit", "Pixel")


def to_qml(layer: Layer) -> bytes:
    style, kind = layer.style or {}, _symbol_kind(layer.geometry_type)
    root = ET.Element("qgis", {"version": QGIS_VERSION, "styleCategories": "Symbology|Labeling"})
    rules = _rules(style)
    mode = rules[0][1][0] if rules[0][1] else None
    renderer_type = {"eq": "categorizedSymbol", "range": "graduatedSymbol"}.get(mode, "singleSymbol")
    renderer = ET.SubElement(root, "renderer-v2", {"type": renderer_type, "symbollevels": "0", "enableorderby": "0",
                                                   "forceraster": "0"})
    symbols = ET.Element("symbols")
    if renderer_type == "singleSymbol":
        _qgis_symbol(symbols, "0", kind, rules[0][2])
    elif renderer_type == "categorizedSymbol":
        renderer.set("attr", style["by"])
        categories = ET.SubElement(renderer, "categories")
        for i, (title, condition, s) in enumerate(rules):
            value = "" if condition[0] == "else" else _literal(condition[2])  # "" is QGIS's "all other values"
            ET.SubElement(categories, "category", {"value": value, "symbol": str(i), "label": title, "render": "true"})
            _qgis_symbol(symbols, str(i), kind, s)
    else:
        renderer.set("attr", style["by"])
        renderer.set("graduatedMethod", "GraduatedColor")
        ranges = ET.SubElement(renderer, "ranges")
        for i, (title, condition, s) in enumerate(rules):
            ET.SubElement(ranges, "range", {"lower": f"{condition[2]:g}", "upper": f"{condition[3]:g}",
                                            "symbol": str(i), "label": title, "render": "true"})
            _qgis_symbol(symbols, str(i), kind, s)
    renderer.append(symbols)
    if style.get("label"):
        labeling = ET.SubElement(root, "labeling", {"type": "simple"})
        settings = ET.SubElement(labeling, "settings", {"calloutType": "simple"})
        ET.SubElement(settings, "text-style", {"fieldName": style["label"], "fontFamily": "Sans Serif",
                                               "fontSize": "9", "fontSizeUnit": "Point",
                                               "textColor": "50,50,50,255", "isExpression": "0"})
        ET.SubElement(settings, "text-buffer", {"bufferDraw": "1", "bufferSize": "1", "bufferColor": "255,255,255,255"})
        ET.SubElement(settings, "placement", {"placement": "1" if kind == "polygon" else "0"})
    ET.SubElement(root, "layerGeometryType").text = {"point": "0", "line": "1", "polygon": "2"}[kind]
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export(layer: Layer, fmt: str) -> tuple[bytes, str]:
    """The style file in *fmt* ("sld" or "qml") and its media type."""
    return (to_sld(layer) if fmt == "sld" else to_qml(layer)), FORMATS[fmt]
