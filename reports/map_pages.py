"""Staff and resident map pages: the officer's map, a report's page, the public flood-hotspot map."""

from __future__ import annotations

import folium
from flask import Blueprint, current_app, render_template, url_for
from folium.plugins import Draw, Fullscreen, MarkerCluster

from gisserver.auth import current_principal, page_roles
from gisserver.http import db_session
from gisserver.maps import embed_map, offline_map
from reports import cameras as camera_service
from reports import photos as photo_service
from reports import queries
from reports.categories import list_categories

bp = Blueprint("map_pages", __name__, template_folder="templates")
CITY_VIEW = ([16.463, 107.585], 13)


def _base_map(height: str = "100%"):
    settings = current_app.config["SETTINGS"]
    m = offline_map(*CITY_VIEW, settings.basemap_url, settings.basemap_attribution, height=height)
    Fullscreen().add_to(m)
    return m


@bp.get("/maps/reports")
@page_roles("officer", "leader")
def officer_map():
    m = _base_map()
    cluster = MarkerCluster(name="reports", control=False).add_to(m)
    principal = current_principal()
    can_edit = principal.has_role("officer")
    if can_edit:
        Draw(draw_options={"polyline": False, "polygon": False, "rectangle": False, "circle": False,
                           "circlemarker": False, "marker": True}, edit_options={"edit": False, "remove": False},
             export=False).add_to(m)
    session = db_session()
    config = {
        "map": m.get_name(), "cluster": cluster.get_name(), "canEdit": can_edit,
        "reports": url_for("reports.reports_geojson"), "reportPage": url_for("map_pages.report_page", report_id=0),
        "create": url_for("reports.create_report"), "move": url_for("reports.move_report", report_id=0),
        "cameras": url_for("cameras_api.cameras_geojson"), "alerts": url_for("cameras_api.list_alerts"),
        "areas": url_for("reports.areas_geojson", level="ward"),
        "categories": [{"code": c.code, "name": c.name_vi} for c in list_categories(session)],
    }
    return render_template("reports/officer_map.html", map=embed_map(m, url_for("static", filename="")),
                           config=config, categories=config["categories"])


@bp.get("/reports/<int:report_id>")
@page_roles("officer", "leader")
def report_page(report_id: int):
    session = db_session()
    report = queries.visible_report(session, current_principal(), report_id)
    view = queries.staff_view(session, report, with_history=True, viewer=current_principal())
    cameras = []
    m = None
    if view["location"]:
        lon, lat = view["location"]["lon"], view["location"]["lat"]
        cameras = camera_service.cameras_seeing_point(session, lon, lat)
        fmap = _base_map(height="280px")
        fmap.location = [lat, lon]
        fmap.options["zoom"] = 17
        folium.Marker([lat, lon], tooltip=report.tracking_code).add_to(fmap)
        m = embed_map(fmap, url_for("static", filename=""))
    photos = [url_for("reports.get_photo", report_id=report.id, photo_id=p.id)
              for p in photo_service.photos_of(session, report.id)]
    return render_template("reports/report_page.html", report=view, map=m, cameras=cameras, photos=photos,
                           can_edit=current_principal().has_role("officer"),
                           transition_url=url_for("reports.transition_report", report_id=report.id))


@bp.get("/flood")
def flood_map():
    m = _base_map()
    config = {"map": m.get_name(), "hotspots": url_for("cameras_api.list_hotspots"),
              "readings": url_for("cameras_api.hotspot_readings", code="CODE"),
              "areas": url_for("reports.areas_geojson", level="ward")}
    return render_template("reports/flood_map.html", map=embed_map(m, url_for("static", filename="")), config=config)
