"""Who is calling: bearer tokens for API clients, a server-side session for pages.

The caller is settled before any view, rate limit or CSRF check runs: a request carrying a bad, expired or
revoked token is a 401 everywhere, never an anonymous request that slips past the checks made for staff.
What each caller may then see and change is decided by the role decorators here, the visibility of layers
(Principal.is_staff) and the scope rules of reports/workflow/access.py (and reports/cameras/access.py).

Every view states its access rule: a role or scope decorator, or `open_to(...)` naming who may call it and why
the view (or its service) is enough of a check. A view without a rule is refused to everyone, so a route added
without thinking about access fails closed instead of open.
"""

from __future__ import annotations

from dataclasses import replace
from functools import wraps

from flask import Flask, g, has_request_context, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from gisserver.accounts.models import User
from gisserver.accounts.signin import unread_notices
from gisserver.accounts.users import (
    Principal,
    end_session,
    principal_for_token,
    principal_for_user,
    start_session,
    user_for_session,
)
from gisserver.core.access import CSRF_EXEMPT_ATTRIBUTE, view_attribute, with_rule
from gisserver.core.errors import API_PREFIXES, error_response
from gisserver.core.exceptions import Forbidden, ServiceError, Unauthorized
from gisserver.core.http import db_session, primary_session

__all__ = [
    "Principal", "current_principal", "actor_label", "is_staff", "require_roles", "require_scope", "page_roles",
    "login_user", "logout_user", "session_secret", "init_auth", "accepts_api_key",
]

_UNSET = object()
SESSION_KEY = "sid"
API_KEY_ATTRIBUTE = "api_key_scope"

def current_principal() -> Principal | None:
    """The caller of this request, or None when anonymous; a bad token is a 401, not anonymity."""
    cached = g.get("principal", _UNSET)
    if cached is not _UNSET:
        return cached
    principal = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("use 'Authorization: Bearer <token>'")
        db = primary_session()
        principal = principal_for_token(db, secret.strip())
        if principal is None:
            raise Unauthorized("the token is unknown, expired or revoked")
        db.commit()  # records last_used_at
    elif (scope := view_attribute(request.endpoint, API_KEY_ATTRIBUTE)) and request.values.get("api_key"):
        db = primary_session()  # records last_used_at: a write, whichever database the view reads from
        principal = principal_for_token(db, request.values["api_key"].strip())
        if principal is None or scope not in principal.scopes:
            # GeoReport v2 answers a bad api_key with 403.
            raise Forbidden("the api_key is unknown, expired or revoked")
        principal = replace(principal, api_key=True)
        db.commit()  # records last_used_at
    elif session.get(SESSION_KEY):
        user = user_for_session(primary_session(), session[SESSION_KEY])
        if user is not None:
            principal = principal_for_user(primary_session(), user)
    g.principal = principal
    return principal


def accepts_api_key(scope: str):
    """Let a view's callers identify with an `api_key` parameter (Open311 clients do) carrying *scope*, as well as
    with a bearer token. A key given and not valid is refused, never taken as anonymous."""

    def decorator(view):
        setattr(view, API_KEY_ATTRIBUTE, scope)
        return view

    return decorator


def actor_label() -> str:
    """The caller as history and audit entries name it: "user:<name>", "token:<name>" or "anonymous"."""
    principal = current_principal()
    return principal.actor if principal else "anonymous"


def is_staff() -> bool:
    """A signed-in person (not a machine token): may see internal layers and camera streams."""
    principal = current_principal()
    return principal is not None and principal.is_staff


