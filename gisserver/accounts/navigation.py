"""The start page and the navigation every page shows: the pages the features contribute, filtered by role; the
service's name and logo as each city configures them."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, send_file, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import SQLAlchemyError

from gisserver.accounts.auth import current_principal
from gisserver.core.access import on_replica, open_to
from gisserver.core.exceptions import ServiceError
from gisserver.core.features import NavLink
from gisserver.core.features import nav_links as contributed_links

bp = Blueprint("pages", __name__)
DEFAULT_PRODUCT_NAME = _l("City maps and reports")
LOGO_TYPES = {"image/svg+xml", "image/png", "image/jpeg", "image/webp"}


@dataclass(frozen=True)
class Brand:
    name: str
    logo_url: str


def _logo_file() -> Path | None:
    configured = current_app.config["SETTINGS"].product_logo
    if not configured:
        return None
    path = Path(configured)
    return path if path.is_file() and mimetypes.guess_type(path.name)[0] in LOGO_TYPES else None


def brand() -> Brand:
    """The name and logo users see (GISSERVER_PRODUCT_NAME, GISSERVER_PRODUCT_LOGO), or a plain default."""
    settings = current_app.config["SETTINGS"]
    logo = url_for("pages.logo") if _logo_file() else url_for("static", filename="favicon.svg")
    return Brand(settings.product_name or str(DEFAULT_PRODUCT_NAME), logo)


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
    return {"nav_links": nav_links, "brand": brand()}


@bp.get("/brand/logo")
@open_to("everyone; the city's logo")
@on_replica
def logo():
    path = _logo_file()
    if path is None:
        return redirect(url_for("static", filename="favicon.svg"))
    return send_file(path, mimetype=mimetypes.guess_type(path.name)[0], max_age=24 * 3600)


@bp.get("/favicon.ico")
@open_to("everyone; a static icon")
@on_replica
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
@open_to("everyone; sends each caller to the pages of their role")
@on_replica
def index():
    links = nav_links()
    return render_template("index.html", staff_links=[link for link in links if link.roles],
                           public_links=[link for link in links if not link.roles])
