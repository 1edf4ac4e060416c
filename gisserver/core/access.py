"""Every view declares who may call it, and which database may answer it.

Who: a role or scope decorator (gisserver.accounts.auth) or `open_to(...)` naming who may call it and why the view
(or its service) is enough of a check. The refusal of undeclared views is installed by `init_access`, so a
route added without thinking about access fails closed instead of open.

Which database: `on_replica` for a view that only reads (a streaming replica may answer it), `on_primary(why)` for
one that writes, is rate-limited (the counters are written, in an unlogged table a replica does not even have),
or must see the latest state. tests/app/test_database_routing.py checks that every route says which.
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, current_app, has_request_context, request

from gisserver.core.exceptions import Forbidden
from gisserver.core.http import run_on_replica

RULE_ATTRIBUTE = "access_rule"
CSRF_EXEMPT_ATTRIBUTE = "csrf_exempt"
DATABASE_ATTRIBUTE = "database_rule"
# Views that Flask itself adds.
BUILT_IN_ENDPOINTS = {"static"}


def with_rule(view, rule: str):
    setattr(view, RULE_ATTRIBUTE, rule)
    return view


def open_to(who: str):
    """Mark a view that any caller may reach, *who* saying who it serves and what protects it there
    (e.g. "everyone; internal layers filtered by the catalog", "devices; the token is checked against the camera")."""

    def decorator(view):
        return with_rule(view, f"open to {who}")

    return decorator


def csrf_exempt(why: str):
    """Mark a view that takes posts no CSRF token can come with (browsers' own reports), *why* saying why that is
    safe: such a view must change nothing but a log."""

    def decorator(view):
        setattr(view, CSRF_EXEMPT_ATTRIBUTE, why)
        return view

    return decorator


def on_replica(view):
    """Mark a view that only reads: with GISSERVER_DATABASE_REPLICA_URLS its sessions are on a replica that is up,
    not too far behind and has replayed the caller's own last write; else on the primary."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        return run_on_replica(view, *args, **kwargs)

    setattr(wrapped, DATABASE_ATTRIBUTE, "replica")
    return wrapped


def on_primary(why: str):
    """Mark a view that needs the primary, *why* saying so ("writes reports", "rate-limited", ...)."""

    def decorator(view):
        setattr(view, DATABASE_ATTRIBUTE, f"primary: {why}")
        return view

    return decorator


def view_attribute(endpoint: str | None, name: str):
    """An attribute a decorator set on the view of *endpoint* (None when there is no such view or attribute)."""
    if endpoint is None or not has_request_context():
        return None
    return getattr(current_app.view_functions.get(endpoint), name, None)


def database_rule(view) -> str | None:
    """"replica", "primary: <why>", or None for a view that declares neither (it then uses the primary)."""
    return getattr(view, DATABASE_ATTRIBUTE, None)


def access_rule(view) -> str | None:
    """The access rule a view was declared with, or None when it has none (and will be refused)."""
    return getattr(view, RULE_ATTRIBUTE, None)


def init_access(app: Flask) -> None:
    """Refuse, with a 403 and a log line, every request to a view that declares no access rule."""

    @app.before_request
    def refuse_views_without_a_rule():
        endpoint = request.endpoint
        if endpoint is None or endpoint in BUILT_IN_ENDPOINTS:
            return
        if access_rule(app.view_functions[endpoint]) is None:
            app.logger.error("refused %s: the view %s declares no access rule", request.path, endpoint)
            raise Forbidden("this address is not open to anyone yet")
