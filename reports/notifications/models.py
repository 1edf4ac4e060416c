"""Tables of notifications: the outbox of events, one delivery per (event, channel, recipient) with every attempt,
who is told (duty contacts, staff profiles, residents' contacts, webhook subscribers, push subscriptions) and the
shared per-channel rate budget."""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from gisserver.core.db import Base

CHANNELS = ("email", "sms", "chat", "webhook", "push")
DELIVERY_STATES = ("pending", "sent", "dead", "skipped")


class NotificationEvent(Base):
    """The outbox: one row per thing worth telling, written in the transaction of the change.

    *dedupe_key* makes scheduled events (overdue, escalations, digests) happen once however many workers run
    the check. The row's id is also the live map's event id (Last-Event-ID).
    """

    __tablename__ = "notification_events"
    __audited__ = False  # derived from a change that is audited itself; one more row per change would double it
    # Only scheduled events have a dedupe key: a filed report's event adds no entry to its index.
    __table_args__ = (Index("uq_notification_events_dedupe_key", "dedupe_key", unique=True,
                            postgresql_where=text("dedupe_key IS NOT NULL")),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_type: Mapped[str] = mapped_column(String(16))  # report, alert, hotspot, camera, area
    subject_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(Integer, index=True)
    unit_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    dedupe_key: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    fanned_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Delivery(Base):
    """One message to one recipient on one channel; unique, so a re-run fan-out adds nothing twice."""

    __tablename__ = "notification_deliveries"
    __audit_redacted__ = ("recipient",)
    __table_args__ = (UniqueConstraint("event_id", "channel", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("notification_events.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(Text)  # address, phone, URL or subscription id; never shown
    recipient_masked: Mapped[str] = mapped_column(Text)
    recipient_kind: Mapped[str] = mapped_column(String(16))  # unit, user, resident, subscriber
    language: Mapped[str] = mapped_column(String(2), default="vi")
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Parts the channel acknowledged (SMS segments): a retry sends only the rest.
    acked_parts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Held for the recipient's duty or quiet hours until then, by a deliver job of its own; NULL: sent at once by
    # the job that fanned its event out (delivery.send_event), which is how a retry of that job finds it again.
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeliveryAttempt(Base):
    """Every try of a delivery: when, how it ended, in how long; shown in the report's or alert's history."""

    __tablename__ = "notification_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
                                             index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(16), default="started")  # started, sent, error, dead
    detail: Mapped[str] = mapped_column(Text, default="")


class DutyContact(Base):
    """Where a unit is told: an email, a phone (SMS), a chat id or a webhook, during its duty hours
    (both empty = always; from > to wraps midnight). A webhook signs its messages with the contact's own secret."""

    __tablename__ = "unit_duty_contacts"
    __audit_redacted__ = ("secret",)
    __table_args__ = (UniqueConstraint("unit_id", "channel", "address"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    on_duty_from: Mapped[time | None] = mapped_column(Time)
    on_duty_to: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str | None] = mapped_column(Text)  # webhooks only: the HMAC key, handed over once
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)  # webhooks only: an admin's choice


class NotificationProfile(Base):
    """A staff user's channels and quiet hours (non-urgent messages wait until they end)."""

    __tablename__ = "notification_profiles"
    __audit_redacted__ = ("email", "phone")

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    channels: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    quiet_from: Mapped[time | None] = mapped_column(Time)
    quiet_to: Mapped[time | None] = mapped_column(Time)
    digest: Mapped[bool] = mapped_column(Boolean, default=True)


class ResidentContact(Base):
    """How the resident who filed a report hears back; erased *contact_retention_days* after it closes.
    The unsubscribe token is an HMAC of the row id (tokens.py), so no token is stored."""

    __tablename__ = "resident_contacts"
    __audit_redacted__ = ("email", "phone")  # a resident's contact is shown to nobody, admins included

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(2), default="vi")
    consent: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookSubscriber(Base):
    """Another system told of events (an IOC, a city dashboard): JSON bodies signed with its own secret."""

    __tablename__ = "webhook_subscribers"
    __audit_redacted__ = ("secret",)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)  # empty = every kind
    allow_private: Mapped[bool] = mapped_column(Boolean, default=False)  # an admin's choice, per subscriber
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PushSubscription(Base):
    """A browser that accepted Web Push for a staff user."""

    __tablename__ = "push_subscriptions"
    __audit_redacted__ = ("endpoint", "p256dh", "auth")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(Text)
    auth: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ChannelBudget(Base):
    """A token bucket per channel, shared by every worker: the per-channel rate cap."""

    __tablename__ = "notification_channel_budgets"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
