"""The officers' and leaders' working pages, where reports, cameras and alerts meet: the reports map and a
report's page."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import Feature, NavLink

FEATURE = Feature(
    name="reports.operations",
    package="reports.operations",
    blueprints=("reports.operations.pages:bp",),
    nav_links=(
        NavLink("operations.officer_map", _l("Reports map"),
                _l("Reports of your units on a map: filter, place new ones, move misplaced ones; cameras and alerts."),
                ("officer", "leader"), order=10),
        NavLink("operations.queue_page", _l("Work queue"),
                _l("The reports and AI alerts of your units as a list: find one by its code, address or caller; "
                   "overdue first."), ("officer", "leader"), order=11),
    ),
)
