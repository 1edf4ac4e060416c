"""Staff and resident map pages: the officer's map, a report's page, the public flood-hotspot map."""

from __future__ import annotations

import folium
from flask import Blueprint, current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from folium.plugins import Draw, MarkerCluster
from sqlalchemy.orm import Session

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.accounts.users import Principal
from gisserver.core.http import db_session
from gisserver.core.maps import city_map, embed_map, tooltip_text
from reports.areas import sql as geo
from reports.areas.models import Area
from reports.areas.service import ancestors, list_areas
from reports.cameras import alerts as alert_service
from reports.cameras import service as camera_service
from reports.cameras.alert_types import alert_type_labels
from reports.notifications.admin import history as delivery_history
from reports.workflow import photos as photo_service
from reports.workflow import queries
from reports.workflow.categories import list_categories
from reports.workflow.labels import CHANNEL_LABELS, STATUS_LABELS
from reports.workflow.models import OPEN_STATUSES
from reports.workflow.transitions import TRANSITIONS

bp = Blueprint("operations", __name__, template_folder="templates")
CAMERA_HEALTH = {"online": _l("online"), "offline": _l("offline"), "maintenance": _l("under maintenance")}
ACTIONS = {"acknowledge": _l("Acknowledge"), "start": _l("Start handling"), "resolve": _l("Resolve"),
           "reject": _l("Reject"), "reopen": _l("Reopen")}
# History entries name what happened; these are the words an officer reads for them.
HISTORY_ACTIONS = {"created": _l("Received"), "acknowledge": _l("Acknowledged"), "start": _l("Handling started"),
                   "resolve": _l("Resolved"), "reject": _l("Rejected"), "reopen": _l("Reopened"),
                   "move": _l("Moved"), "reassign": _l("Reassigned"), "merge": _l("Merged into another report"),
                   "absorb": _l("Duplicates merged in"), "comment": _l("Answer to the resident")}
# Messages sent about a report (reports/notifications): the channel and the outcome in the reader's words.
DELIVERY_CHANNELS = {"email": _l("Email"), "sms": _l("Text message"), "chat": _l("Chat"), "webhook": _l("Webhook"),
                     "push": _l("Browser notification")}
DELIVERY_OUTCOMES = {"started": _l("sending"), "sent": _l("delivered"), "error": _l("failed, will retry"),
                     "dead": _l("failed for good"), "skipped": _l("not sent")}
RECIPIENTS = {"unit": _l("unit"), "user": _l("staff"), "resident": _l("resident"), "subscriber": _l("system")}
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


@bp.get("/maps/reports")
@page_roles("officer", "leader")
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
    english = _english()
    categories = [{"code": c.code, "name": c.name_en if english else c.name_vi} for c in list_categories(session)]
    config = {
        "map": m.get_name(), "cluster": cluster.get_name(), "drawn": drawn.get_name(), "canEdit": can_edit,
        "reports": url_for("workflow.reports_geojson"), "reportPage": url_for("operations.report_page", report_id=0),
        "create": url_for("intake.create_report"), "move": url_for("workflow.move_report", report_id=0),
        "cameras": url_for("cameras.cameras_geojson"), "alerts": url_for("cameras.list_alerts"),
        "areas": url_for("areas.areas_geojson", level="ward"),
        "categories": {c["code"]: c["name"] for c in categories},
        "statuses": {code: str(label) for code, label in STATUS_LABELS.items()},
        "health": {code: str(label) for code, label in CAMERA_HEALTH.items()},
        "alertTypes": alert_type_labels(session, english),
    }
    return render_template("operations/officer_map.html", map=embed_map(m, url_for("static", filename="")),
                           config=config, categories=categories, areas=_filter_areas(session, principal),
                           open_statuses=",".join(OPEN_STATUSES))


def _history(view: dict) -> list[dict]:
    # A merged duplicate follows its main report ("follow_resolve"): it reads like its own step.
    return [dict(e, label=HISTORY_ACTIONS.get(e["action"].removeprefix("follow_"), e["action"]),
                 note=_event_note(e)) for e in view.get("history", [])]


def _event_note(event: dict) -> str:
    # The intake records its channel as "channel <code>": show it in the reader's language.
    note = event.get("note") or ""
    channel = note.removeprefix("channel ")
    if event["action"] == "created" and channel in CHANNEL_LABELS:
        return f"{_l('Channel')}: {CHANNEL_LABELS[channel]}"
    return note


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


@bp.get("/reports/<int:report_id>")
@page_roles("officer", "leader")
def report_page(report_id: int):
    session = db_session()
    principal = current_principal()
    report = queries.visible_report(session, principal, report_id)
    view = queries.staff_view(session, report, with_history=True, viewer=principal)
    cameras = []
    linked_alerts = alert_service.alerts_linked_to(session, report.id)
    m = None
    if view["location"]:
        lon, lat = view["location"]["lon"], view["location"]["lat"]
        cameras = camera_service.cameras_seeing_point(session, lon, lat)
        fmap = _base_map(height="280px")
        fmap.location = [lat, lon]
        fmap.options["zoom"] = 15  # the street and the residential group around the point
        _add_group_outlines(session, fmap, report.area_current_id)
        folium.Marker([lat, lon], tooltip=tooltip_text(report.tracking_code)).add_to(fmap)
        m = embed_map(fmap, url_for("static", filename=""))
    photos = [url_for("workflow.get_photo", report_id=report.id, photo_id=p.id)
              for p in photo_service.photos_of(session, report.id)]
    category = report.category.name_en if _english() else report.category.name_vi
    actions = {code: label for code, label in ACTIONS.items() if report.status in TRANSITIONS[code].sources}
    return render_template("operations/report_page.html", report=view, map=m, cameras=cameras, photos=photos,
                           category=category, history=_history(view), actions=actions,
                           linked_alerts=linked_alerts, deliveries=delivery_history(session, "report", report.id),
                           channels=DELIVERY_CHANNELS, outcomes=DELIVERY_OUTCOMES, recipients=RECIPIENTS,
                           alert_types=alert_type_labels(session, _english()) if linked_alerts else {},
                           needs_note=[code for code in actions if TRANSITIONS[code].needs_note],
                           can_edit=principal.has_role("officer") and report.merged_into_id is None,
                           transition_url=url_for("workflow.transition_report", report_id=report.id),
                           officer_map=url_for("operations.officer_map"))
