"""HTML pages of the service: the start page, and the navigation every page shows for its visitor."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from gisserver.auth import current_principal, open_to
from gisserver.exceptions import ServiceError

bp = Blueprint("pages", __name__)


@dataclass(frozen=True)
class NavLink:
    """A page in the navigation and on the start page; *roles* empty means everyone, residents included."""

    endpoint: str
    label: object  # a lazy translation
    description: object
    roles: tuple[str, ...] = ()


# One line per page; a page whose blueprint is not registered is left out.
NAV_LINKS: tuple[NavLink, ...] = (
    NavLink("map_pages.officer_map", _l("Reports map"),
            _l("Reports of your units on a map: filter, place new ones, move misplaced ones; cameras and alerts."),
            ("officer", "leader")),
    NavLink("leader_pages.leader_home", _l("Area figures"),
            _l("Your city, wards and groups shaded by an indicator; "
               "drill down to the reports and dossiers behind a figure."),
            ("leader",)),
    NavLink("layer_pages.planner_map", _l("Planning map"),
            _l("Planning and infrastructure layers: switch them on, click to see what is planned, find an address.")),
    NavLink("map_pages.flood_map", _l("Flood hotspots"),
            _l("Water levels at the flood hotspots, refreshed every minute.")),
    NavLink("report_pages.choose_ward", _l("Send a report"),
            _l("Tell your ward about a problem: rubbish, a broken street light, flooding, noise...")),
    NavLink("report_pages.status_page", _l("Track a report"),
            _l("Follow a report you sent with its tracking code.")),
    NavLink("ogc.landing", _l("Data catalogue"),
            _l("The layers as OGC API - Features, for GIS software."), ("planner",)),
)


def nav_links() -> list[NavLink]:
    """The pages the current visitor may open, in menu order."""
    try:
        principal = current_principal()
    except (ServiceError, SQLAlchemyError):  # an error page must render even when the database is down
        principal = None
    links = []
    for link in NAV_LINKS:
        if link.endpoint not in current_app.view_functions:
            continue
        if link.roles and (principal is None or not principal.has_role(*link.roles)):
            continue
        links.append(link)
    return links


@bp.app_context_processor
def navigation():
    return {"nav_links": nav_links}


@bp.get("/favicon.ico")
@open_to("everyone; a static icon")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
@open_to("everyone; sends each caller to the pages of their role")
def index():
    links = nav_links()
    return render_template("index.html", staff_links=[link for link in links if link.roles],
                           public_links=[link for link in links if not link.roles])
