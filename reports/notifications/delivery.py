"""Sending one delivery: idempotent, rate-capped, every attempt recorded, dead-lettered after the last one.

The steps, each its own short transaction so that no lock is held while a remote server is talked to:
1. claim: the delivery is still pending (a sent or dead one is left alone: a retried job never sends twice to a
   channel that acknowledged it) and an attempt row is written;
2. the channel's rate budget is taken (shared by every worker, in PostgreSQL);
3. the message is sent;
4. the outcome is written. If PostgreSQL is gone at that moment the outcome is kept in memory and written again
   until it returns (up to OUTCOME_PATIENCE), so that a database restart does not turn a sent message into a
   resend. Only a worker killed between 3 and 4 leaves an attempt "started": the next try then resends with the
   same message key (Message-ID, X-Gisserver-Delivery, the gateway's Idempotency-Key), which receivers can drop.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from gisserver.core.db import Database
from gisserver.core.features import hooks
from reports.notifications import fanout, messages
from reports.notifications.channels import (
    ChannelOff,
    DeliveryError,
    Message,
    PermanentError,
    Receipt,
    gateway,
    push,
    webhook,
)
from reports.notifications.channels import email as email_channel
from reports.notifications.config import NotificationSettings
from reports.notifications.models import (
    Delivery,
    DeliveryAttempt,
    DutyContact,
    NotificationEvent,
    PushSubscription,
    ResidentContact,
    WebhookSubscriber,
)
from reports.notifications.tokens import unsubscribe_token

log = logging.getLogger("gisserver.notifications")
OUTCOME_PATIENCE = 300.0  # seconds to keep trying to record an acknowledged send while PostgreSQL is away


class RetryLater(Exception):
    """The attempt failed in a way worth retrying; the job queue schedules the next try (backoff + jitter)."""


def _link(settings: NotificationSettings, event: NotificationEvent, delivery: Delivery, facts: dict) -> str:
    base = settings.public_url.rstrip("/")
    if event.subject_type == "report":
        if delivery.recipient_kind == "resident":
            return f"{base}/status/{facts.get('code', '')}"
        return f"{base}/reports/{event.subject_id}"
    if event.subject_type == "alert":
        return f"{base}/maps/reports?alert={event.subject_id}"
    if event.subject_type == "hotspot":
        code = event.payload.get("code")
        return f"{base}/flood/{quote(code, safe='')}" if code else f"{base}/flood"
    if event.kind == "digest":
        return f"{base}/maps/leader"
    return f"{base}/"


def _feature_message(session, event: NotificationEvent, delivery: Delivery, settings: NotificationSettings,
                     app) -> Message:
    """A message another feature writes itself (outbox.record_direct), asked of the "notification_message" hook."""
    request = messages.MessageRequest(session, event, delivery.language, settings.public_url.rstrip("/"), app)
    for write in hooks("notification_message"):
        rendered = write(request)
        if rendered is not None:
            return Message(channel=delivery.channel, recipient=delivery.recipient, key=f"dlv-{delivery.id}",
                           subject=rendered.subject, text=rendered.text, html=rendered.html,
                           attachments=rendered.attachments, parts_done=delivery.acked_parts)
    raise PermanentError(f"no feature writes messages of the kind {event.kind}")


def build_message(session, delivery: Delivery, settings: NotificationSettings, key: bytes, app=None) -> Message:
    event = session.get(NotificationEvent, delivery.event_id)
    if event.payload.get("direct"):
        return _feature_message(session, event, delivery, settings, app)
    # A webhook carries the event's facts as data, not a text: no names to look up for it.
    facts = {} if delivery.channel == "webhook" else fanout.facts_for(session, event, delivery.language)
    link = _link(settings, event, delivery, facts)
    unsubscribe = None
    headers = {}
    if delivery.recipient_kind == "resident":
        contact = session.scalar(select(ResidentContact).where(ResidentContact.report_id == event.subject_id))
        if contact is None or contact.unsubscribed_at is not None:
            raise PermanentError("the resident unsubscribed or the contact was erased")
        token = unsubscribe_token(key, contact.id)
        base = settings.public_url.rstrip("/")
        unsubscribe = f"{base}/n/unsubscribe/{token}"  # the page, for a person clicking
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to this address, with no page and no CSRF token
        headers = {"List-Unsubscribe": f"<{base}/api/unsubscribe/{token}>",
                   "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    kind = "report_received" if (event.kind == "report_filed" and delivery.recipient_kind == "resident") \
        else event.kind
    rendered = messages.render(kind, delivery.language, facts, link=link, unsubscribe=unsubscribe) \
        if delivery.channel != "webhook" else messages.Rendered(event.kind, "", "", "")
    body, secret, allow_private, push_keys = {}, "", False, {}
    if delivery.channel == "webhook":
        secret, allow_private = _webhook_key(session, delivery, event)
        body = {"id": f"evt_{event.id}", "delivery": f"dlv_{delivery.id}", "kind": event.kind,
                "subject": {"type": event.subject_type, "id": event.subject_id}, "area_id": event.area_id,
                "unit_ids": list(event.unit_ids), "urgent": event.urgent,
                "occurred_at": event.created_at.isoformat(), "data": event.payload, "link": link}
    if delivery.channel == "push":
        subscription = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == delivery.recipient))
        if subscription is None:
            raise PermanentError("the push subscription was removed")
        push_keys = {"p256dh": subscription.p256dh, "auth": subscription.auth}
        body = {"url": link}
    return Message(channel=delivery.channel, recipient=delivery.recipient, key=f"dlv-{delivery.id}",
                   subject=rendered.subject, text=rendered.text if delivery.channel == "email" else rendered.short,
                   html=rendered.html if delivery.channel == "email" else "", body=body, secret=secret,
                   allow_private=allow_private, headers=headers, push_keys=push_keys,
                   parts_done=delivery.acked_parts)


def _webhook_key(session, delivery: Delivery, event: NotificationEvent) -> tuple[str, bool]:
    """The secret a webhook is signed with and whether it may reach a private address: a subscriber's, or a unit's
    duty contact's (one of the event's units first, when several units share the address)."""
    if delivery.recipient_kind == "unit":
        contact = session.scalar(
            select(DutyContact).where(DutyContact.channel == "webhook", DutyContact.address == delivery.recipient,
                                      DutyContact.active, DutyContact.secret.is_not(None))
            .order_by(DutyContact.unit_id.in_(list(event.unit_ids) or [0]).desc(), DutyContact.id).limit(1))
        if contact is None:
            raise PermanentError("the unit's webhook contact was removed")
        return contact.secret, contact.allow_private
    subscriber = session.scalar(select(WebhookSubscriber).where(WebhookSubscriber.url == delivery.recipient,
                                                                WebhookSubscriber.active))
    if subscriber is None:
        raise PermanentError("the webhook subscriber was removed")
    return subscriber.secret, subscriber.allow_private


def take_budget(db: Database, channel: str, caps: dict[str, float]) -> float:
    """Take one message from the channel's bucket (refilled at *cap* per second, holding at most one second's
    worth); returns the seconds to wait before sending (0 when there was room)."""
    cap = caps.get(channel)
    if not cap or cap <= 0:
        return 0.0
    with db.transaction() as session:
        session.execute(text(
            "INSERT INTO notification_channel_budgets (channel, tokens, refreshed_at) "
            "VALUES (:c, :cap, clock_timestamp()) ON CONFLICT (channel) DO NOTHING"), {"c": channel, "cap": cap})
        left = session.execute(text(
            "UPDATE notification_channel_budgets SET tokens = LEAST(:cap, tokens + :cap * "
            "EXTRACT(epoch FROM clock_timestamp() - refreshed_at)) - 1, refreshed_at = clock_timestamp() "
            "WHERE channel = :c RETURNING tokens"), {"c": channel, "cap": cap}).scalar()
    return max(0.0, -float(left) / cap)


SENDERS = {"email": email_channel.send, "webhook": webhook.send, "push": push.send}


def _send(message: Message, settings: NotificationSettings, db: Database, delivery_id: int) -> Receipt:
    if message.channel in ("sms", "chat"):
        def acked(parts: int) -> None:
            _write_with_patience(db, lambda s: s.execute(text(
                "UPDATE notification_deliveries SET acked_parts = :n WHERE id = :id"), {"n": parts, "id": delivery_id}))
        return gateway.send(message, settings, on_part=acked)
    return SENDERS[message.channel](message, settings)


def _write_with_patience(db: Database, write) -> None:
    deadline = time.monotonic() + OUTCOME_PATIENCE
    pause = 0.5
    while True:
        try:
            with db.transaction() as session:
                write(session)
            return
        except DBAPIError as exc:
            if time.monotonic() > deadline or not (isinstance(exc, OperationalError) or exc.connection_invalidated):
                raise
            log.warning("database away while recording a delivery outcome; retrying in %.1fs", pause)
            time.sleep(pause)
            pause = min(pause * 2, 10.0)


def deliver(db: Database, delivery_id: int, attempt: int, settings: NotificationSettings, key: bytes,
            app=None) -> str:
    """One try of a delivery (*attempt* counts from 0); returns its outcome, raises RetryLater to be retried."""
    with db.transaction() as session:
        delivery = session.scalar(select(Delivery).where(Delivery.id == delivery_id).with_for_update(skip_locked=True))
        if delivery is None:
            exists = session.scalar(select(Delivery.id).where(Delivery.id == delivery_id))
            if exists:
                raise RetryLater("another worker holds this delivery")
            return "gone"
        if delivery.status != "pending":
            return f"already {delivery.status}"
        try:
            message = build_message(session, delivery, settings, key, app)
        except PermanentError as exc:
            delivery.status, delivery.last_error = "skipped", str(exc)
            session.add(DeliveryAttempt(delivery_id=delivery.id, started_at=datetime.now(UTC),
                                        finished_at=datetime.now(UTC), outcome="skipped", detail=str(exc)))
            return "skipped"
        delivery.attempts += 1
        started = DeliveryAttempt(delivery_id=delivery.id, started_at=datetime.now(UTC), outcome="started")
        session.add(started)
        session.flush()
        attempt_id, channel = started.id, delivery.channel

    wait = take_budget(db, channel, settings.rate_caps())
    if wait:
        time.sleep(min(wait, 60.0))
    try:
        receipt = _send(message, settings, db, delivery_id)
    except DeliveryError as exc:
        last = isinstance(exc, PermanentError) or attempt + 1 >= settings.notify_max_attempts
        outcome = "skipped" if isinstance(exc, ChannelOff) else "dead" if last else "error"
        error = str(exc)[:500]

        def record_failure(session):
            session.execute(text("UPDATE notification_attempts SET finished_at = now(), outcome = :o, detail = :d "
                                 "WHERE id = :id"), {"o": outcome, "d": error, "id": attempt_id})
            session.execute(text("UPDATE notification_deliveries SET last_error = :d, status = :s WHERE id = :id"),
                            {"d": error, "s": outcome if last else "pending", "id": delivery_id})
        _write_with_patience(db, record_failure)
        if outcome == "skipped":
            return "skipped"
        if last:
            log.warning("delivery %s is dead after %s attempt(s): %s", delivery_id, attempt + 1, error)
            return "dead"
        raise RetryLater(error) from None

    def record_success(session):
        session.execute(text("UPDATE notification_attempts SET finished_at = now(), outcome = 'sent', detail = :d "
                             "WHERE id = :id"), {"d": receipt.detail[:500], "id": attempt_id})
        session.execute(text("UPDATE notification_deliveries SET status = 'sent', sent_at = now(), last_error = NULL "
                             "WHERE id = :id"), {"id": delivery_id})
    _write_with_patience(db, record_success)
    return "sent"
