"""Dashboard pages: the list, one dashboard (view, drill down, compare, edit in place), the records behind figures
the summaries do not list (the features of a layer statistic, cameras, flood hotspots), and the wall screen opened
by a display token."""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request, url_for
from sqlalchemy import select

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound, Unauthorized
from gisserver.core.http import db_session, int_arg, json_body
from reports.dashboards import displays, labels, service
from reports.dashboards.forms import request_filters
from reports.dashboards.indicators import LAYER_MEASURES
from reports.dashboards.layerstats import MEASURES, LayerStat, features_counted, other_groups, resolve
from reports.dashboards.panels import AREA_CODE, LAYER_NAME
from reports.dashboards.records import CAMERA_HEALTH, HOTSPOT_LEVELS, cameras_in, hotspots_in
from reports.summaries.hierarchy import area_in_scope, load_hierarchy, visible_area_ids
from reports.summaries.labels import english
from reports.workflow.models import Category

bp = Blueprint("dashboards_pages", __name__, template_folder="templates")
wall_bp = Blueprint("dashboards_wall", __name__, template_folder="templates")
WALL_COOKIE = "gisserver_wall"
WALL_COOKIE_AGE = 5 * 365 * 24 * 3600  # a wall screen is set up once and left running


def _labels() -> dict:
    return {"words": {k: str(v) for k, v in labels.WORDS.items()},
            "charts": {k: str(v) for k, v in labels.CHARTS.items()},
            "dimensions": {k: str(v) for k, v in labels.DIMENSIONS.items()},
            "groups": {k: str(v) for k, v in labels.GROUPS.items()},
            "units": {k: str(v) for k, v in labels.UNITS.items()},
            "families": {k: str(v) for k, v in labels.FAMILIES.items()}}


def _links() -> dict:
    return {"summaryRecords": url_for("summaries_pages.records_page", code="CODE"),
            "layerRecords": url_for("dashboards_pages.layer_records"),
            "cameraRecords": url_for("dashboards_pages.camera_records"),
            "hotspotRecords": url_for("dashboards_pages.hotspot_records"),
            "hotspot": url_for("cameras_pages.hotspot_page", code="CODE")}


@bp.get("/dashboards")
@page_roles("leader")
@on_replica
def dashboards_home():
    session = db_session()
    principal = current_principal()
    listing = service.list_dashboards(session, principal)
    config = {"create": url_for("dashboards.create_dashboard"), "page": url_for("dashboards_pages.view_dashboard",
                                                                                dashboard_id=0),
              "displays": url_for("dashboards.list_displays"), "labels": _labels()}
    return render_template("dashboards/list.html", listing=listing, config=config,
                           walls=displays.list_displays(session, principal))


