"""Reading a summary request (area, period, figure, ranking) and the label tables, shared by the API and pages."""

from __future__ import annotations

from flask import request

from gisserver.core.exceptions import Invalid
from gisserver.core.http import date_arg, db_session, int_arg
from reports.cameras.alert_types import alert_type_labels
from reports.summaries import labels
from reports.summaries.figures import INDICATORS, RecordFilter, SummaryQuery


def summary_query(code: str) -> SummaryQuery:
    """The area, period, as-of date and areas (now/then) of a request, shared by every summary URL."""
    return SummaryQuery(area_code=code, date_from=date_arg("from"), date_to=date_arg("to"), as_of=date_arg("as_of"),
                        mode=request.args.get("areas") or "now", trend=request.args.get("trend") or None,
                        category=request.args.get("category") or None)


def record_filter() -> RecordFilter:
    return RecordFilter(source=request.args.get("source") or "reports", measure=request.args.get("measure") or
                        "received", child=request.args.get("child") or None, dim=request.args.get("dim") or None,
                        key=request.args.get("key"), page=int_arg("page", 1), per_page=int_arg("per_page", 50))


def rank_by() -> str:
    indicator = request.args.get("rank_by") or request.args.get("indicator") or "reports_on_time_rate"
    if indicator not in INDICATORS:
        raise Invalid(f"indicator must be one of {', '.join(INDICATORS)}", {"field": "indicator"})
    return indicator


def label_tables() -> dict:
    return {"words": labels.WORDS, "reports": labels.REPORT_MEASURES, "dossiers": labels.DOSSIER_MEASURES,
            "alerts": labels.ALERT_MEASURES, "sections": labels.SECTIONS, "ages": labels.AGES,
            "channels": labels.CHANNELS, "alert_types": alert_type_labels(db_session(), labels.english()),
            "notes": {"reports": labels.REPORT_NOTES, "dossiers": labels.DOSSIER_NOTES, "alerts": labels.ALERT_NOTES}}
