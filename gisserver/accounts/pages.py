"""Sign in (password, then a code when two-factor sign-in is on or required), sign out, and the account page:
two-factor set-up, recovery codes, notices of failed sign-ins, password change."""

from __future__ import annotations

import time

from flask import Blueprint, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from gisserver.accounts import signin, twofactor
from gisserver.accounts.auth import current_principal, login_user, logout_user, session_secret
from gisserver.accounts.limits import attempt_for, policy, remember_device
from gisserver.accounts.models import User
from gisserver.accounts.users import authenticate, set_password
from gisserver.core.access import on_primary, open_to
from gisserver.core.features import hooks
from gisserver.core.http import db_session
from gisserver.core.i18n import safe_next

bp = Blueprint("account", __name__, template_folder="templates")

PENDING_KEY = "pending_sign_in"  # in the signed session cookie: the password was right, a code is awaited
PENDING_SECONDS = 300
PENDING_TRIES = 5  # wrong codes before the password must be given again


def _wait_page(template: str, verdict: signin.Verdict, **context):
    message = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=verdict.wait_seconds)
    return render_template(template, error=message, **context), 429, {"Retry-After": str(verdict.wait_seconds)}


@bp.route("/login", methods=["GET", "POST"])
@open_to("everyone; failed sign-ins slow down further tries per account and address, per address and per account")
@on_primary("counts failed sign-ins, and writes the new session")
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("accounts/login.html", next=next_url, error=None)
    username = request.form.get("username", "").strip().lower()
    password = request.form.get("password", "")
    if not username or not password:
        return render_template("accounts/login.html", next=next_url,
                               error=_("Enter your username and password.")), 400
    db = db_session()
    attempt = attempt_for(username, db.scalar(select(User.id).where(User.username == username)))
    verdict = signin.check(db, attempt, policy())
    if not verdict.allowed:
        return _wait_page("accounts/login.html", verdict, next=next_url)
    user = authenticate(db, username, password)
    if user is None:
        signin.record_failure(db, attempt, "password", policy())
        db.commit()
        return render_template("accounts/login.html", next=next_url, error=_("Wrong username or password.")), 401
    if twofactor.needs_second_factor(db, user):
        db.commit()  # a rehashed password
        session.clear()
        session[PENDING_KEY] = {"uid": user.id, "at": int(time.time()), "next": next_url, "tries": 0}
        return redirect(url_for("account.login_code"))
    return _signed_in(user, attempt, next_url)


def _signed_in(user: User, attempt: signin.Attempt, next_url: str, recovery_codes: list[str] | None = None):
    db = db_session()
    signin.record_success(db, attempt)
    login_user(user)
    db.commit()
    if next_url == "/":  # no page in mind: the first page a feature offers this person, if any
        next_url = start_page(current_principal()) or next_url
    if recovery_codes:  # just set up at sign-in: shown once, before going on
        response = make_response(render_template("accounts/recovery_codes.html", codes=recovery_codes,
                                                 next=next_url))
    else:
        response = redirect(next_url)
    return remember_device(response, user.id)


def _pending_user() -> tuple[User, dict] | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING_KEY, None)
        return None
    user = db_session().get(User, pending.get("uid"))
    if user is None or not user.active:
        session.pop(PENDING_KEY, None)
        return None
    return user, pending


def _code_page(user: User, pending: dict, error: str | None = None, status: int = 200):
    db = db_session()
    enrolling = not twofactor.is_enrolled(user)
    context = {"enrolling": enrolling, "error": error, "qr": None, "secret": None}
    if enrolling:
        if not user.totp_secret:
            twofactor.start_enrolment(db, user)
            db.commit()
        context.update(qr=twofactor.qr_data_uri(twofactor.provisioning_uri(user)), secret=user.totp_secret)
    return render_template("accounts/login_code.html", **context), status


@bp.route("/login/code", methods=["GET", "POST"])
@open_to("everyone; only a browser whose password step just succeeded gets further, and wrong codes are throttled")
@on_primary("counts wrong codes, and writes the new session")
def login_code():
    found = _pending_user()
    if found is None:
        return redirect(url_for("account.login"))
    user, pending = found
    if request.method == "GET":
        return _code_page(user, pending)
    db = db_session()
    attempt = attempt_for(user.username, user.id)
    verdict = signin.check(db, attempt, policy())
    if not verdict.allowed:
        page, _status = _code_page(user, pending)
        return page, 429, {"Retry-After": str(verdict.wait_seconds)}
    code = request.form.get("code", "")
    if twofactor.is_enrolled(user):
        codes, right = None, twofactor.verify(db, user, code) is not None
    else:
        codes = twofactor.confirm_enrolment(db, user, code)
        right = codes is not None
    if right:
        return _signed_in(user, attempt, safe_next(pending.get("next")), codes)
    signin.record_failure(db, attempt, "code", policy())
    db.commit()
    pending["tries"] = pending.get("tries", 0) + 1
    if pending["tries"] >= PENDING_TRIES:
        session.pop(PENDING_KEY, None)
        return render_template("accounts/login.html", next=safe_next(pending.get("next")),
                               error=_("Too many wrong codes: sign in again.")), 401
    session[PENDING_KEY] = pending
    return _code_page(user, pending, _("That code is not right (or was used already)."), 401)


