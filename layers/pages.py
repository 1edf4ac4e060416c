"""The planner's map: the layer catalog as a tree, vector tiles styled from the catalog, identify on click."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import lazy_gettext as _l
from folium.plugins import Fullscreen, VectorGridProtobuf

from gisserver.auth import is_staff
from gisserver.http import db_session
from gisserver.maps import embed_map, offline_map
from layers import catalog

bp = Blueprint("layer_pages", __name__, template_folder="templates")
CATEGORY_LABELS = {
    "planning": _l("Planning"), "infrastructure": _l("Infrastructure"), "flood": _l("Flood"),
    "environment": _l("Environment"), "disaster": _l("Disaster prevention"), "administrative": _l("Administrative"),
    "other": _l("Other"),
}
CITY_VIEW = ([16.463, 107.585], 13)


def _tree(layers) -> list[dict]:
    """Category -> group -> layers, in catalog order."""
    tree: dict[str, dict[str, list]] = {}
    for layer in layers:
        tree.setdefault(layer.category, {}).setdefault(layer.group_name or "", []).append(layer)
    return [{"category": CATEGORY_LABELS.get(c, c), "groups": [{"name": g, "layers": ls} for g, ls in groups.items()]}
            for c, groups in tree.items()]


def _tile_options(layer) -> str:
    # The style is data (JSON); the function around it is ours, so no catalog text becomes code.
    style = json.dumps(layer.style or {})
    name = json.dumps(layer.name)
    return (
        "{" f'"vectorTileLayerStyles": {{{name}: function (p) {{ return GIS.style({style}, p); }}}}, '
        '"interactive": true, "maxNativeZoom": 22, "maxZoom": 22, '
        f'"getFeatureId": function (f) {{ return {name} + ":" + f.id; }}' "}"
    )


@bp.get("/maps/layers")
def planner_map():
    layers = catalog.list_layers(db_session(), catalog.LayerFilter(include_internal=is_staff()))
    settings = current_app.config["SETTINGS"]
    m = offline_map(*CITY_VIEW, settings.basemap_url, settings.basemap_attribution, height="100%")
    Fullscreen().add_to(m)
    names = {}
    for layer in layers:
        tiles = url_for("ogc.tile", collection_id=layer.name, z=0, x=0, y=0).replace("/0/0/0", "/{z}/{x}/{y}")
        grid = VectorGridProtobuf(tiles, layer.name, _tile_options(layer), control=False)
        grid.add_to(m)
        names[layer.name] = grid.get_name()
    config = {
        "map": m.get_name(),
        "layers": {layer.name: {"var": names[layer.name], "title": layer.title, "style": layer.style,
                                "geometry": layer.geometry_type} for layer in layers},
        "identify": url_for("identify.identify_point"),
        "geocode": url_for("reports.geocode"),
        "areas": url_for("reports.areas_geojson", level="ward"),
    }
    return render_template("layers/planner_map.html", map=embed_map(m, url_for("static", filename="")),
                           tree=_tree(layers), config=config)
