"""OpenAPI paths of notifications, and the webhook payload that subscribers receive (a component: it is sent, not
served)."""

from __future__ import annotations

from gisserver.core.openapi import (
    BOOLEAN,
    DATABASE_ID,
    INTEGER,
    JSON,
    NULLABLE_STRING,
    STRING,
    TIME,
    json_body,
    list_of,
    obj,
    op,
    param,
    path_param,
    ref,
)


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


CHANNEL_LIST = {"type": "array", "items": {"type": "string", "enum": ["email", "sms", "push"]}}
SCHEMAS = {
    "DeliveryAttempt": obj(("at", "kind", "channel", "recipient", "outcome"), at=TIME, kind=STRING,
                           channel={"type": "string", "enum": ["email", "sms", "chat", "webhook", "push"]},
                           recipient=STRING, recipient_kind=STRING,
                           outcome={"type": "string", "enum": ["started", "sent", "error", "dead", "skipped"]},
                           detail=STRING),
    "NotificationProfile": obj(
        email=NULLABLE_STRING, phone=NULLABLE_STRING, language={"type": "string", "enum": ["vi", "en"]},
        channels=CHANNEL_LIST, quiet_hours={"type": "string", "nullable": True,
                                            "pattern": "^[0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]$"},
        digest=BOOLEAN, push_subscriptions=INTEGER),
    "PushSubscriptionIn": obj(("endpoint", "keys"), endpoint=STRING, keys=obj(("p256dh", "auth"), p256dh=STRING,
                                                                            auth=STRING)),
    "LiveEvent": obj(("id", "kind", "subject_type", "subject_id"), id=INTEGER, kind=STRING, subject_type=STRING,
                     subject_id=INTEGER, area_id={"type": "integer", "nullable": True},
                     unit_ids={"type": "array", "items": INTEGER}, urgent=BOOLEAN, data={"type": "object"}),
    # What a webhook subscriber receives (POST, application/json). Headers: X-Gisserver-Event (the kind),
    # X-Gisserver-Delivery (the same on every retry: drop repeats), X-Gisserver-Signature "t=<unix>,v1=<hex>"
    # where v1 = HMAC-SHA256(secret, "<t>.<raw body>"); refuse a t more than 300 s from your clock.
    "WebhookEvent": obj(
        ("id", "delivery", "kind", "subject", "occurred_at", "data"),
        id={"type": "string", "example": "evt_42"}, delivery={"type": "string", "example": "dlv_97"},
        kind={"type": "string", "enum": ["report_filed", "report_status", "report_reassigned", "report_merged",
                                         "report_comment", "report_deadline_near", "report_overdue",
                                         "report_escalated", "alert_raised", "alert_escalated", "hotspot_warning",
                                         "hotspot_danger", "camera_offline", "gauge_stale", "digest"]},
        subject=obj(("type", "id"), type={"type": "string", "enum": ["report", "alert", "hotspot", "camera",
                                                                     "area"]}, id=INTEGER),
        area_id={"type": "integer", "nullable": True}, unit_ids={"type": "array", "items": INTEGER},
        urgent=BOOLEAN, occurred_at=TIME, data={"type": "object", "description": "the event's facts: codes, "
                                                "statuses, lon/lat, times (never a resident's contact)"},
        link=STRING),
}

PATHS = {
    "/api/live": {"get": op(
        "the live feed of changes in the caller's scope (text/event-stream; reconnect with Last-Event-ID)", "live",
        params=[param("Last-Event-ID", {"type": "string", "pattern": "^[0-9]{1,10}$"}, "header",
                      "send the last event id seen to receive what was missed"),
                param("last_event_id", {"type": "string", "pattern": "^[0-9]{1,10}$"})],
        ok=(200, "text/event-stream", None), roles=("officer", "leader"))},
    "/api/me/notifications": {
        "get": op("my notification channels and quiet hours", "notifications", ok=(200, JSON, ref(
            "NotificationProfile")), roles=("officer", "leader")),
        "put": op("choose my notification channels and quiet hours", "notifications",
                  body=json_body(ref("NotificationProfile")), ok=(200, JSON, ref("NotificationProfile")),
                  roles=("officer", "leader")),
    },
    "/api/me/push-subscriptions": {"post": op(
        "register this browser for Web Push", "notifications", body=json_body(ref("PushSubscriptionIn")),
        ok=(201, JSON, obj(("id",), id=INTEGER)), roles=("officer", "leader"))},
    "/api/push/key": {"get": op("the VAPID public key for PushManager.subscribe", "notifications",
                                ok=(200, JSON, obj(("public_key",), public_key=STRING)),
                                roles=("officer", "leader"))},
    "/api/reports/{report_id}/deliveries": {"get": op(
        "every message sent about a report (channel, masked recipient, time, outcome)", "notifications",
        params=[path_param("report_id", DATABASE_ID)], ok=(200, JSON, list_of("deliveries", ref("DeliveryAttempt"))),
        roles=("officer", "leader"))},
    "/api/alerts/{alert_id}/deliveries": {"get": op(
        "every message sent about an alert (channel, masked recipient, time, outcome)", "notifications",
        params=[path_param("alert_id", DATABASE_ID)], ok=(200, JSON, list_of("deliveries", ref("DeliveryAttempt"))),
        roles=("officer", "leader"))},
    "/api/unsubscribe/{token}": {"post": op(
        "one-click unsubscribe of a resident (RFC 8058; the List-Unsubscribe header of every email)", "notifications",
        params=[path_param("token")], ok=(200, JSON, obj(("unsubscribed",), unsubscribed=BOOLEAN)))},
}
