"""Sign in, sign out and change password for staff using the pages."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gisserver.accounts.auth import current_principal, login_user, logout_user, session_secret
from gisserver.accounts.limits import failed_logins_limit
from gisserver.accounts.models import User
from gisserver.accounts.users import authenticate, set_password
from gisserver.core.access import open_to
from gisserver.core.http import db_session
from gisserver.core.i18n import safe_next

bp = Blueprint("account", __name__, template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@failed_logins_limit
@open_to("everyone; failed sign-ins are rate-limited")
def login():
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("accounts/login.html", next=next_url, error=None)
    user = authenticate(
        db_session(), request.form.get("username", "").strip().lower(), request.form.get("password", "")
    )
    if user is None:
        return render_template("accounts/login.html", next=next_url, error=_("Wrong username or password.")), 401
    login_user(user)
    db_session().commit()
    return redirect(next_url)


@bp.post("/logout")
@open_to("everyone; ends the caller's own session (CSRF-checked)")
def logout():
    logout_user()
    db_session().commit()
    return redirect(url_for("pages.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@open_to("everyone; the view sends anyone not signed in to the login page")
def change_password():
    principal = current_principal()
    if principal is None or principal.kind != "user":
        return redirect(url_for("account.login", next=request.path))
    if request.method == "GET":
        return render_template("accounts/password.html", error=None, done=False)
    session = db_session()
    user = session.get(User, principal.id)
    new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
    error = None
    if authenticate(session, user.username, request.form.get("current_password", "")) is None:
        error = _("The current password is wrong.")
    elif new != again:
        error = _("The two new passwords differ.")
    if error is None:
        # Raises Invalid (400 page) when too short; other browsers signed in as this user are signed out.
        set_password(session, user, new, keep_session=session_secret())
        session.commit()
        return render_template("accounts/password.html", error=None, done=True)
    return render_template("accounts/password.html", error=error, done=False), 400
