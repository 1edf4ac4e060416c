"""Administrative areas (city, wards/communes, residential groups) with their changes over time, the units that
serve them, and the address gazetteer."""

from gisserver.core.features import DemoStep, Feature

FEATURE = Feature(
    name="reports.areas",
    package="reports.areas",
    blueprints=("reports.areas.api:bp",),
    commands=("reports.areas.cli:areas", "reports.areas.cli:units", "reports.areas.cli:gazetteer"),
    models=("reports.areas.models",),
    migrations=("migrations",),
    openapi=("reports.areas.openapi:document",),
    demo_steps=(
        DemoStep("areas", "reports.areas.demo:areas_step"),
        DemoStep("units", "reports.areas.demo:units_step", after=("areas",)),
        DemoStep("users", "reports.areas.demo:users_step", after=("units",)),
        DemoStep("gazetteer", "reports.areas.demo:gazetteer_step", after=("layers",)),
    ),
)
