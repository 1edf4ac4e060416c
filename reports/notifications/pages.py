"""Notification pages: the residents' unsubscribe page (the link in every email opens it, one button stops the
messages), the staff's notification choices with Web Push in their browser, and its service worker."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, current_app, render_template, send_from_directory, url_for
from flask_babel import lazy_gettext as _l

from gisserver.accounts.auth import current_principal, page_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session
from reports.notifications import admin, forms, tokens

bp = Blueprint("notifications_pages", __name__, template_folder="templates")


def _contact_id(token: str) -> int:
    contact_id = tokens.contact_of(tokens.signing_key(current_app.config["SETTINGS"]), token)
    if contact_id is None:
        raise NotFound("this unsubscribe link is not valid")
    return contact_id


@bp.get("/n/unsubscribe/<token>")
@open_to("residents, with the unsubscribe link of their emails; the token names one contact")
@on_replica
def unsubscribe_page(token: str):
    _contact_id(token)
    return render_template("notifications/unsubscribe.html", token=token, done=False)


@bp.post("/n/unsubscribe/<token>")
@open_to("residents, with the unsubscribe link of their emails; the token names one contact")
@on_primary("writes the unsubscription")
def unsubscribe_confirm(token: str):
    session = db_session()
    admin.unsubscribe(session, _contact_id(token))
    session.commit()
    return render_template("notifications/unsubscribe.html", token=token, done=True)


def live_context() -> dict:
    """Names the live banner include may use (the alert types in the reader's language), read only when shown."""
    from flask_babel import get_locale

    from reports.cameras.alert_types import alert_type_labels

    return {"live_alert_types": lambda: alert_type_labels(db_session(), str(get_locale()) == "en")}


@bp.get("/me/notifications")
@page_roles("officer", "leader")
@on_primary("one's own choices, read right after one changes them")
def choices_page():
    """A staff member's notification choices: channels, language, quiet hours, the daily digest, and Web Push in
    this browser."""
    session = db_session()
    principal = current_principal()
    settings = forms.settings()
    config = {"save": url_for("notifications.save_my_notifications"),
              "pushKey": url_for("notifications.push_key"),
              "pushSubscribe": url_for("notifications.add_push_subscription"),
              "worker": url_for("notifications_pages.push_worker"),
              "words": {k: str(v) for k, v in PUSH_WORDS.items()}}
    return render_template("notifications/choices.html", profile=admin.profile_view(session, admin.user_id_of(
        session, principal)), config=config, push_ready=bool(settings.vapid_public_key),
        leader="leader" in principal.roles)


PUSH_WORDS = {
    "saved": _l("Saved."),
    "on": _l("This browser will show your notifications."),
    "denied": _l("The browser refused: allow notifications for this site in its settings, then try again."),
    "unsupported": _l("This browser cannot receive Web Push notifications."),
    "failed": _l("The browser could not subscribe to its push service:"),
}


@bp.get("/push-sw.js")
@open_to("browsers of signed-in staff; the service worker script that shows Web Push notices, holds no data")
@on_replica
def push_worker():
    """At the site's root, so that its scope covers every page (it handles no fetch; pages load as usual)."""
    response = send_from_directory(Path(current_app.static_folder) / "js", "push-sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Cache-Control"] = "no-cache"  # browsers check for a new version on every registration
    return response
