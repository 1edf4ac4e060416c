"""HTTP API of notifications: the live feed (Server-Sent Events), a staff member's notification choices and
push subscriptions, and the VAPID public key browsers subscribe with."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from gisserver.accounts.auth import current_principal, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound, Unavailable
from gisserver.core.http import db_session, json_body
from reports.cameras import alerts
from reports.notifications import admin, forms, live, tokens
from reports.notifications.config import NotificationSettings
from reports.workflow import queries
from reports.workflow.access import scope_of

bp = Blueprint("notifications", __name__, url_prefix="/api")


class StreamsFull(Unavailable):
    code = "live_streams_full"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "10"}


def _settings() -> NotificationSettings:
    return forms.settings()


def _hub() -> live.LiveHub:
    hub = current_app.extensions.get("gisserver.live")
    if hub is None:
        # LISTEN holds a session of its own: the primary directly, never through a transaction-mode pooler.
        hub = current_app.extensions.setdefault(
            "gisserver.live",
            live.LiveHub(current_app.extensions["gisserver.db"].direct_url, _settings().live_max_streams))
    return hub


def _last_event_id() -> int | None:
    raw = request.headers.get("Last-Event-ID") or request.args.get("last_event_id")
    if raw in (None, ""):
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise Invalid("Last-Event-ID is an event number", {"field": "Last-Event-ID"})
    return int(raw)


@bp.get("/live")
@require_roles("officer", "leader")
@on_primary("the backlog it replays must hold every event before its LISTEN (on the primary) took over")
def live_events():
    settings = _settings()
    session = db_session()
    scope = scope_of(session, current_principal())
    last = _last_event_id()
    hub = _hub()
    subscription = hub.subscribe(scope)
    if subscription is None:
        raise StreamsFull("too many live maps are open on this server process; reconnecting shortly")
    try:
        backlog = live.missed(session, scope, last) if last is not None else []
    except BaseException:
        hub.unsubscribe(subscription)
        raise
    session.close()  # the stream holds a thread, not a database connection
    body = live.stream(hub, subscription, backlog, heartbeat=settings.live_heartbeat_seconds,
                       max_seconds=settings.live_max_seconds)
    return Response(body, mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@bp.get("/me/notifications")
@require_roles("officer", "leader")
@on_replica
def my_notifications():
    session = db_session()
    return admin.profile_view(session, admin.user_id_of(session, current_principal()))


@bp.put("/me/notifications")
@require_roles("officer", "leader")
@on_primary("writes the caller's notification choices")
def save_my_notifications():
    session = db_session()
    view = admin.save_profile(session, admin.user_id_of(session, current_principal()), json_body())
    session.commit()
    return view


@bp.post("/me/push-subscriptions")
@require_roles("officer", "leader")
@on_primary("writes a push subscription")
def add_push_subscription():
    session = db_session()
    subscription_id = admin.add_push_subscription(session, admin.user_id_of(session, current_principal()),
                                                  json_body(),
                                                  allow_private=_settings().webhook_allow_private)
    session.commit()
    return {"id": subscription_id}, 201


@bp.get("/push/key")
@require_roles("officer", "leader")
@on_replica
def push_key():
    key = _settings().vapid_public_key
    if not key:
        raise NotFound("Web Push is not configured on this server (no VAPID key)")
    return {"public_key": key}


@bp.post("/unsubscribe/<token>")
@open_to("residents, by the one-click unsubscribe link of their emails (RFC 8058); the token names one contact")
@on_primary("writes the unsubscription")
def one_click_unsubscribe(token: str):
    session = db_session()
    key = tokens.signing_key(current_app.config["SETTINGS"])
    admin.unsubscribe(session, tokens.contact_of(key, token))
    session.commit()
    return {"unsubscribed": True}


@bp.get("/reports/<int:report_id>/deliveries")
@require_roles("officer", "leader")
@on_replica
def report_deliveries(report_id: int):
    """Every message sent about a report the caller may see (recipients masked)."""
    session = db_session()
    report = queries.visible_report(session, current_principal(), report_id)
    return {"deliveries": admin.history(session, "report", report.id)}


@bp.get("/alerts/<int:alert_id>/deliveries")
@require_roles("officer", "leader")
@on_replica
def alert_deliveries(alert_id: int):
    """Every message sent about an alert the caller may see (recipients masked)."""
    session = db_session()
    alert = alerts.visible_alert(session, current_principal(), alert_id)
    return {"deliveries": admin.history(session, "alert", alert.id)}
