"""Map layers: import planning files into PostGIS, keep the catalog, serve OGC API - Features and OGC API - Tiles
(and the same vector tiles in XYZ form), export, and the planners' map page."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="layers",
    package="layers",
    blueprints=("layers.api:bp", "layers.api:imports_bp", "layers.ogc:bp", "layers.ogc:api_bp", "layers.ogc:xyz_bp",
                "layers.pages:bp"),
    commands=("layers.cli:layers",),
    models=("layers.models",),
    migrations=("migrations",),
    openapi=("layers.openapi:api_document",),
    template_context=("layers.labels:template_labels",),
    nav_links=(
        NavLink("layer_pages.planner_map", _l("Planning map"),
                _l("Planning and infrastructure layers: switch them on, click to see what is planned, "
                   "find an address."), order=30),
        NavLink("ogc.landing", _l("Data catalogue"), _l("The layers as OGC API - Features, for GIS software."),
                ("planner",), order=70),
    ),
    demo_steps=(DemoStep("layers", "layers.demo:layers_step", after=("users",)),),
    # Every map page draws the city's own base map layers when no external base map is set.
    hooks={"map_background": ("layers.pages:map_background",)},
)
