"""Public flood pages: the map of flood hotspots and one hotspot's page with its water-level chart."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, url_for
from flask_babel import lazy_gettext as _l

from gisserver.core.access import on_replica, open_to
from gisserver.core.http import db_session
from gisserver.core.maps import city_map, embed_map
from reports.areas.models import Area
from reports.areas.service import place_name
from reports.cameras import hotspots as hotspot_service

bp = Blueprint("cameras_pages", __name__, template_folder="templates")


@bp.get("/flood")
@open_to("everyone; public flood levels")
@on_replica
def flood_map():
    m = city_map(current_app.config["SETTINGS"])
    config = {"map": m.get_name(), "hotspots": url_for("cameras.list_hotspots"),
              "areas": url_for("areas.areas_geojson", level="ward")}
    return render_template("cameras/flood_map.html", map=embed_map(m, url_for("static", filename="")), config=config)


LEVEL_LABELS = {
    "normal": _l("Normal"),
    "watch": _l("Watch"),
    "warning": _l("Warning"),
    "danger": _l("Danger"),
    "unknown": _l("No reading yet"),
}


@bp.get("/flood/<code>")
@open_to("everyone; public flood levels")
@on_replica
def hotspot_page(code: str):
    """One flood hotspot: its current status and a chart of its levels against the thresholds (public)."""
    session = db_session()
    hotspot = hotspot_service.get_hotspot(session, code)
    area = session.get(Area, hotspot.area_id) if hotspot.area_id else None
    place = place_name(session, area) if area else None
    config = {
        "readings": url_for("cameras.hotspot_readings", code=hotspot.code),
        "labels": {"level": str(_l("Water level (cm)")), "watch": str(_l("Watch")), "warning": str(_l("Warning")),
                   "danger": str(_l("Danger")), "none": str(_l("No readings in this period."))},
        "statuses": {k: str(v) for k, v in LEVEL_LABELS.items()},
    }
    return render_template("cameras/hotspot.html", hotspot=hotspot, place=place, config=config,
                           status=hotspot_service.status_for(hotspot, hotspot.last_level_cm),
                           flood_map=url_for("cameras_pages.flood_map"))
