"""Leaders' pages: the map of areas shaded by an indicator, an area's summary with charts, and the list of
records behind any figure."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from folium.plugins import Fullscreen

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.core.access import on_replica
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session
from gisserver.core.maps import embed_map, offline_map
from reports.cameras.alert_types import alert_type_labels
from reports.summaries import labels
from reports.summaries.figures import INDICATORS, rank, records, summarize
from reports.summaries.forms import rank_by, record_filter, summary_query
from reports.summaries.hierarchy import area_in_scope, default_area, load_hierarchy, visible_area_ids

bp = Blueprint("summaries_pages", __name__, template_folder="templates")
CITY_VIEW = ([16.463, 107.585], 11)
PERIOD_ARGS = ("from", "to", "as_of", "areas", "trend", "category")


def _start_area() -> str:
    area = default_area(load_hierarchy(db_session()), current_principal())
    if area is None:
        raise NotFound("your account has no area to follow; ask an administrator to grant one")
    return area.code


def _pinned(summary: dict) -> dict:
    """The resolved period of a summary as URL arguments, so that a figure's link counts the same records."""
    period = summary["period"]
    pinned = {"from": period["from"], "to": period["to"], "as_of": period["as_of"], "areas": period["areas"],
              "trend": period["trend"]}
    if summary.get("category"):
        pinned["category"] = summary["category"]["code"]
    return pinned


@bp.app_context_processor
def summary_labels():
    return {"SUMMARY": labels}


@bp.get("/leader")
@page_roles("leader")
@on_replica
def leader_home():
    return redirect(url_for("summaries_pages.leader_map", area=_start_area()))


@bp.get("/maps/leader")
@page_roles("leader")
@on_replica
def leader_map():
    code = request.args.get("area") or _start_area()
    hierarchy = load_hierarchy(db_session())
    area_in_scope(hierarchy, visible_area_ids(hierarchy, current_principal()), code)  # 404 outside the caller's areas
    indicator = rank_by()
    settings = current_app.config["SETTINGS"]
    m = offline_map(*CITY_VIEW, settings.basemap_url, settings.basemap_attribution, height="100%")
    m.options["zoom_snap"] = 0.25  # fit an area closely: its parts get room for their names
    Fullscreen().add_to(m)
    args = {k: request.args[k] for k in PERIOD_ARGS if request.args.get(k)}
    config = {
        "map": m.get_name(), "area": code, "indicator": indicator, "params": args,
        "api": url_for("summaries.get_map", code="CODE"),
        "summary": url_for("summaries_pages.summary_page", code="CODE"),
        "page": url_for("summaries_pages.leader_map"),
        "labels": {
            "indicators": {k: str(v) for k, v in labels.INDICATORS.items()},
            "reports": {k: str(v) for k, v in labels.REPORT_MEASURES.items()},
            "dossiers": {k: str(v) for k, v in labels.DOSSIER_MEASURES.items()},
            "levels": {k: str(v) for k, v in labels.LEVELS.items()},
            "sections": {"reports": str(labels.SECTIONS["reports"]), "dossiers": str(labels.SECTIONS["dossiers"])},
            "noData": str(labels.WORDS["no_data"]), "rank": str(labels.WORDS["rank"]),
        },
    }
    return render_template("summaries/leader_map.html", map=embed_map(m, url_for("static", filename="")),
                           config=config, indicators=INDICATORS, indicator=indicator, args=args)


@bp.get("/summaries/<code>")
@page_roles("leader")
@on_replica
def summary_page(code: str):
    summary = summarize(db_session(), current_principal(), summary_query(code), rank_by=rank_by())
    pinned = _pinned(summary)
    children = {c["code"]: c for c in summary["children"]}
    charts = {
        "trend": summary["reports"]["trend"], "dossierTrend": summary["dossiers"]["trend"],
        "categories": summary["reports"]["by_category"][:12],
        "ranking": [{"code": c, "name": children[c]["name"], "value": children[c]["reports"]["on_time_rate"]}
                    for c in rank(summary["children"], "reports_on_time_rate")],
        "english": labels.english(),
        "periods": {t["key"]: labels.period_label(t["key"])
                    for t in summary["reports"]["trend"] + summary["dossiers"]["trend"]},
        "labels": {"received": str(labels.REPORT_MEASURES["received"]),
                   "resolved": str(labels.REPORT_MEASURES["resolved"]),
                   "overdue": str(labels.REPORT_MEASURES["overdue"]),
                   "onTimeRate": str(labels.REPORT_MEASURES["on_time_rate"]),
                   "dossiers": str(labels.SECTIONS["dossiers"]),
                   "dossierOnTime": str(labels.DOSSIER_MEASURES["on_time_rate"])},
    }
    return render_template("summaries/summary.html", s=summary, pinned=pinned, charts=charts, args=pinned,
                           alert_types=alert_type_labels(db_session(), labels.english()))


@bp.get("/summaries/<code>/records")
@page_roles("leader")
@on_replica
def records_page(code: str):
    page = records(db_session(), current_principal(), summary_query(code), record_filter())
    args = {k: request.args[k] for k in (*PERIOD_ARGS, "source", "measure", "child", "dim", "key")
            if request.args.get(k)}
    period_args = {k: v for k, v in args.items() if k in PERIOD_ARGS}
    return render_template("summaries/summary_records.html", page=page, args=args, period_args=period_args,
                           alert_types=alert_type_labels(db_session(), labels.english()))
