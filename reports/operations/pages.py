"""Officers' and leaders' working pages: the reports map, the work queue (reports and AI alerts as a list, with the
same filters as the map), and a report's page with everything an officer does to it."""

from __future__ import annotations

from urllib.parse import urlencode

import folium
from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from folium.plugins import Draw, MarkerCluster
from sqlalchemy.orm import Session

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.accounts.users import Principal
from gisserver.core.access import on_primary
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session
from gisserver.core.maps import city_map, embed_map, tooltip_text
from reports.areas import sql as geo
from reports.areas.models import Area
from reports.areas.service import ancestors, list_areas
from reports.areas.units import list_units
from reports.cameras import alerts as alert_service
from reports.cameras import service as camera_service
from reports.cameras.alert_types import alert_type_labels
from reports.notifications.admin import history as delivery_history
from reports.operations.queue import alert_rows
from reports.workflow import photos as photo_service
from reports.workflow import queries
from reports.workflow.categories import list_categories
from reports.workflow.forms import queue_filter
from reports.workflow.history import entries as history_entries
from reports.workflow.labels import CHANNEL_LABELS, STATUS_LABELS, actor_text, event_text, history_action
from reports.workflow.models import OPEN_STATUSES
from reports.workflow.transitions import ANSWERED_ACTIONS, TRANSITIONS

bp = Blueprint("operations", __name__, template_folder="templates")
CAMERA_HEALTH = {"online": _l("online"), "offline": _l("offline"), "maintenance": _l("under maintenance")}
ACTIONS = {"acknowledge": _l("Acknowledge"), "start": _l("Start handling"), "resolve": _l("Resolve"),
           "reject": _l("Reject"), "reopen": _l("Reopen")}
# Messages sent about a report (reports/notifications): the channel and the outcome in the reader's words.
DELIVERY_CHANNELS = {"email": _l("Email"), "sms": _l("Text message"), "chat": _l("Chat"), "webhook": _l("Webhook"),
                     "push": _l("Browser notification")}
DELIVERY_OUTCOMES = {"started": _l("sending"), "sent": _l("delivered"), "error": _l("failed, will retry"),
                     "dead": _l("failed for good"), "skipped": _l("not sent")}
RECIPIENTS = {"unit": _l("unit"), "user": _l("staff"), "resident": _l("resident"), "subscriber": _l("system")}
# The queue's orders: what needs doing first (overdue, then the nearest deadline) is the default.
QUEUE_SORTS = {"priority": _l("Overdue first, then by deadline"), "due": _l("Deadline"), "status": _l("Status"),
               "category": _l("Category"), "created": _l("Oldest first"), "-created": _l("Newest first")}
# The filters the list and the map share (in the URL, so that each opens the other on the same reports).
SHARED_FILTERS = ("status", "category", "area", "from", "to", "overdue", "mine", "q")
ALL = "all"
QUEUE_PAGE_SIZE = 25
# A cluster of report pins drawn as a ring of its statuses' shares (see GIS.reportClusterIcon).
CLUSTER_ICON = "function (cluster) { return GIS.reportClusterIcon(cluster); }"


def _base_map(height: str = "100%", **kwargs):
    return city_map(current_app.config["SETTINGS"], height=height, **kwargs)


def _english() -> bool:
    return str(get_locale()) == "en"


def _filter_areas(session: Session, principal: Principal) -> list[dict]:
    """The areas an officer can filter by: their granted areas and the areas just below, or every ward."""
    if "admin" in principal.roles or not principal.area_ids:
        areas = list_areas(session, level="ward")
    else:
        areas = []
        for area in sorted((session.get(Area, i) for i in principal.area_ids), key=lambda a: a.code):
            areas.append(area)
            areas.extend(list_areas(session, parent_code=area.code))
    return [{"code": a.code, "name": a.name, "level": a.level} for a in areas]


def _shared_args() -> dict[str, str]:
    """The shared filters of this request, as they go into the other page's link."""
    return {k: request.args[k] for k in SHARED_FILTERS if request.args.get(k) not in (None, "")}


def _statuses_arg() -> str:
    """Open reports unless the URL says otherwise ("all", or a list of statuses)."""
    asked = request.args.get("status")
    if asked is None:
        return ",".join(OPEN_STATUSES)
    return "" if asked == ALL else asked


