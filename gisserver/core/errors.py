"""One place that turns every error into a JSON body for API clients or a page for browsers."""

from __future__ import annotations

import logging

from flask import Flask, g, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from gisserver.core.exceptions import ServiceError
from gisserver.core.replicas import is_connection_problem

log = logging.getLogger(__name__)

# Paths answered in JSON even to a browser: machine interfaces.
API_PREFIXES = ("/api/", "/ogc", "/open311", "/health")
RETRY_AFTER_SECONDS = "5"


def wants_html() -> bool:
    requested = request.args.get("f")
    if requested in ("json", "html"):
        return requested == "html"
    if request.path.startswith(API_PREFIXES):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def error_response(status: int, code: str, message: str, details=None, headers=None):
    details = dict(details) if isinstance(details, dict) else ({"items": details} if details else {})
    request_id = g.get("request_id")
    if request_id:
        details.setdefault("request_id", request_id)
    if wants_html():
        body = render_template("error.html", status=status, code=code, message=message), status
    else:
        body = {"error": {"code": code, "message": message, "details": details}}, status
    response_headers = dict(headers or {})
    return (*body, response_headers)


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_")


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ServiceError)
    def service_error(exc: ServiceError):
        headers = {"Retry-After": RETRY_AFTER_SECONDS} if exc.status == 503 else {}
        return error_response(exc.status, exc.code, exc.message, exc.details, {**headers, **exc.headers})

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        headers = {}
        if exc.code == 405 and exc.valid_methods:
            headers["Allow"] = ", ".join(exc.valid_methods)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        return error_response(exc.code or 500, _snake(exc.name), exc.description or exc.name, None, headers)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def database_unavailable(exc):
        # Connection-level failures mean PostgreSQL is down or overloaded, not that the
        # request was wrong: tell clients to come back rather than answering 500.
        if isinstance(exc, DBAPIError) and not is_connection_problem(exc):
            return unexpected(exc)
        log.warning("database unavailable: %s", str(exc).splitlines()[0])
        return error_response(
            503,
            "database_unavailable",
            "The database is not answering; try again shortly.",
            None,
            {"Retry-After": RETRY_AFTER_SECONDS},
        )

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, DBAPIError) and is_connection_problem(exc):
            return database_unavailable(exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Internal server error.")

