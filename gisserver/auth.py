"""Who is calling: bearer tokens for API clients, the session cookie for pages."""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from gisserver.errors import API_PREFIXES, error_response
from gisserver.exceptions import Forbidden, ServiceError, Unauthorized
from gisserver.http import db_session
from gisserver.users import Principal, User, principal_for_token, principal_for_user

__all__ = ["Principal", "current_principal", "require_roles", "require_scope", "login_user", "logout_user", "init_auth"]

_UNSET = object()


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
        db = db_session()
        principal = principal_for_token(db, secret.strip())
        if principal is None:
            raise Unauthorized("the token is unknown, expired or revoked")
        db.commit()  # records last_used_at
    elif session.get("user_id"):
        user = db_session().get(User, session["user_id"])
        if user is not None and user.active:
            principal = principal_for_user(db_session(), user)
    g.principal = principal
    return principal


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

        return wrapped

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

        return wrapped

    return decorator


def login_user(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session.permanent = True


def logout_user() -> None:
    session.clear()


csrf = CSRFProtect()
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def init_auth(app: Flask) -> None:
    """Session cookies carry staff into pages, so every state-changing request riding on one
    (or any HTML form post) must carry a CSRF token; bearer-token and anonymous JSON calls cannot
    be forged cross-site this way and are left alone."""
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)

    @app.before_request
    def check_csrf():
        if request.method not in UNSAFE_METHODS or request.headers.get("Authorization"):
            return
        riding_on_session = bool(session.get("user_id"))
        page_form = request.mimetype in FORM_TYPES and not request.path.startswith(API_PREFIXES)
        if riding_on_session or page_form:
            csrf.protect()

    @app.context_processor
    def inject_principal():
        # Pages show who is signed in; an error page (even one saying the database is down)
        # must still render, so a failure here just means "nobody".
        try:
            return {"principal": current_principal()}
        except (ServiceError, SQLAlchemyError):
            return {"principal": None}

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        return error_response(400, "csrf_failed", exc.description)


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

        return wrapped

    return decorator
