"""Closing the loop: every report and alert reaches a person, and every resident hears back.

The lower domains announce their changes through hooks (report_changed, alert_changed, hotspot_level_changed);
this package writes them to an outbox in the same transaction, and `gisserver worker` (procrastinate) delivers
them by email, SMS/chat gateways, signed webhooks and Web Push, runs the scheduled checks, and feeds the live map
(Server-Sent Events from PostgreSQL LISTEN/NOTIFY).
"""

from flask_babel import lazy_gettext as _l

from gisserver.core.features import DemoStep, Feature, NavLink

FEATURE = Feature(
    name="reports.notifications",
    package="reports.notifications",
    blueprints=("reports.notifications.api:bp", "reports.notifications.pages:bp"),
    commands=("reports.notifications.cli:worker", "reports.notifications.cli:notifications"),
    models=("reports.notifications.models",),
    migrations=("migrations",),
    openapi=("reports.notifications.openapi:document",),
    template_context=("reports.notifications.pages:live_context",),
    nav_links=(
        NavLink("notifications_pages.choices_page", _l("My notifications"),
                _l("How you are told of your units' and areas' reports and alerts: email, text message, browser "
                   "notifications, quiet hours."), ("officer", "leader"), order=90),
    ),
    hooks={
        "report_filing": ("reports.notifications.outbox:filing_part",),
        "report_changed": ("reports.notifications.outbox:on_report_changed",),
        "alert_changed": ("reports.notifications.outbox:on_alert_changed",),
        "hotspot_level_changed": ("reports.notifications.outbox:on_hotspot_level_changed",),
    },
    demo_steps=(DemoStep("duty_contacts", "reports.notifications.demo:contacts_step",
                         after=("units", "users", "reports", "ai_events", "hotspots")),),
)
