"""The residents' unsubscribe page: the link in every email opens it, one button stops the messages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_session
from reports.notifications import admin, tokens

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
