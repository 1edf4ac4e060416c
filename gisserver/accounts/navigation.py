"""The start page and the navigation every page shows: the pages the features contribute, filtered by role."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from sqlalchemy.exc import SQLAlchemyError

from gisserver.accounts.auth import current_principal
from gisserver.core.access import open_to
from gisserver.core.exceptions import ServiceError
from gisserver.core.features import NavLink
from gisserver.core.features import nav_links as contributed_links

bp = Blueprint("pages", __name__)


def nav_links() -> list[NavLink]:
    """The pages the current visitor may open, in menu order."""
    try:
        principal = current_principal()
    except (ServiceError, SQLAlchemyError):  # an error page must render even when the database is down
        principal = None
    links = []
    for link in contributed_links():
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