def _filter_form(session: Session, principal: Principal) -> dict:
    english = _english()
    return {"categories": [{"code": c.code, "name": c.name_en if english else c.name_vi}
                           for c in list_categories(session)],
            "areas": _filter_areas(session, principal), "open_statuses": ",".join(OPEN_STATUSES),
            "current": {**request.args.to_dict(), "status": request.args.get("status", ",".join(OPEN_STATUSES))},
            "all": ALL}


@bp.get("/maps/reports")
@page_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def officer_map():
    session = db_session()
    principal = current_principal()
    can_edit = principal.has_role("officer")
    m = _base_map()
    cluster = MarkerCluster(name="reports", control=False, icon_create_function=CLUSTER_ICON,
                            max_cluster_radius=60).add_to(m)
    drawn = folium.FeatureGroup(name="new reports", control=False).add_to(m)
    if can_edit:
        Draw(draw_options={"polyline": False, "polygon": False, "rectangle": False, "circle": False,
                           "circlemarker": False, "marker": True}, edit_options={"edit": False, "remove": False},
             feature_group=drawn, export=False, show_geometry_on_click=False).add_to(m)
    form = _filter_form(session, principal)
    config = {
        "map": m.get_name(), "cluster": cluster.get_name(), "drawn": drawn.get_name(), "canEdit": can_edit,
        "reports": url_for("workflow.reports_geojson"), "reportPage": url_for("operations.report_page", report_id=0),
        "create": url_for("intake.create_report"), "move": url_for("workflow.move_report", report_id=0),
        "placement": url_for("intake.report_placement"), "queue": url_for("operations.queue_page"),
        "page": url_for("operations.officer_map"), "all": ALL, "sharedFilters": list(SHARED_FILTERS),
        "cameras": url_for("cameras.cameras_geojson"), "alerts": url_for("cameras.list_alerts"),
        "areas": url_for("areas.areas_geojson", level="ward"),
        "categories": {c["code"]: c["name"] for c in form["categories"]},
        "statuses": {code: str(label) for code, label in STATUS_LABELS.items()},
        "health": {code: str(label) for code, label in CAMERA_HEALTH.items()},
        "alertTypes": alert_type_labels(session, _english()),
    }
    return render_template("operations/officer_map.html", map=embed_map(m, url_for("static", filename="")),
                           config=config, filters=form,
                           queue_link=url_for("operations.queue_page") + _query(_shared_args()))


def _query(args: dict) -> str:
    return "?" + urlencode(args) if args else ""


