"""Managing who is told, and the dead letters: units' duty contacts, webhook subscribers, staff profiles and push
subscriptions, residents' unsubscribe, failed deliveries and their retry. Plain functions over a session."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from gisserver.core.exceptions import Conflict, Invalid, NotFound
from reports.areas.units import unit_by_code
from reports.notifications import queue
from reports.notifications.channels.netguard import check_url
from reports.notifications.models import (
    CHANNELS,
    Delivery,
    DeliveryAttempt,
    DutyContact,
    NotificationEvent,
    NotificationProfile,
    PushSubscription,
    ResidentContact,
    WebhookSubscriber,
)

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
PHONE = re.compile(r"^\+?[0-9][0-9 .-]{6,18}[0-9]$")
CHAT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_address(channel: str, address, *, allow_private: bool = False, field: str = "address") -> str:
    """A contact address of its channel, or Invalid: never a line break, never a malformed value."""
    if not isinstance(address, str) or not address.strip():
        raise Invalid(f"give the {channel} address", {"field": field})
    address = address.strip()
    if any(c in address for c in "\r\n\0"):
        raise Invalid("an address cannot hold line breaks", {"field": field})
    if channel == "email" and (len(address) > 254 or not EMAIL.match(address)):
        raise Invalid("not an email address", {"field": field})
    if channel == "sms" and not PHONE.match(address):
        raise Invalid("not a phone number", {"field": field})
    if channel == "chat" and not CHAT_ID.match(address):
        raise Invalid("a chat id is 1-100 letters, digits or _ . : -", {"field": field})
    if channel == "webhook":
        check_url(address, allow_private=allow_private, field=field)
    if channel not in CHANNELS or channel == "push":
        raise Invalid("channel must be one of email, sms, chat, webhook", {"field": "channel"})
    return address


def parse_hours(value: str | None) -> tuple[time | None, time | None]:
    """"07:00-17:30" (or "22:00-06:00" over midnight) -> the two times; empty -> always."""
    if not value:
        return None, None
    match = re.fullmatch(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)", value.strip())
    if not match:
        raise Invalid("hours are HH:MM-HH:MM", {"field": "hours"})
    h1, m1, h2, m2 = map(int, match.groups())
    return time(h1, m1), time(h2, m2)


def add_duty_contact(session: Session, unit_code: str, channel: str, address: str, *, language: str = "vi",
                     hours: str | None = None, allow_private: bool = False) -> DutyContact:
    """Add (or update) a unit's duty contact. A webhook contact gets a new signing secret each time: read it from
    the returned contact once, to hand over to the receiving system."""
    unit = unit_by_code(session, unit_code)
    if allow_private and channel != "webhook":
        raise Invalid("only a webhook may be allowed a private address", {"field": "allow_private"})
    address = check_address(channel, address, allow_private=allow_private)
    if language not in ("vi", "en"):
        raise Invalid("language is vi or en", {"field": "language"})
    start, end = parse_hours(hours)
    existing = session.scalar(select(DutyContact).where(DutyContact.unit_id == unit.id, DutyContact.channel == channel,
                                                        DutyContact.address == address))
    contact = existing or DutyContact(unit_id=unit.id, channel=channel, address=address)
    contact.language, contact.on_duty_from, contact.on_duty_to, contact.active = language, start, end, True
    if channel == "webhook":
        contact.secret, contact.allow_private = secrets.token_urlsafe(32), allow_private
    session.add(contact)
    session.flush()
    return contact


def remove_duty_contact(session: Session, contact_id: int) -> None:
    contact = session.get(DutyContact, contact_id)
    if contact is None:
        raise NotFound("no such contact")
    session.delete(contact)


def add_webhook(session: Session, name: str, url: str, *, kinds: list[str] | None = None,
                allow_private: bool = False, secret: str | None = None) -> tuple[WebhookSubscriber, str]:
    """A subscriber with its own secret (generated unless given); returns it with the secret to hand over."""
    if not isinstance(name, str) or not NAME.match(name):
        raise Invalid("name is 1-64 letters, digits, '.', '_' or '-'", {"field": "name"})
    check_url(url, allow_private=allow_private)
    if session.scalar(select(WebhookSubscriber.id).where(WebhookSubscriber.name == name)):
        raise Conflict(f"a webhook subscriber {name} exists")
    secret = secret or secrets.token_urlsafe(32)
    if len(secret) < 16:
        raise Invalid("a secret has at least 16 characters", {"field": "secret"})
    subscriber = WebhookSubscriber(name=name, url=url, secret=secret, kinds=sorted(set(kinds or [])),
                                   allow_private=allow_private, active=True)
    session.add(subscriber)
    session.flush()
    return subscriber, secret


def remove_webhook(session: Session, name: str) -> None:
    subscriber = session.scalar(select(WebhookSubscriber).where(WebhookSubscriber.name == name))
    if subscriber is None:
        raise NotFound(f"no webhook subscriber {name}")
    session.delete(subscriber)


@dataclass(frozen=True)
class FailedDelivery:
    id: int
    kind: str
    subject: str
    channel: str
    recipient: str
    attempts: int
    last_error: str
    created_at: datetime


def failed(session: Session, limit: int = 200) -> list[FailedDelivery]:
    """The dead letters, newest first."""
    rows = session.execute(select(Delivery, NotificationEvent).join(NotificationEvent)
                           .where(Delivery.status == "dead").order_by(Delivery.id.desc()).limit(limit))
    return [FailedDelivery(d.id, e.kind, f"{e.subject_type} {e.subject_id}", d.channel, d.recipient_masked,
                           d.attempts, d.last_error or "", d.created_at) for d, e in rows]


def retry(session: Session, delivery_ids: list[int] | None = None) -> int:
    """Put dead deliveries (all of them, or these) back in the queue for a fresh round of attempts."""
    query = select(Delivery).where(Delivery.status == "dead")
    if delivery_ids:
        query = query.where(Delivery.id.in_(delivery_ids))
        known = set(session.scalars(select(Delivery.id).where(Delivery.id.in_(delivery_ids))))
        if missing := sorted(set(delivery_ids) - known):
            raise NotFound(f"no delivery {', '.join(map(str, missing))}")
    count = 0
    for delivery in session.scalars(query.with_for_update()):
        delivery.status = "pending"
        queue.defer(session, queue.DELIVER, "deliver", delivery_id=delivery.id)
        count += 1
    return count


def history(session: Session, subject_type: str, subject_id: int) -> list[dict]:
    """Every delivery attempt about a report or an alert, oldest first (recipients masked)."""
    rows = session.execute(
        select(DeliveryAttempt, Delivery, NotificationEvent)
        .join(Delivery, Delivery.id == DeliveryAttempt.delivery_id)
        .join(NotificationEvent, NotificationEvent.id == Delivery.event_id)
        .where(NotificationEvent.subject_type == subject_type, NotificationEvent.subject_id == subject_id)
        .order_by(DeliveryAttempt.started_at, DeliveryAttempt.id))
    return [{"at": a.started_at.isoformat(), "kind": e.kind, "channel": d.channel, "recipient": d.recipient_masked,
             "recipient_kind": d.recipient_kind, "outcome": a.outcome, "detail": a.detail} for a, d, e in rows]


def unsubscribe(session: Session, contact_id: int | None) -> ResidentContact:
    """Stop telling a resident (the token was checked by tokens.contact_of); pending messages are skipped."""
    contact = session.get(ResidentContact, contact_id) if contact_id else None
    if contact is None:
        raise NotFound("this unsubscribe link is not valid (or the contact was already erased)")
    if contact.unsubscribed_at is None:
        contact.unsubscribed_at = datetime.now(UTC)
        session.execute(text(
            "UPDATE notification_deliveries d SET status = 'skipped', last_error = 'unsubscribed' "
            "FROM notification_events e WHERE e.id = d.event_id AND d.status = 'pending' "
            "AND d.recipient_kind = 'resident' AND e.subject_type = 'report' AND e.subject_id = :r"),
            {"r": contact.report_id})
    return contact


PROFILE_CHANNELS = ("email", "sms", "push")


def user_id_of(session: Session, principal) -> int:
    """The person behind a session or a personal token (a token's principal carries the token's id)."""
    if principal.kind == "user":
        return principal.id
    user_id = session.scalar(select(User.id).where(User.username == principal.name))
    if user_id is None:
        raise Invalid("notification choices belong to a person, not a machine token")
    return user_id


def profile_view(session: Session, user_id: int) -> dict:
    profile = session.get(NotificationProfile, user_id)
    if profile is None:
        return {"email": None, "phone": None, "language": "vi", "channels": [], "quiet_hours": None, "digest": True,
                "push_subscriptions": 0}
    subs = session.scalar(text("SELECT count(*) FROM push_subscriptions WHERE user_id = :u"), {"u": user_id})
    quiet = (f"{profile.quiet_from:%H:%M}-{profile.quiet_to:%H:%M}" if profile.quiet_from else None)
    return {"email": profile.email, "phone": profile.phone, "language": profile.language,
            "channels": list(profile.channels), "quiet_hours": quiet, "digest": profile.digest,
            "push_subscriptions": subs}


def save_profile(session: Session, user_id: int, body: dict) -> dict:
    """Replace a user's notification choices; every field is checked before anything is stored."""
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    unknown = set(body) - {"email", "phone", "language", "channels", "quiet_hours", "digest"}
    if unknown:
        raise Invalid(f"unknown fields: {', '.join(sorted(unknown))}", {"fields": sorted(unknown)})
    email = body.get("email") or None
    phone = body.get("phone") or None
    if email is not None:
        email = check_address("email", email, field="email")
    if phone is not None:
        phone = check_address("sms", phone, field="phone")
    channels = body.get("channels", [])
    if not isinstance(channels, list) or any(c not in PROFILE_CHANNELS for c in channels):
        raise Invalid(f"channels is a list of {', '.join(PROFILE_CHANNELS)}", {"field": "channels"})
    if "email" in channels and not email:
        raise Invalid("give an email to be told by email", {"field": "email"})
    if "sms" in channels and not phone:
        raise Invalid("give a phone to be told by text message", {"field": "phone"})
    language = body.get("language", "vi")
    if language not in ("vi", "en"):
        raise Invalid("language is vi or en", {"field": "language"})
    quiet = body.get("quiet_hours")
    if quiet is not None and not isinstance(quiet, str):
        raise Invalid("quiet_hours is HH:MM-HH:MM or null", {"field": "quiet_hours"})
    quiet_from, quiet_to = parse_hours(quiet)
    digest = body.get("digest", True)
    if not isinstance(digest, bool):
        raise Invalid("digest is true or false", {"field": "digest"})
    profile = session.get(NotificationProfile, user_id) or NotificationProfile(user_id=user_id)
    profile.email, profile.phone, profile.language = email, phone, language
    profile.channels, profile.quiet_from, profile.quiet_to, profile.digest = sorted(set(channels)), quiet_from, \
        quiet_to, digest
    session.add(profile)
    session.flush()
    return profile_view(session, user_id)


def add_push_subscription(session: Session, user_id: int, body: dict, *, allow_private: bool) -> int:
    """Store a browser's PushSubscription (endpoint + keys.p256dh + keys.auth) for the user."""
    if not isinstance(body, dict) or not isinstance(body.get("keys"), dict):
        raise Invalid("send the browser's PushSubscription: endpoint and keys")
    endpoint = body.get("endpoint")
    check_url(endpoint, allow_private=allow_private, field="endpoint")
    keys = body["keys"]
    for name in ("p256dh", "auth"):
        value = keys.get(name)
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_=-]{8,200}", value):
            raise Invalid(f"keys.{name} must be base64url", {"field": f"keys.{name}"})
    existing = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if existing is not None and existing.user_id != user_id:
        raise Conflict("this push endpoint belongs to another user")
    subscription = existing or PushSubscription(user_id=user_id, endpoint=endpoint)
    subscription.p256dh, subscription.auth = keys["p256dh"], keys["auth"]
    session.add(subscription)
    session.flush()
    return subscription.id
