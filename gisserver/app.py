"""Application factory: every process builds its app here, nothing is created at import time.

The core's own hooks come first; then every installed feature's blueprints and template context, found through
the feature manifests (gisserver.core.features).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.middleware.proxy_fix import ProxyFix

from gisserver.accounts.auth import init_auth
from gisserver.accounts.demo import active_demo_users
from gisserver.core import features, health, openapi, security
from gisserver.core.access import init_access
from gisserver.core.assets import init_assets
from gisserver.core.config import Settings, load_or_create_secret, weak_secret
from gisserver.core.db import database_from_settings
from gisserver.core.errors import register_error_handlers
from gisserver.core.exceptions import Unavailable
from gisserver.core.http import (
    DatabaseIdConverter,
    StrictRequest,
    check_request_text,
    close_db_session,
    remember_writes,
)
from gisserver.core.i18n import init_i18n
from gisserver.core.logs import configure_logging

log = logging.getLogger("gisserver.request")
ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = "production"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Open311 clients may put their api_key in the query string: it never goes into a log line.
_SECRET_PARAMETER = re.compile(r"((?:^|[?&])api_key=)[^&]*")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app; *config* overrides settings (keys as Settings fields, upper-case)."""
    overrides = dict(config or {})
    settings = Settings.from_env()
    for key in list(overrides):
        if hasattr(settings, key.lower()) and key.lower() != "pg_data_dir":
            settings = _replace(settings, key.lower(), overrides.pop(key))

    app = Flask(
        "gisserver",
        static_folder=str(ROOT / "static"),
        template_folder="templates",
        root_path=str(Path(__file__).parent),
    )
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key or load_or_create_secret(settings.data_dir / "secret_key"),
        MAX_CONTENT_LENGTH=settings.max_upload_mb * 1024 * 1024,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
    )
    app.config.update(overrides)
    # Before any blueprint: an id beyond PostgreSQL's integer would fail in SQL instead of being a 404.
    app.url_map.converters["int"] = DatabaseIdConverter
    configure_logging(settings.log_level)

    app.extensions["gisserver.db"] = database_from_settings(settings)
    app.teardown_appcontext(close_db_session)
    app.after_request(remember_writes)
    register_error_handlers(app)
    _register_request_logging(app)
    app.request_class = StrictRequest
    app.before_request(check_request_text)  # after the request id is assigned, so its 400 carries one
    init_assets(app)
    init_i18n(app)
    init_access(app)
    init_auth(app)
    security.init_security_headers(app)
    if settings.proxy_hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)

    if settings.env == PRODUCTION:
        _refuse_unsafe_production(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(openapi.bp)
    app.register_blueprint(security.bp)
    for reference in features.references("blueprints"):
        app.register_blueprint(features.load(reference))
    for reference in features.references("template_context"):
        app.context_processor(features.load(reference))
    return app


class UnsafeProduction(RuntimeError):
    """Production mode with a setting that would let anyone in: the app does not start."""


def _refuse_unsafe_production(app: Flask) -> None:
    """In production mode, refuse a weak or demo secret key, and the demo users with their published password.

    The users are checked in the database; when it cannot be reached yet (the service started before PostgreSQL),
    every request is refused with 503 until the check has passed once."""
    reason = weak_secret(app.config["SECRET_KEY"])
    if reason:
        raise UnsafeProduction(f"GISSERVER_ENV=production refuses this secret key: {reason}. "
                               "Set GISSERVER_SECRET_KEY to a long random value (or remove it to have one generated).")
    database = app.extensions["gisserver.db"]

    def check_demo_users() -> None:
        with database.transaction() as session:
            active = active_demo_users(session)
        if active:
            raise UnsafeProduction(
                f"GISSERVER_ENV=production refuses to run with the demo users still active: {', '.join(active)}. "
                "Deactivate them (gisserver users deactivate NAME) or give them new passwords.")
        app.config["PRODUCTION_CHECKED"] = True

    try:
        check_demo_users()
    except (OperationalError, PoolTimeoutError):
        log.warning("production checks wait for the database")

        @app.before_request
        def checked_before_serving():
            if not app.config.get("PRODUCTION_CHECKED"):
                try:
                    check_demo_users()
                except UnsafeProduction as exc:
                    log.critical("%s", exc)
                    raise Unavailable("this server refuses to run: see its log") from None


def _replace(settings: Settings, name: str, value: Any) -> Settings:
    from dataclasses import replace

    if name in ("data_dir", "pg_dir") and value is not None:
        value = Path(value).resolve()
    return replace(settings, **{name: value})


def _register_request_logging(app: Flask) -> None:
    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex[:16]
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
        path = _SECRET_PARAMETER.sub(r"\1<redacted>", request.full_path.rstrip("?"))
        # Which engine a replica-declared view read from (replica-1, primary), when it read at all.
        engine = f" db={g.db_engine}" if g.get("db_engine") else ""
        log.info("%s %s %s %.1fms%s", request.method, path, response.status_code, elapsed_ms, engine)
        return response
