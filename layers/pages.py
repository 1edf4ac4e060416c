"""The planner's map: the layer catalog as a tree, each layer drawn in its catalog style, identify on click.

Large layers come as vector tiles (Folium's VectorGridProtobuf over our MVT endpoint); small ones as
GeoJSON fetched from the OGC API when first shown. The page itself never carries a layer's features.
"""

from __future__ import annotations

import folium
from flask import Blueprint, current_app, render_template, url_for
from flask_babel import lazy_gettext as _l
from folium.plugins import VectorGridProtobuf
from folium.utilities import JsCode
from jinja2.utils import htmlsafe_json_dumps

from gisserver.accounts.auth import is_staff
from gisserver.core.access import open_to
from gisserver.core.http import db_session
from gisserver.core.maps import city_map, embed_map
from layers import catalog

bp = Blueprint("layer_pages", __name__, template_folder="templates")
CATEGORY_LABELS = {
    "planning": _l("Planning"), "infrastructure": _l("Infrastructure"), "flood": _l("Flood"),
    "environment": _l("Environment"), "disaster": _l("Disaster prevention"), "administrative": _l("Administrative"),
    "other": _l("Other"),
}
# Up to this many features a layer is sent whole as GeoJSON (crisp, no tile seams); beyond, as vector tiles.
SMALL_LAYER_FEATURES = 1000


def _tree(layers) -> list[dict]:
    """Category -> group (the planning project) -> layers, in catalog order."""
    tree: dict[str, dict[str, list]] = {}
    for layer in layers:
        tree.setdefault(layer.category, {}).setdefault(layer.group_name or "", []).append(layer)
    return [{"category": CATEGORY_LABELS.get(c, c), "groups": [{"name": g, "layers": ls} for g, ls in groups.items()]}
            for c, groups in tree.items()]


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
    entry = {"title": layer.title, "style": layer.style, "geometry": layer.geometry_type}
    if layer.feature_count <= SMALL_LAYER_FEATURES:
        # An empty GeoJSON layer; planner.js fills it from the OGC API the first time it is shown.
        style = _js(layer.style or {})
        grid = folium.GeoJson(
            {"type": "FeatureCollection", "features": []}, control=False,
            style=JsCode(f"function (f) {{ return GIS.style({style}, f.properties, f.geometry.type); }}"),
            point_to_layer=JsCode(f"function (f, at) {{ return L.circleMarker(at, GIS.style({style}, f.properties)); }}"
                                  ),
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


@bp.get("/maps/layers")
@open_to("everyone; the catalog it shows hides internal layers from non-staff")
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
                           tree=_tree(layers), config=config)
