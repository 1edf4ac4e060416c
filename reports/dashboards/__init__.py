"""Leaders' dashboards: a catalog of indicators (every figure of the summaries, and statistics of the planning
layers per area computed by PostGIS), dashboards composed of panels in the browser, shared by role or area,
ward templates, comparison, wall screens with a display token, PDF/XLSX exports and a weekly PDF by email."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="reports.dashboards",
    package="reports.dashboards",
    blueprints=("reports.dashboards.api:bp", "reports.dashboards.pages:bp", "reports.dashboards.pages:wall_bp"),
    models=("reports.dashboards.models",),
    migrations=("migrations",),
    openapi=("reports.dashboards.openapi:document",),
    nav_links=(
        NavLink("dashboards_pages.dashboards_home", _l("Dashboards"),
                _l("Your dashboards: the figures you follow, side by side, for your areas; share them, show "
                   "them on a wall screen."), ("leader",), order=15),
    ),
    demo_steps=(DemoStep("dashboards", "reports.dashboards.demo:dashboards_step",
                         after=("users", "dossiers", "layers")),),
    hooks={"start_page": ("reports.dashboards.service:start_page",),
           # the weekly PDF by email, through the notifications' outbox and worker
           "notification_checks": ("reports.dashboards.mail:due_mails",),
           "notification_message": ("reports.dashboards.mail:write_mail",)},
)
