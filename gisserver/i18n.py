"""Vietnamese (default) and English for every page; the visitor's choice sticks in a cookie."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANGUAGE = "vi"
COOKIE = "lang"

bp = Blueprint("i18n", __name__)


def select_locale() -> str:
    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def safe_next(target: str | None, fallback: str = "/") -> str:
    """A redirect target on this site only (no scheme, no host), to avoid open redirects."""
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


@bp.get("/lang/<code>")
def choose_language(code: str):
    response = redirect(safe_next(request.args.get("next") or request.referrer and urlsplit(request.referrer).path))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def init_i18n(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
        default_timezone="Asia/Ho_Chi_Minh",
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
    app.register_blueprint(bp)