@bp.get("/reports")
@page_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def queue_page():
    """The work queue: the reports of the caller's scope as a sortable, paged list with search, and the AI alerts
    under the same filters."""
    session = db_session()
    principal = current_principal()
    sort = request.args.get("sort") or "priority"
    f = queue_filter()
    f.statuses = [s for s in _statuses_arg().split(",") if s]  # open by default; "all" for every status
    f.sort, f.overdue_first = ("due", True) if sort == "priority" else (sort, False)
    f.per_page = min(f.per_page, 100) if request.args.get("per_page") else QUEUE_PAGE_SIZE
    page = queries.queue(session, principal, f)
    alerts, alert_total = alert_rows(session, principal, f)
    shared = _shared_args()
    english = _english()
    rows = [{"report": r, "view": queries.staff_view(session, r),
             "category": r.category.name_en if english else r.category.name_vi} for r in page.items]
    pages = max(1, -(-page.total // page.per_page))

    def page_link(n: int) -> str:
        return url_for("operations.queue_page") + _query({**shared, "sort": sort, "page": n})

    return render_template("operations/queue.html", filters=_filter_form(session, principal), rows=rows, page=page,
                           pages=pages, page_link=page_link, sort=sort, sorts=QUEUE_SORTS, alerts=alerts,
                           alert_total=alert_total, english=english,
                           map_link=url_for("operations.officer_map") + _query(shared),
                           can_edit=principal.has_role("officer"),
                           alert_transition=url_for("cameras.transition_alert", alert_id=0))


def _history(session: Session, report) -> list[dict]:
    return [{"at": e["at"], "label": history_action(e["action"]), "actor": actor_text(e["actor"]),
             "what": event_text(e), "note": e["note"], "answer": e["action"] in ANSWERED_ACTIONS}
            for e in history_entries(session, report, queries.history(session, report))]


def _add_group_outlines(session: Session, fmap: folium.Map, area_id: int | None) -> None:
    """The residential groups of the report's ward, drawn by PostGIS: where the point lies when no base map is
    configured (a dozen small polygons, not a layer)."""
    if area_id is None:
        return
    ward = next((a for a in ancestors(session, session.get(Area, area_id)) if a.level == "ward"), None)
    if ward is None:
        return
    outlines = geo.areas_geojson(session, "group", parent_id=ward.id)
    folium.GeoJson(outlines, name="areas", control=False, interactive=False,
                   style_function=lambda _: {"color": "#5b6770", "weight": 1.5, "dashArray": "4 3",
                                             "fillColor": "#0b5270", "fillOpacity": 0.04}).add_to(fmap)


def _related(session: Session, principal: Principal, report) -> dict:
    """The likely duplicate the intake flagged (if the caller may see it), and reports flagged as duplicates of
    this one, for one-click merges."""
    flagged = None
    if report.possible_duplicate_of_id and report.merged_into_id is None:
        try:
            other = queries.visible_report(session, principal, report.possible_duplicate_of_id)
        except NotFound:  # outside the caller's scope: not shown, as if it had not been flagged
            other = None
        if other is not None and other.merged_into_id is None:
            flagged = other
    twins = queries.flagged_duplicates_of(session, principal, report)
    return {"flagged": flagged, "twins": twins}


@bp.get("/reports/<int:report_id>")
@page_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def report_page(report_id: int):
    session = db_session()
    principal = current_principal()
    report = queries.visible_report(session, principal, report_id)
    view = queries.staff_view(session, report, viewer=principal)
    # A call this officer filed for another ward stays visible to them; its own unit acts on it.
    can_edit = (principal.has_role("officer") and report.merged_into_id is None
                and queries.may_act(session, principal, report))
    cameras = []
    linked_alerts = alert_service.alerts_linked_to(session, report.id)
    m = marker = None
    if view["location"]:
        lon, lat = view["location"]["lon"], view["location"]["lat"]
        cameras = camera_service.cameras_seeing_point(session, lon, lat)
        fmap = _base_map(height="280px")
        fmap.location = [lat, lon]
        fmap.options["zoom"] = 15  # the street and the residential group around the point
        _add_group_outlines(session, fmap, report.area_current_id)
        pin = folium.Marker([lat, lon], tooltip=tooltip_text(report.tracking_code), draggable=can_edit).add_to(fmap)
        marker = pin.get_name()
        m = embed_map(fmap, url_for("static", filename=""))
    photos = photo_service.photos_of(session, report.id)

    def photo_url(p):
        return url_for("workflow.get_photo", report_id=report.id, photo_id=p.id)

    category = report.category.name_en if _english() else report.category.name_vi
    actions = {code: label for code, label in ACTIONS.items() if report.status in TRANSITIONS[code].sources}
    related = _related(session, principal, report)
    config = {
        "id": report.id, "code": report.tracking_code, "map": m.name if m else None, "marker": marker,
        "transition": url_for("workflow.transition_report", report_id=report.id),
        "reassign": url_for("workflow.reassign_report", report_id=report.id),
        "merge": url_for("workflow.merge_reports", report_id=0),
        "move": url_for("workflow.move_report", report_id=report.id),
        "find": url_for("workflow.list_reports"),
        "needsNote": [code for code in actions if TRANSITIONS[code].needs_note or code in ANSWERED_ACTIONS],
        "answers": list(ANSWERED_ACTIONS),
        "page": url_for("operations.report_page", report_id=0),
    }
    return render_template(
        "operations/report_page.html", report=view, map=m, cameras=cameras, category=category,
        photos=[photo_url(p) for p in photos if p.kind == "report"],
        fix_photos=[photo_url(p) for p in photos if p.kind == "fix"],
        history=_history(session, report), actions=actions, linked_alerts=linked_alerts,
        alert_types=alert_type_labels(session, _english()) if linked_alerts else {},
        can_edit=can_edit, related=related,
        handled_elsewhere=principal.has_role("officer") and report.merged_into_id is None and not can_edit,
        config=config, channel=CHANNEL_LABELS.get(report.channel, report.channel),
        units=[u for u in list_units(session) if u.active] if can_edit and report.status in OPEN_STATUSES else [],
        deliveries=delivery_history(session, "report", report.id), channels=DELIVERY_CHANNELS,
        outcomes=DELIVERY_OUTCOMES, recipients=RECIPIENTS,
        officer_map=url_for("operations.officer_map"), queue=url_for("operations.queue_page"))
