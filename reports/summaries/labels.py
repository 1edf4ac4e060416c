"""What the summaries call their figures, in Vietnamese and English (pages, exports, the map legend)."""

from __future__ import annotations

from flask_babel import get_locale
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
    "area": _l("Area"), "code": _l("Code"), "name": _l("Name"), "period": _l("Period"), "as_of": _l("As of"),
    "figure": _l("Figure"), "value": _l("Value"), "rank": _l("Rank"), "median_hours": _l("Median handling (hours)"),
    "p90_hours": _l("90th percentile handling (hours)"), "online": _l("Online"), "offline": _l("Offline"),
    "maintenance": _l("Maintenance"), "total": _l("Total"), "direct": _l("Filed in the area itself"),
    "areas_now": _l("on today's areas"), "areas_then": _l("on the areas of the time"), "status": _l("Status"),
    "created": _l("Created"), "due": _l("Due"), "closed": _l("Closed"), "category": _l("Category"),
    "unit": _l("Unit"), "channel": _l("Channel"), "type": _l("Type"), "procedure": _l("Procedure"),
    "summary_title": _l("Summary"), "none": _l("none"), "no_data": _l("no data"),
}


def english() -> bool:
    return str(get_locale()) == "en"


def label(table: dict, key: str) -> str:
    value = table.get(key)
    return str(value) if value is not None else str(key)