def require_roles(*roles: str):
    """Let a view run only for callers holding one of *roles* (admins pass every check)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise Unauthorized("sign in or send a bearer token")
            if not principal.has_role(*roles):
                raise Forbidden(f"this needs the role {' or '.join(roles)}")
            return view(*args, **kwargs)

        return with_rule(wrapped, f"roles {', '.join(roles)}")

    return decorator


def require_scope(scope: str, *or_roles: str):
    """Let a view run for tokens carrying *scope*, or for people holding one of *or_roles*."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                raise Unauthorized("send a bearer token")
            if scope not in principal.scopes and not principal.has_role(*or_roles or ("admin",)):
                raise Forbidden(f"this needs the scope {scope}")
            return view(*args, **kwargs)

        return with_rule(wrapped, f"scope {scope} or roles {', '.join(or_roles or ('admin',))}")

    return decorator


def page_roles(*roles: str):
    """For HTML pages: send the anonymous to the login page, refuse (403 page) those without the role."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            principal = current_principal()
            if principal is None:
                return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
            if roles and not principal.has_role(*roles):
                raise Forbidden("your account does not have access to this page")
            return view(*args, **kwargs)

        return with_rule(wrapped, f"signed-in {', '.join(roles) or 'callers'}")

    return decorator


def login_user(user: User) -> None:
    """Start a server-side session; a fresh cookie also means a fresh CSRF token (no session fixation)."""
    secret = start_session(db_session(), user, remote_addr=request.remote_addr)
    session.clear()
    session[SESSION_KEY] = secret
    session.permanent = True
    g.pop("principal", None)


def logout_user() -> None:
    """End the session on the server too, so that a copy of the cookie is worthless."""
    secret = session.get(SESSION_KEY)
    if secret:
        end_session(db_session(), secret)
    session.clear()
    g.principal = None


def session_secret() -> str | None:
    return session.get(SESSION_KEY)


class SessionInterface(SecureCookieSessionInterface):
    """The cookie is marked Secure whenever the request came over HTTPS (directly or through a trusted proxy),
    and always when GISSERVER_SECURE_COOKIES is on. A request without the cookie (every anonymous map tile and
    feature page) starts an empty session without building the cookie's signer (Flask builds one per request,
    and itsdangerous test-serialises with it)."""

    def open_session(self, app: Flask, request):
        if self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (has_request_context() and request.is_secure))


csrf = CSRFProtect()
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_auth(app: Flask) -> None:
    """Session cookies carry staff into pages, so every state-changing request riding on one
    (or any HTML form post) must carry a CSRF token; bearer-token and anonymous JSON calls cannot
    be forged cross-site this way and are left alone."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.session_interface = SessionInterface()
    csrf.init_app(app)

    @app.before_request
    def identify_caller():
        # Registered before the rate limiter and the CSRF check, which both ask who is calling.
        if request.endpoint != "static":
            current_principal()

    @app.before_request
    def check_csrf():
        if request.method not in UNSAFE_METHODS or request.headers.get("Authorization"):
            return
        if view_attribute(request.endpoint, CSRF_EXEMPT_ATTRIBUTE):
            return
        riding_on_session = bool(session.get(SESSION_KEY))
        page_form = request.mimetype in FORM_TYPES and not request.path.startswith(API_PREFIXES)
        if riding_on_session or page_form:
            csrf.protect()

    @app.after_request
    def keep_answers_to_callers_private(response):
        # What a signed-in caller gets may be theirs alone (report photos, internal layers, reporter data):
        # a shared cache must never store it for the next visitor.
        if g.get("principal") is not None:
            if response.headers.get("Cache-Control"):
                response.cache_control.public = False
                response.cache_control.private = True
            else:
                response.headers["Cache-Control"] = "private, no-store"
        return response

    @app.context_processor
    def inject_principal():
        # Pages show who is signed in; an error page (even one saying the database is down)
        # must still render, so a failure here just means "nobody".
        try:
            principal = current_principal()
            unread = 0
            if principal is not None and principal.kind == "user" and request.endpoint != "account.account":
                unread = len(unread_notices(db_session(), principal.id))
            return {"principal": principal, "unread_notices": unread}
        except (ServiceError, SQLAlchemyError):
            return {"principal": None, "unread_notices": 0}

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        return error_response(400, "csrf_failed", exc.description)