@bp.get("/dashboards/<int:dashboard_id>")
@page_roles("leader")
@on_replica
def view_dashboard(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    dashboard = service.get_dashboard(session, principal, dashboard_id)
    hierarchy = load_hierarchy(session)
    visible = visible_area_ids(hierarchy, principal)
    can_edit = principal.is_admin or dashboard.owner_id == service.owner_of(session, principal)
    areas = sorted(({"code": a.code, "name": a.name, "level": a.level} for a in hierarchy.areas.values()
                    if a.current and a.level in ("city", "ward") and (visible is None or a.id in visible)),
                   key=lambda a: (a["level"] != "city", a["name"]))
    english_names = english()
    categories = [{"code": c.code, "name": c.name_en if english_names else c.name_vi}
                  for c in session.scalars(select(Category).order_by(Category.code))]
    config = {
        "dashboard": service.dashboard_json(dashboard, hierarchy), "canEdit": can_edit,
        "edit": bool(request.args.get("edit")) and can_edit, "admin": principal.is_admin,
        "opening": service.opening_area(session, principal, dashboard, hierarchy),
        "api": {"data": url_for("dashboards.dashboard_data", dashboard_id=dashboard.id),
                "save": url_for("dashboards.update_dashboard", dashboard_id=dashboard.id),
                "preview": url_for("dashboards.preview"), "indicators": url_for("dashboards.indicators"),
                "copy": url_for("dashboards.copy_dashboard", dashboard_id=dashboard.id),
                "pdf": url_for("dashboards.export_dashboard", dashboard_id=dashboard.id, fmt="pdf"),
                "xlsx": url_for("dashboards.export_dashboard", dashboard_id=dashboard.id, fmt="xlsx"),
                "displays": url_for("dashboards.create_display"),
                "mail": url_for("dashboards.get_mail", dashboard_id=dashboard.id),
                "choices": url_for("notifications_pages.choices_page"),
                "page": url_for("dashboards_pages.view_dashboard", dashboard_id=0)},
        "links": _links(), "areas": areas, "categories": categories, "labels": _labels(),
        "weekdays": [(n, str(day)) for n, day in labels.WEEKDAYS.items()],
    }
    return render_template("dashboards/dashboard.html", dashboard=dashboard, config=config)


def _layer_stat() -> LayerStat:
    layer, measure = request.args.get("layer") or "", request.args.get("measure") or ""
    if not LAYER_NAME.match(layer):
        raise Invalid("layer must be a layer's name", {"field": "layer"})
    if measure not in MEASURES:
        raise Invalid(f"measure must be one of {', '.join(MEASURES)}", {"field": "measure"})
    within = request.args.get("within") or None
    if within is not None and not LAYER_NAME.match(within):
        raise Invalid("within must be a layer's name", {"field": "within"})
    by = request.args.get("by") or None
    if by is not None and len(by) > 128:
        raise Invalid("by must be an attribute's name", {"field": "by"})
    return LayerStat(measure, layer, by, within)


@bp.get("/dashboards/layer-records")
@page_roles("leader")
@on_replica
def layer_records():
    """The features a layer statistic counts in one area (of one attribute value), with what each adds."""
    session = db_session()
    principal = current_principal()
    stat = _layer_stat()
    hierarchy = load_hierarchy(session)
    area = _area_arg(hierarchy, principal)
    resolved = resolve(session, stat, include_internal=principal.is_staff)
    grouped = request.args.get("grouped") in ("1", "other")
    others_than = None
    if request.args.get("grouped") == "other":
        # The "other" group: every value but those the panel showed, ranked over the panel's area ("of").
        of = _area_arg(hierarchy, principal, "of")
        others_than = other_groups(session, resolved, [of.id, *(c.id for c in hierarchy.children_now(of))])
    page = features_counted(session, resolved, area.id, group=request.args.get("group") or None, grouped=grouped,
                            page=int_arg("page", 1), per_page=int_arg("per_page", 50), others_than=others_than)
    args = {k: request.args[k] for k in ("layer", "measure", "area", "within", "by", "group", "grouped", "of")
            if request.args.get(k) is not None}
    label = next((k for k, v in LAYER_MEASURES.items() if v == stat.measure), "layer_count")
    return render_template("dashboards/layer_records.html", page=page, area=area, stat=stat, args=args,
                           title=labels.INDICATOR_LABELS[label], grouped=grouped, other=others_than is not None,
                           group=request.args.get("group") or None)


def _area_arg(hierarchy, principal, name: str = "area"):
    code = request.args.get(name) or ""
    if not AREA_CODE.match(code):
        raise Invalid(f"{name} must be an area code", {"field": name})
    return area_in_scope(hierarchy, visible_area_ids(hierarchy, principal), code)


@bp.get("/dashboards/camera-records")
@page_roles("leader")
@on_replica
def camera_records():
    """The cameras a camera figure counts in one area (online, offline, or all of them with their health)."""
    session = db_session()
    hierarchy = load_hierarchy(session)
    area = _area_arg(hierarchy, current_principal())
    health = request.args.get("health") or None
    if health is not None and health not in CAMERA_HEALTH:
        raise Invalid(f"health must be one of {', '.join(CAMERA_HEALTH)}", {"field": "health"})
    return render_template("dashboards/camera_records.html", area=area, health=health,
                           cameras=cameras_in(session, hierarchy, area, health), words=labels.CAMERA_HEALTH)


@bp.get("/dashboards/hotspot-records")
@page_roles("leader")
@on_replica
def hotspot_records():
    """The flood hotspots a hotspot figure counts in one area, each linked to its page."""
    session = db_session()
    hierarchy = load_hierarchy(session)
    area = _area_arg(hierarchy, current_principal())
    level = request.args.get("level") or "all"
    if level not in HOTSPOT_LEVELS:
        raise Invalid(f"level must be one of {', '.join(HOTSPOT_LEVELS)}", {"field": "level"})
    return render_template("dashboards/hotspot_records.html", area=area, level=level,
                           hotspots=hotspots_in(session, hierarchy, area, level), words=labels.HOTSPOT_STATUS)


# -- the wall -----------------------------------------------------------------------------------------------


def _wall():
    wall = displays.wall_for(db_session(), request.cookies.get(WALL_COOKIE), english=english())
    if wall is None:
        raise Unauthorized("this screen has no valid display link; open the link the dashboard's owner made")
    return wall


@wall_bp.post("/wall/open")
@open_to("wall screens holding a display token; the token is checked, then kept in a cookie")
@on_primary("checks a display token: a revoked display must go dark at once")
def open_wall():
    """The display link is /wall#<token>: the token stays in the fragment, which browsers never send, so it is in
    no server log, proxy or Referer. The wall page posts it here once; it is kept in an HttpOnly cookie for /wall."""
    body = json_body()
    secret = body.get("token") if isinstance(body, dict) else None
    if not isinstance(secret, str) or displays.wall_for(db_session(), secret) is None:
        raise Unauthorized("this display link is unknown or has been revoked")
    response = make_response("", 204)
    response.set_cookie(WALL_COOKIE, secret, max_age=WALL_COOKIE_AGE, httponly=True, samesite="Strict",
                        secure=request.is_secure, path="/wall")
    response.headers["Cache-Control"] = "no-store"
    return response


@wall_bp.get("/wall")
@open_to("wall screens; the page shows the dashboards of the display token in its cookie, read-only, or opens a "
         "display link")
@on_primary("checks a display token: a revoked display must go dark at once")
def wall():
    wall = displays.wall_for(db_session(), request.cookies.get(WALL_COOKIE), english=english())
    config = {"open": url_for("dashboards_wall.open_wall"), "labels": _labels(), "links": None,
              "data": url_for("dashboards_wall.wall_data", dashboard_id=0), "dashboards": None}
    if wall is not None:
        config.update(dashboards=[{"id": d.id, "title": d.title} for d in wall.dashboards],
                      refresh=wall.display.refresh_seconds, rotate=wall.display.rotate_seconds)
    response = make_response(render_template("dashboards/wall.html", config=config,
                                             name=wall.display.name if wall else labels.WORDS["wall"]))
    response.headers["Cache-Control"] = "no-store"
    return response


@wall_bp.get("/wall/data/<int:dashboard_id>")
@open_to("wall screens holding a display token cookie; only the token's dashboards, as its owner may see them")
@on_primary("checks a display token: a revoked display must go dark at once")
def wall_data(dashboard_id: int):
    wall = _wall()
    dashboard = next((d for d in wall.dashboards if d.id == dashboard_id), None)
    if dashboard is None:
        raise NotFound(f"this screen shows no dashboard {dashboard_id}")
    filters = request_filters()
    data = service.dashboard_data(db_session(), wall.viewer, dashboard, filters)
    response = make_response(data)
    response.headers["Cache-Control"] = "no-store"
    return response
