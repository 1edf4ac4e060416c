"""Filing citizen reports from every channel (QR-code form, JSON API, Open311, officers), with photos, limits
per client and area, ward QR codes and keychain sheets, and the public status page."""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="reports.intake",
    package="reports.intake",
    blueprints=("reports.intake.api:bp", "reports.intake.open311:bp", "reports.intake.pages:bp"),
    commands=("reports.intake.cli:keychains",),
    openapi=("reports.intake.openapi:document",),
    nav_links=(
        NavLink("intake_pages.keychains_page", _l("QR keychains"),
                _l("Print the QR keychain cards of your ward for residents."), ("officer",), order=30),
        NavLink("intake_pages.choose_ward", _l("Send a report"),
                _l("Tell your ward about a problem: rubbish, a broken street light, flooding, noise..."), order=50),
        NavLink("intake_pages.status_page", _l("Track a report"),
                _l("Follow a report you sent with its tracking code."), order=60),
    ),
    demo_steps=(DemoStep("reports", "reports.intake.demo:reports_step", after=("categories", "hotspots")),),
)
