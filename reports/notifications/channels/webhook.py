"""Signed webhooks: a JSON body, ``X-Gisserver-Signature: t=<unix time>,v1=<hex HMAC-SHA256>`` over
``"<t>.<body>"`` with the subscriber's own secret, and ``X-Gisserver-Delivery`` (the same on every retry) so that
a receiver drops a repeat. README "Webhooks" shows how to verify it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from gisserver.core.exceptions import Invalid
from reports.notifications.channels import Message, PermanentError, Receipt
from reports.notifications.channels.http import call
from reports.notifications.channels.netguard import pin
from reports.notifications.config import NotificationSettings

TOLERANCE_SECONDS = 300  # what a receiver should accept between the timestamp and its clock


def signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, now: float | None = None) -> bool:
    """What a receiver does (the tests' receiver uses it too): a fresh timestamp and a matching HMAC."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def send(message: Message, settings: NotificationSettings) -> Receipt:
    try:
        url = pin(message.recipient, allow_private=message.allow_private or settings.webhook_allow_private).url
    except Invalid as exc:
        raise PermanentError(f"webhook address refused: {exc.message}") from None
    body = json.dumps(message.body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "gisserver-webhooks/1",
               "X-Gisserver-Event": message.body.get("kind", ""), "X-Gisserver-Delivery": message.key,
               "X-Gisserver-Signature": signature(message.secret, int(time.time()), body)}
    response = call("webhook", "POST", url, data=body, headers=headers, timeout=settings.webhook_timeout)
    return Receipt(f"webhook answered {response.status_code}")
