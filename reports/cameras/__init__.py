"""Cameras with their view cones, flood hotspots and their water levels, AI detections and the alerts they
raise, routed to the units of each alert type."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="reports.cameras",
    package="reports.cameras",
    blueprints=("reports.cameras.api:bp", "reports.cameras.pages:bp"),
    commands=("reports.cameras.cli:cameras", "reports.cameras.cli:hotspots", "reports.cameras.cli:alert_types"),
    demo_commands=("reports.cameras.cli:pulse",),
    models=("reports.cameras.models",),
    migrations=("migrations",),
    openapi=("reports.cameras.openapi:document",),
    nav_links=(
        NavLink("cameras_pages.flood_map", _l("Flood hotspots"),
                _l("Water levels at the flood hotspots, refreshed every minute."), order=40),
    ),
    demo_steps=(
        DemoStep("alert_types", "reports.cameras.demo:alert_types_step", after=("categories",)),
        DemoStep("cameras", "reports.cameras.demo:cameras_step", after=("units", "layers")),
        DemoStep("hotspots", "reports.cameras.demo:hotspots_step", after=("cameras",)),
        # After the residents' reports, so that alerts link to the reports of what the cameras saw.
        DemoStep("ai_events", "reports.cameras.demo:ai_events_step", after=("reports", "alert_types")),
    ),
)
