"""The planner's map: the layer catalog as a tree, each layer drawn in its catalog style, identify on click.

Large layers come as vector tiles (Folium's VectorGridProtobuf over our MVT endpoint); small ones as
GeoJSON fetched from the OGC API when first shown. The page itself never carries a layer's features.
"""

from __future__ import annotations

import folium
from flask import Blueprint, current_app, render_template, url_for
from folium.plugins import VectorGridProtobuf
from folium.utilities import JsCode
from jinja2.utils import htmlsafe_json_dumps

from gisserver.accounts.auth import is_staff
from gisserver.core.access import on_replica, open_to
from gisserver.core.http import db_read_session, db_session
from gisserver.core.maps import city_map, embed_map
from layers import catalog
from layers.labels import attribute_label, layer_category

bp = Blueprint("layer_pages", __name__, template_folder="templates")
# Up to this many features a layer is sent whole as GeoJSON (crisp, no tile seams); beyond, as vector tiles.
SMALL_LAYER_FEATURES = 1000


def _tree(layers) -> list[dict]:
    """Category -> group (the planning project) -> layers, in catalog order (a category comes where its first
    layer does); headings as the catalog writes them, categories in the reader's language."""
    tree: dict[str, dict[str, list]] = {}
    for layer in layers:
        tree.setdefault(layer.category, {}).setdefault(layer.group_name or "", []).append(layer)
    return [{"category": layer_category(c), "groups": [{"name": g, "layers": ls} for g, ls in groups.items()]}
            for c, groups in tree.items()]


def _legend(layer) -> list[dict]:
    """A style's classes as the legend reads them: the label the catalog gives a code, else the code."""
    style = layer.style or {}
    if not (style.get("by") and style.get("categories")):
        return []
    labels = style.get("labels") or {}
    return [{"value": value, "label": labels.get(value, value), "colour": colour}
            for value, colour in style["categories"].items()]


def _js(value) -> str:
    # JSON that is also safe inside a <script> element: style category values come from users' files.
    return str(htmlsafe_json_dumps(value))


def _tile_options(layer) -> str:
    # The style is data (JSON); the function around it is ours, so no catalog text becomes code.
    name, style, geometry = _js(layer.name), _js(layer.style or {}), _js(layer.geometry_type)
    return (
        "{" f"vectorTileLayerStyles: {{{name}: function (p) {{ return GIS.style({style}, p, {geometry}); }}}}, "
        "interactive: true, maxNativeZoom: 22, maxZoom: 22, "
        f"getFeatureId: function (f) {{ return {name} + ':' + f.id; }}" "}"
    )


def _layer_on_map(layer, m: folium.Map) -> dict:
    """Add one catalog layer to the map; what planner.js needs to switch and load it."""
    entry = {"title": layer.title, "style": layer.style, "geometry": layer.geometry_type,
             "shown": layer.shown_by_default, "legend": _legend(layer),
             # What identify and the print legend show: aliases, formats and units, in the catalog's order.
             "attributes": [{"name": a["name"], "label": attribute_label(a), "type": a["type"],
                             **{k: a[k] for k in ("format", "unit", "decimals") if k in a}} for a in layer.attributes]}
    if layer.feature_count <= SMALL_LAYER_FEATURES:
        # An empty GeoJSON layer; planner.js fills it from the OGC API the first time it is shown.
        style = _js(layer.style or {})
        grid = folium.GeoJson(
            {"type": "FeatureCollection", "features": []}, control=False,
            style=JsCode(f"function (f) {{ return GIS.style({style}, f.properties, f.geometry.type); }}"),
            # Drawn in the layer's own pane (planner.js makes one per layer: its opacity and its place in the
            # stack), points included.
            point_to_layer=JsCode(f"function (f, at) {{ return L.circleMarker(at, Object.assign("
                                  f"GIS.style({style}, f.properties), GIS.layerPane({_js(layer.name)}))); }}"),
        )
        entry["kind"] = "geojson"
        entry["data"] = url_for("ogc.items", collection_id=layer.name, limit=max(layer.feature_count, 1), f="json")
    else:
        # The XYZ form (Leaflet's {z}/{x}/{y}); OGC API - Tiles has the same tiles at {z}/{y}/{x}.
        tiles = url_for("xyz.tile_xyz", name=layer.name, z=0, x=0, y=0).replace("/0/0/0.mvt",
                                                                                      "/{z}/{x}/{y}.mvt")
        grid = VectorGridProtobuf(tiles, layer.name, _tile_options(layer), control=False)
        entry["kind"] = "tiles"
    grid.add_to(m)
    entry["var"] = grid.get_name()
    return entry


def map_background() -> list[dict]:
    """The hook "map_background": the city's base map layers, drawn by every map page (gisserver.core.maps)."""
    return [{"name": layer.name, "title": layer.title, "style": layer.style or {}, "geometry": layer.geometry_type,
             "tiles": url_for("xyz.tile_xyz", name=layer.name, z=0, x=0, y=0).replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")}
            for layer in catalog.base_map(db_read_session())]


@bp.get("/maps/layers")
@open_to("everyone; the catalog it shows hides internal layers from non-staff")
@on_replica
def planner_map():
    layers = catalog.list_layers(db_session(), catalog.LayerFilter(include_internal=is_staff()))
    m = city_map(current_app.config["SETTINGS"])
    config = {
        "map": m.get_name(),
        "layers": {layer.name: _layer_on_map(layer, m) for layer in layers},
        "identify": url_for("identify.identify_point"),
        "geocode": url_for("areas.geocode"),
        "areas": url_for("areas.areas_geojson", level="ward"),
    }
    return render_template("layers/planner_map.html", map=embed_map(m, url_for("static", filename="")),
                           tree=_tree(layers), config=config, legends={layer.name: _legend(layer) for layer in layers})