def start_page(principal) -> str | None:
    """Where a person lands after signing in without a page in mind: the first page a feature offers them
    (the "start_page" hook: a leader's dashboard), else the start page."""
    for offer in hooks("start_page"):
        target = offer(db_session(), principal)
        if target is not None:
            endpoint, values = target
            return url_for(endpoint, **values)
    return None


@bp.post("/logout")
@open_to("everyone; ends the caller's own session (CSRF-checked)")
@on_primary("ends the session")
def logout():
    logout_user()
    db_session().commit()
    return redirect(url_for("pages.index"))


def _session_user() -> User | None:
    principal = current_principal()
    if principal is None or principal.kind != "user":
        return None
    return db_session().get(User, principal.id)


def _account_page(user: User, status: int = 200, **extra):
    db = db_session()
    notices = signin.recent_notices(db, user.id)
    context = {"user": user, "enrolled": twofactor.is_enrolled(user), "required": twofactor.is_required(db, user),
               "codes_left": twofactor.recovery_codes_left(db, user), "notices": notices, "setup": None,
               "codes": None, "error": None, "done": None}
    context.update(extra)
    page = render_template("accounts/account.html", **context)
    signin.mark_read(db, notices)
    db.commit()
    return page, status


@bp.get("/account")
@open_to("everyone; the view sends anyone not signed in with a browser to the login page")
@on_primary("marks the sign-in notices it shows as read")
def account():
    user = _session_user()
    if user is None:
        return redirect(url_for("account.login", next=request.path))
    return _account_page(user)


@bp.post("/account/two-factor")
@open_to("everyone; the view sends anyone not signed in with a browser to the login page (CSRF-checked)")
@on_primary("writes the two-factor secret and recovery codes")
def two_factor():
    user = _session_user()
    if user is None:
        return redirect(url_for("account.login", next=url_for("account.account")))
    db = db_session()
    action, code = request.form.get("action", ""), request.form.get("code", "")
    if action == "start":
        twofactor.start_enrolment(db, user)  # Conflict (409 page) when already on
        db.commit()
        return _account_page(user, setup=_setup(user))
    if action == "confirm":
        codes = twofactor.confirm_enrolment(db, user, code)
        if codes is None:
            return _account_page(user, 400, setup=_setup(user), error=_("That code is not right."))
        return _account_page(user, codes=codes, done=_("Two-factor sign-in is on."))
    if action in ("new-codes", "turn-off"):
        if twofactor.verify(db, user, code) is None:
            return _account_page(user, 400, error=_("That code is not right (or was used already)."))
        if action == "new-codes":
            return _account_page(user, codes=twofactor.new_recovery_codes(db, user),
                                 done=_("New recovery codes: the old ones no longer work."))
        twofactor.turn_off(db, user)  # Conflict when the role requires it
        return _account_page(user, done=_("Two-factor sign-in is off."))
    return _account_page(user, 400, error=_("Unknown action."))


def _setup(user: User) -> dict:
    return {"qr": twofactor.qr_data_uri(twofactor.provisioning_uri(user)), "secret": user.totp_secret}


@bp.route("/account/password", methods=["GET", "POST"])
@open_to("everyone; the view sends anyone not signed in to the login page")
@on_primary("writes the password and ends other sessions")
def change_password():
    principal = current_principal()
    if principal is None or principal.kind != "user":
        return redirect(url_for("account.login", next=request.path))
    if request.method == "GET":
        return render_template("accounts/password.html", error=None, done=False)
    db = db_session()
    user = db.get(User, principal.id)
    new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
    error = None
    if authenticate(db, user.username, request.form.get("current_password", "")) is None:
        error = _("The current password is wrong.")
    elif new != again:
        error = _("The two new passwords differ.")
    if error is None:
        # Raises Invalid (400 page) when too short; other browsers signed in as this user are signed out.
        set_password(db, user, new, keep_session=session_secret())
        db.commit()
        return render_template("accounts/password.html", error=None, done=True)
    return render_template("accounts/password.html", error=error, done=False), 400
