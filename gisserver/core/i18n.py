"""Vietnamese (default) and English for every page; the visitor's choice sticks in a cookie."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from urllib.parse import urlsplit

from babel.dates import format_date, format_datetime
from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel, format_decimal, get_locale, get_timezone

from gisserver.core import formats
from gisserver.core.access import on_replica, open_to

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
@open_to("everyone; sets the language cookie only")
@on_replica
def choose_language(code: str):
    response = redirect(safe_next(request.args.get("next") or request.referrer and urlsplit(request.referrer).path))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response


def date_pattern() -> str:
    """The visitor's way to write a day (gisserver.core.formats holds one per language)."""
    return formats.date_pattern(str(get_locale()))


def format_when(value: datetime | date | str | None, *, time: bool = True) -> str:
    """A moment (or an ISO string of one) in the visitor's language and the city's time zone:
    25/11/2026 16:05 in Vietnamese, 11/25/2026 16:05 in English."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        # A calendar day ("2026-11-05") stays a day: no time zone can move it.
        value = date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    locale = get_locale()
    if not isinstance(value, datetime):
        return format_date(value, date_pattern(), locale=locale)
    pattern = date_pattern() + (" " + formats.TIME_PATTERN if time else "")
    return format_datetime(value, pattern, tzinfo=get_timezone(), locale=locale)


def format_number(value: float | int | None, digits: int = 0) -> str:
    """A number with the language's separators (1.234,5 in Vietnamese, 1,234.5 in English)."""
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(round(value, digits), format=pattern)


@contextmanager
def in_language(app: Flask, language: str) -> Iterator[None]:
    """Work outside a request (the notifications worker) as a page in *language* would: translated labels, the
    language's dates and numbers. The app pretends to answer a request asking for that language."""
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    with app.test_request_context(f"/?lang={language}"):
        yield


def init_i18n(app: Flask) -> None:
    Babel(
        app,
        locale_selector=select_locale,
        default_translation_directories="translations",
        default_timezone="Asia/Ho_Chi_Minh",
    )
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = select_locale
    app.jinja_env.filters["when"] = format_when
    app.jinja_env.filters["number"] = format_number
    app.register_blueprint(bp)
