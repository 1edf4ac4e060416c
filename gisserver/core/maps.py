"""Folium maps that load every script and stylesheet from our static/vendor, never a CDN."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import folium
from branca.element import Element, MacroElement
from flask import has_request_context
from flask_babel import gettext as _
from folium.map import CustomPane
from folium.plugins import Fullscreen, VectorGridProtobuf
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from gisserver.core import features
from gisserver.core.assets import asset_path
from gisserver.core.security import csp_nonce

VENDOR = "vendor"
MAX_ZOOM = 20
# Folium's asset names -> files under static/vendor (see scripts/vendor-assets.sh for versions).
LOCAL_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "jquery": "jquery/dist/jquery.min.js",
    "bootstrap": "bootstrap/dist/js/bootstrap.bundle.min.js",
    "bootstrap_css": "bootstrap/dist/css/bootstrap.min.css",
    "awesome_markers": "awesome-markers/dist/leaflet.awesome-markers.js",
    "awesome_markers_css": "awesome-markers/dist/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "fontawesome/css/all.min.css",
    "markerclusterjs": "markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "markercluster/dist/MarkerCluster.Default.css",
    "leaflet_draw_js": "leaflet-draw/dist/leaflet.draw.js",
    "leaflet_draw_css": "leaflet-draw/dist/leaflet.draw.css",
    "vectorGrid": "vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js",
    "Control.Fullscreen.js": "fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "fullscreen/Control.FullScreen.css",
}
# Assets Folium adds that our maps do not use (Bootstrap 3 glyph icons, a rotation helper).
DROPPED_ASSETS = {"glyphicons_css", "awesome_rotate_css"}
# Folium's Map always asks for these (about 400 KiB): only Font Awesome marker icons (folium.Icon) use them, so a
# map without such an icon goes without (a resident's form on a phone loads Leaflet and little else).
ICON_ASSETS = {"jquery", "bootstrap", "bootstrap_css", "awesome_markers", "awesome_markers_css",
               "awesome_markers_font_css"}


class UnvendoredAsset(RuntimeError):
    """A map element wants a script or stylesheet that is not in static/vendor."""


CITY_VIEW = ([16.463, 107.585], 13)  # where city maps open before they fit their data


def _uses_marker_icons(root: Element) -> bool:
    stack = [root]
    while stack:
        element = stack.pop()
        if isinstance(element, folium.Icon):
            return True
        stack.extend(element._children.values())
    return False


def localize_assets(root: Element, static_url: str) -> None:
    """Point every element's JS/CSS at static/vendor (content-hashed names inside the app); refuse any asset we
    have not vendored, and leave out the icon libraries a map without marker icons does not need."""
    base = static_url.rstrip("/") + "/"
    dropped = DROPPED_ASSETS if _uses_marker_icons(root) else DROPPED_ASSETS | ICON_ASSETS
    stack = [root]
    while stack:
        element = stack.pop()
        for attribute in ("default_js", "default_css"):
            assets = getattr(element, attribute, None)
            if not assets:
                continue
            local = []
            for name, url in assets:
                if name in dropped:
                    continue
                if name not in LOCAL_ASSETS:
                    raise UnvendoredAsset(f"{type(element).__name__} needs {name} ({url}), not vendored")
                local.append((name, base + asset_path(f"{VENDOR}/{LOCAL_ASSETS[name]}")))
            setattr(element, attribute, local)
        stack.extend(element._children.values())


def tooltip_text(text: object) -> str:
    """Text for a Folium Tooltip or Popup: Folium writes it raw into a JavaScript template literal that
    Leaflet shows as HTML, so it is escaped for HTML first and then for the literal (`, ${, backslash)."""
    escaped = html.escape(str(text), quote=True)
    return escaped.replace("\\", "\\\\").replace("`", "\\`").replace("$", "\\$")


def control_texts() -> dict[str, str]:
    """The words on Leaflet's and its plugins' buttons, in the visitor's language (English outside a request)."""
    return {"zoomIn": _("Zoom in"), "zoomOut": _("Zoom out"), "drawMarker": _("Place a new report"),
            "placeMarker": _("Click the map where the report is."), "cancel": _("Cancel"),
            "cancelTitle": _("Cancel placing")}


class LocalizedControls(MacroElement):
    """Translates the zoom buttons and Leaflet.draw's texts; added before any Draw control so it is built
    with them. The texts go in as JSON that is safe inside a <script>."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, t) {
            var zoomIn = map.getContainer().querySelector(".leaflet-control-zoom-in");
            var zoomOut = map.getContainer().querySelector(".leaflet-control-zoom-out");
            if (zoomIn) { zoomIn.title = t.zoomIn; zoomIn.setAttribute("aria-label", t.zoomIn); }
            if (zoomOut) { zoomOut.title = t.zoomOut; zoomOut.setAttribute("aria-label", t.zoomOut); }
            if (L.drawLocal) {
                L.drawLocal.draw.toolbar.buttons.marker = t.drawMarker;
                L.drawLocal.draw.toolbar.actions = { title: t.cancelTitle, text: t.cancel };
                L.drawLocal.draw.handlers.marker.tooltip.start = t.placeMarker;
            }
        })({{ this._parent.get_name() }}, {{ this.texts_json }});
        {% endmacro %}
    """)

    def __init__(self, texts: dict[str, str]):
        super().__init__()
        self._name = "LocalizedControls"
        self.texts_json = str(htmlsafe_json_dumps(texts))


def fullscreen_control() -> Fullscreen:
    return Fullscreen(title=_("Full screen"), title_cancel=_("Leave full screen"))


def offline_map(location, zoom_start: int, basemap_url: str = "", attribution: str = "", **kwargs) -> folium.Map:
    """A Folium map with the configured base map, or none (area boundaries then serve as background)."""
    m = folium.Map(
        location=location, zoom_start=zoom_start, tiles=None, control_scale=True, prefer_canvas=True, **kwargs
    )
    LocalizedControls(control_texts()).add_to(m)
    # Without a tile layer Leaflet's maxZoom is Infinity, and plugins that walk the zoom levels
    # (marker clusters) would never finish.
    m.options["max_zoom"] = MAX_ZOOM
    m.options["min_zoom"] = 3
    if basemap_url:
        folium.TileLayer(
            tiles=basemap_url, attr=attribution or "Base map", name="Base map", max_zoom=20, control=False
        ).add_to(m)
    elif has_request_context():
        add_city_base_map(m)
    return m


# The city's own base map: layers planners marked as such (streets, rivers, ...) drawn from our vector tiles in
# their catalog styles, under everything else, when no external base map is configured. The features that provide
# them plug into the hook "map_background" (a callable returning [{name, tiles, style, geometry}]).
BASE_MAP_PANE = "citybase"
BASE_MAP_Z = 120  # under the area outlines (150) and every layer's tiles (200) and shapes (400)
_BASE_STYLE_JS = """function (p) {
    var s = %(style)s, f = s.fill || s.stroke || "#888888", v = s.by ? p[s.by] : undefined;
    if (s.classes && typeof v === "number") {
        for (var i = 0; i < s.classes.length; i++) {
            if (v >= s.classes[i].min && v <= s.classes[i].max) { f = s.classes[i].colour; break; }
        }
    } else if (s.categories && Object.prototype.hasOwnProperty.call(s.categories, v)) { f = s.categories[v]; }
    return { color: s.stroke || f, weight: s.weight === undefined ? 2 : s.weight,
             opacity: s.opacity === undefined ? 0.9 : s.opacity, fill: %(filled)s, fillColor: f,
             fillOpacity: s.fill_opacity === undefined ? 0.35 : s.fill_opacity, radius: s.radius || 3 };
}"""


def base_map_layers() -> list[dict]:
    """The city's base map layers, from the features that provide them (none outside a request)."""
    if not has_request_context():
        return []
    return [entry for provide in features.hooks("map_background") for entry in provide()]


def add_city_base_map(m: folium.Map) -> None:
    layers = base_map_layers()
    if not layers:
        return
    CustomPane(BASE_MAP_PANE, z_index=BASE_MAP_Z, pointer_events=False).add_to(m)
    for entry in layers:
        # The style is data (JSON, safe inside a <script>); the function around it is ours.
        style = _BASE_STYLE_JS % {"style": htmlsafe_json_dumps(entry["style"] or {}),
                                  "filled": "false" if "Line" in entry["geometry"] else "true"}
        options = ("{" f"vectorTileLayerStyles: {{{htmlsafe_json_dumps(entry['name'])}: {style}}}, "
                   f"pane: {htmlsafe_json_dumps(BASE_MAP_PANE)}, interactive: false, maxNativeZoom: 22, "
                   "maxZoom: 22}")
        VectorGridProtobuf(entry["tiles"], f"base {entry['name']}", options, control=False).add_to(m)


def city_map(settings, height: str = "100%", **kwargs) -> folium.Map:
    """A map of the city with the configured base map (or none) and a full-screen button."""
    m = offline_map(*CITY_VIEW, settings.basemap_url, settings.basemap_attribution, height=height, **kwargs)
    fullscreen_control().add_to(m)
    return m


def render_map(m: folium.Map, static_url: str) -> str:
    """The map's full HTML document, with local assets only (no page serves it: its inline scripts carry no
    nonce, so pages use embed_map)."""
    localize_assets(m, static_url)
    return m.get_root().render()


_OPENING_TAG = re.compile(r"<(script|style)(?=[\s>])", re.IGNORECASE)
# Inside a <script> element only "</script" and "<!--" change how HTML reads it; escaped, they mean the same to
# JavaScript ("<\/" is "</" in a string), and no text in the map's data can end the element early.
_SCRIPT_BREAKS = re.compile(r"</(script)|<!--", re.IGNORECASE)


def with_nonce(html_text: str, nonce: str) -> str:
    """Folium's own markup with *nonce* on every <script> and <style> tag. Only for the map's header, which
    Folium builds from its assets and CSS: markup holding user data would get the nonce on injected tags too."""
    return _OPENING_TAG.sub(lambda match: f'<{match.group(1)} nonce="{nonce}"', html_text)


def script_element(code: str, nonce: str) -> Markup:
    """A map's JavaScript as one <script> element carrying the response's nonce."""
    safe = _SCRIPT_BREAKS.sub(lambda match: f"<\\/{match.group(1)}" if match.group(1) else "<\\!--", code)
    # Folium's generated JavaScript: user text in it went through tooltip_text or JSON, and nothing in it can
    # close the element early (escaped above).
    return Markup('<script nonce="{}">').format(nonce) + Markup(safe) + Markup("</script>")  # noqa: S704


@dataclass(frozen=True)
class EmbeddedMap:
    """A Folium map cut into the parts a page template places: head assets, the map div, its script.

    `header` and `script` are complete elements carrying the response's CSP nonce: a template writes
    `{{ map.header }}`, `{{ map.html }}` and `{{ map.script }}` as they are, never inside a <script> of its own."""

    name: str
    header: Markup
    html: Markup
    script: Markup


def embed_map(m: folium.Map, static_url: str) -> EmbeddedMap:
    localize_assets(m, static_url)
    root = m.get_root()
    root.render()
    nonce = csp_nonce()
    # Folium's own markup: asset links, CSS and the map's <div> (no user text is in either part).
    header = Markup(with_nonce(root.header.render(), nonce))  # noqa: S704
    return EmbeddedMap(m.get_name(), header, Markup(root.html.render()),  # noqa: S704
                       script_element(root.script.render(), nonce))
