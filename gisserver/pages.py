"""HTML pages of the service (the map pages grow here as features land)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for

bp = Blueprint("pages", __name__)


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/")
def index():
    return render_template("index.html")
