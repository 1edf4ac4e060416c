"""Leaders' figures per area: reports, administrative dossiers and alerts rolled up by day, drill-down to the
records, the area map, and PDF/XLSX/CSV exports."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="reports.summaries",
    package="reports.summaries",
    blueprints=("reports.summaries.api:bp", "reports.summaries.pages:bp"),
    commands=("reports.summaries.cli:dossiers", "reports.summaries.cli:summaries"),
    models=("reports.summaries.models",),
    migrations=("migrations",),
    openapi=("reports.summaries.openapi:document",),
    nav_links=(
        NavLink("summaries_pages.leader_home", _l("Area figures"),
                _l("Your city, wards and groups shaded by an indicator; "
                   "drill down to the reports and dossiers behind a figure."), ("leader",), order=20),
    ),
    demo_steps=(DemoStep("dossiers", "reports.summaries.demo:dossiers_step", after=("ai_events",)),),
)
