"""The planners' workspace: planning projects (decisions, areas, layers, documents) and the pages where planners
manage, style, edit and look back at layers. The data itself, its history and the OGC APIs are in layers/."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="planning",
    package="planning",
    blueprints=("planning.api:bp", "planning.pages:bp"),
    commands=("planning.cli:projects_group",),
    models=("planning.models",),
    migrations=("migrations",),
    openapi=("planning.openapi:document",),
    template_context=("planning.pages:workspace_context",),
    nav_links=(
        NavLink("planning_pages.catalog_page", _l("Layers workspace"),
                _l("Every layer: upload, describe, style, edit features and look back at earlier versions."),
                ("planner",), order=35),
        NavLink("planning_pages.project_list", _l("Planning projects"),
                _l("Projects with their decisions, areas, layers and documents."), order=40),
    ),
    demo_steps=(DemoStep("projects", "planning.demo:projects_step", after=("layers", "areas")),),
)
