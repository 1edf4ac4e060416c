"""What the summaries call their figures, in Vietnamese and English (pages, exports, the map legend)."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from reports.workflow.labels import CHANNEL_LABELS

REPORT_MEASURES = {
    "received": _l("Received"), "resolved": _l("Resolved"), "rejected": _l("Rejected"), "closed": _l("Closed"),
    "open": _l("Still open"), "overdue": _l("Overdue"), "on_time": _l("Closed on time"),
    "late": _l("Closed late"), "on_time_rate": _l("On-time rate"),
}
DOSSIER_STATUSES = {"in_progress": _l("In progress"), "finished": _l("Finished"), "rejected": _l("Rejected"),
                    "withdrawn": _l("Withdrawn")}
DOSSIER_MEASURES = {
    "received": _l("Received"), "finished": _l("Finished"), "on_time": _l("On time"), "late": _l("Late"),
    "returned": _l("Rejected or withdrawn"), "in_progress": _l("In progress"), "overdue": _l("Overdue"),
    "online": _l("Submitted online"), "on_time_rate": _l("On-time rate"), "online_share": _l("Online share"),
}
ALERT_MEASURES = {
    "received": _l("Alerts"), "closed": _l("Closed"), "on_time": _l("Closed on time"), "late": _l("Closed late"),
    "open": _l("Still open"), "overdue": _l("Overdue"), "on_time_rate": _l("On-time rate"),
}
INDICATORS = {
    "reports_received": _l("Reports received"),
    "reports_on_time_rate": _l("Reports handled on time"),
    "reports_overdue": _l("Overdue backlog"),
    "dossiers_received": _l("Dossiers received"),
    "dossiers_on_time_rate": _l("Dossiers on time"),
    "dossiers_online_share": _l("Dossiers submitted online"),
}
AGES = {"0-1": _l("under 1 day"), "1-3": _l("1-3 days"), "3-7": _l("3-7 days"), "7-30": _l("7-30 days"),
        "30+": _l("over 30 days")}
CHANNELS = CHANNEL_LABELS
LEVELS = {"city": _l("City"), "ward": _l("Ward/commune"), "group": _l("Residential group")}
SECTIONS = {
    "overview": _l("Overview"), "children": _l("Areas side by side"), "category": _l("By category"),
    "unit": _l("By unit"), "channel": _l("By channel"), "trend": _l("Trend"), "backlog": _l("Backlog by age"),
    "dossiers": _l("Administrative dossiers"), "dossier_trend": _l("Dossiers trend"), "alerts": _l("Camera alerts"),
    "cameras": _l("Cameras"), "reports": _l("Citizen reports"), "records": _l("Records"),
}
WORDS = {
    # "Name" alone reads as a person's name ("Họ tên"): these rows are places.
    "area": _l("Area"), "code": _l("Code"), "name": _l("Area name"), "period": _l("Period"), "as_of": _l("As of"),
    "figure": _l("Figure"), "value": _l("Value"), "rank": _l("Rank"), "median_hours": _l("Median handling (hours)"),
    "p90_hours": _l("90th percentile handling (hours)"), "online": _l("Online"), "offline": _l("Offline"),
    "maintenance": _l("Maintenance"), "total": _l("Total"), "direct": _l("Filed in the area itself"),
    "areas_now": _l("on today's areas"), "areas_then": _l("on the areas of the time"), "status": _l("Status"),
    "created": _l("Created"), "due": _l("Due"), "closed": _l("Closed"), "category": _l("Category"),
    "unit": _l("Unit"), "channel": _l("Channel"), "type": _l("Type"), "procedure": _l("Procedure"),
    "summary_title": _l("Summary"), "none": _l("none"), "no_data": _l("no data"),
    "explanations": _l("Explanations"), "meaning": _l("How it is counted"), "section": _l("Section"),
    "city": _l("City"), "page": _l("Page"), "printed": _l("Printed"), "week_of": _l("Week starting"),
    "month": _l("Month"), "from": _l("From"), "to": _l("To"),
}
# What each figure counts, for the explanations sheet of the XLSX export (leaders forward these files).
REPORT_NOTES = {
    "received": _l("Reports received in the period (by the day they were received)."),
    "resolved": _l("Of those, reports resolved by the as-of date."),
    "rejected": _l("Of those, reports closed without handling (not within the ward's remit), with a reason."),
    "open": _l("Of those, reports still open on the as-of date."),
    "overdue": _l("Open reports past their deadline on the as-of date (each category has its deadline)."),
    "on_time": _l("Closed reports closed by their deadline."),
    "late": _l("Closed reports closed after their deadline."),
    "on_time_rate": _l("Closed on time divided by all closed reports (resolved and rejected)."),
    "median_hours": _l("Half of the closed reports were closed within this many hours of being received."),
    "p90_hours": _l("Nine closed reports in ten were closed within this many hours."),
}
DOSSIER_NOTES = {
    "received": _l("Administrative dossiers received in the period."),
    "finished": _l("Of those, dossiers finished by the as-of date."),
    "on_time": _l("Finished dossiers finished by their due date."),
    "late": _l("Finished dossiers finished after their due date."),
    "returned": _l("Dossiers rejected or withdrawn."),
    "in_progress": _l("Dossiers still being processed on the as-of date."),
    "overdue": _l("Dossiers in progress past their due date on the as-of date."),
    "online": _l("Dossiers submitted through the online public service portal."),
    "on_time_rate": _l("Finished on time divided by all finished dossiers."),
    "online_share": _l("Submitted online divided by all dossiers received."),
}
ALERT_NOTES = {
    "received": _l("AI camera alerts raised in the period (repeated detections of one event count once)."),
    "open": _l("Alerts still open on the as-of date."),
    "overdue": _l("Open alerts past their deadline on the as-of date."),
    "on_time_rate": _l("Alerts closed by their deadline divided by all closed alerts."),
}


def english() -> bool:
    return str(get_locale()) == "en"


def language() -> str:
    """The reader's language code ("vi", "en"), for exports written outside templates."""
    return str(get_locale())


def label(table: dict, key: str) -> str:
    value = table.get(key)
    return str(value) if value is not None else str(key)


def period_label(key: str) -> str:
    """A trend bucket as readers write it: "2026-11" -> 11/2026, "2026-W45" -> "Tuần 45/2026"."""
    if "-W" in key:
        year, week = key.split("-W")
        return _("Week %(week)s/%(year)s", week=int(week), year=year)
    year, _sep, month = key.partition("-")
    return f"{month}/{year}" if month else key
