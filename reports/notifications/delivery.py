"""Sending deliveries: idempotent, rate-capped, every attempt recorded, dead-lettered after the last one.

The steps, each its own short transaction so that no lock is held while a remote server is talked to:
1. claim: the delivery is still pending (a sent or dead one is left alone: a retried job never sends twice to a
   channel that acknowledged it) and an attempt row is written;
2. the channel's rate budget is taken (shared by every worker, in PostgreSQL);
3. the message is sent;
4. the outcome is written. If PostgreSQL is gone at that moment the outcome is kept in memory and written again
   until it returns (up to OUTCOME_PATIENCE), so that a database restart does not turn a sent message into a
   resend. Only a worker killed between 3 and 4 leaves an attempt "started": the next try then resends with the
   same message key (Message-ID, X-Gisserver-Delivery, the gateway's Idempotency-Key), which receivers can drop.

Two ways in. send_event is the common one: the job that fans an event out claims that event's deliveries in the
same transaction, takes their budget there too, sends them one after another and records every outcome in one
transaction. On a flood day this is what keeps up: one job and two transactions per event instead of a job and
three transactions per delivery; and the job takes other ready fan-out jobs along (queue.take_ready), so that one
job and its two transactions serve a batch of events. A delivery whose try fails gets a deliver job of its own for
the next ones, with backoff; so do deliveries held for duty or quiet hours, and dead letters an admin retries. That
job is deliver.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError, OperationalError

from gisserver.core.db import Database
from gisserver.core.features import hooks
from reports.notifications import fanout, messages, queue
from reports.notifications.channels import (
    ChannelOff,
    DeliveryError,
    Message,
    PermanentError,
    Receipt,
    Unreachable,
    gateway,
    push,
    webhook,
)
from reports.notifications.channels import email as email_channel
from reports.notifications.config import NotificationSettings
from reports.notifications.models import (
    Delivery,
    DutyContact,
    PushSubscription,
    WebhookSubscriber,
)
from reports.notifications.tokens import unsubscribe_token

log = logging.getLogger("gisserver.notifications")
OUTCOME_PATIENCE = 300.0  # seconds to keep trying to record an acknowledged send while PostgreSQL is away
# What a try left "started" by a worker that was killed says once the delivery is tried again.
INTERRUPTED = "the worker stopped during this try; it was made again"


class RetryLater(Exception):
    """The attempt failed in a way worth retrying; the job queue schedules the next try (backoff + jitter)."""


def _link(settings: NotificationSettings, event, delivery: Delivery, facts: dict) -> str:
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


def _feature_message(session, event, delivery: Delivery, settings: NotificationSettings,
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


def build_message(session, delivery: Delivery, settings: NotificationSettings, key: bytes, app=None,
                  known_facts: dict | None = None, event=None, webhook_keys: dict | None = None) -> Message:
    """The message of *delivery* (a Delivery, or a row of its columns); *known_facts* keeps the names looked up
    per (event, language) for the next message. *event* is its event when the caller read it already, and
    *webhook_keys* the webhooks' keys read with their targets ((event id, url) -> pair, fanout.write_deliveries)."""
    event = event if event is not None else fanout.load_event(session, delivery.event_id)
    if event.payload.get("direct"):
        return _feature_message(session, event, delivery, settings, app)
    # A webhook carries the event's facts as data, not a text: no names to look up for it.
    facts = {}
    if delivery.channel != "webhook":
        known_facts = {} if known_facts is None else known_facts
        if (event.id, delivery.language) not in known_facts:
            known_facts[(event.id, delivery.language)] = fanout.facts_for(session, event, delivery.language)
        facts = known_facts[(event.id, delivery.language)]
    link = _link(settings, event, delivery, facts)
    unsubscribe = None
    headers = {}
    if delivery.recipient_kind == "resident":
        if event.resident is None:  # read with the event, unless unsubscribed (fanout.load_event)
            raise PermanentError("the resident unsubscribed or the contact was erased")
        token = unsubscribe_token(key, event.resident["id"])
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
        known = (webhook_keys or {}).get((delivery.event_id, delivery.recipient))
        secret, allow_private = known if known is not None else _webhook_key(session, delivery, event)
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


_contacts, _subscribers = DutyContact.__table__, WebhookSubscriber.__table__
_UNIT_WEBHOOK = select(_contacts.c.secret, _contacts.c.allow_private) \
    .where(_contacts.c.channel == "webhook", _contacts.c.address == bindparam("url"), _contacts.c.active,
           _contacts.c.secret.is_not(None)) \
    .order_by(_contacts.c.unit_id.in_(bindparam("unit_ids", expanding=True)).desc(), _contacts.c.id).limit(1)
_SUBSCRIBER = select(_subscribers.c.secret, _subscribers.c.allow_private) \
    .where(_subscribers.c.url == bindparam("url"), _subscribers.c.active).limit(1)


def _webhook_key(session, delivery, event) -> tuple[str, bool]:
    """The secret a webhook is signed with and whether it may reach a private address: a subscriber's, or a unit's
    duty contact's (one of the event's units first, when several units share the address)."""
    if delivery.recipient_kind == "unit":
        found = session.execute(_UNIT_WEBHOOK, {"url": delivery.recipient,
                                                "unit_ids": list(event.unit_ids) or [0]}).first()
        if found is None:
            raise PermanentError("the unit's webhook contact was removed")
        return found.secret, found.allow_private
    found = session.execute(_SUBSCRIBER, {"url": delivery.recipient}).first()
    if found is None:
        raise PermanentError("the webhook subscriber was removed")
    return found.secret, found.allow_private


# One statement for every channel a batch uses: each bucket is made full on first use, then refilled for the time
# since and debited. The rows are taken in channel order, in every worker, so that two transactions never wait on
# each other's bucket rows.
_TAKE_BUDGET = text("""
WITH asked AS (
    SELECT * FROM unnest(CAST(:channels AS text[]), CAST(:caps AS float8[]), CAST(:counts AS float8[]))
                  AS a(channel, cap, n)
)
INSERT INTO notification_channel_budgets AS b (channel, tokens, refreshed_at)
SELECT channel, cap - n, clock_timestamp() FROM asked ORDER BY channel
ON CONFLICT (channel) DO UPDATE SET
    tokens = (SELECT LEAST(asked.cap, b.tokens + asked.cap * EXTRACT(epoch FROM clock_timestamp() - b.refreshed_at))
                     - asked.n FROM asked WHERE asked.channel = b.channel),
    refreshed_at = clock_timestamp()
RETURNING channel, tokens
""")


def budget_left_in(session, counts: dict[str, int], caps: dict[str, float]) -> dict[str, float]:
    """Take *counts* (channel -> messages) from the channels' buckets (each refilled at its cap per second,
    holding at most one second's worth), in the session's transaction; returns what each capped channel's bucket
    holds after it (below 0: messages to wait for)."""
    asked = sorted((channel, float(caps[channel]), n) for channel, n in counts.items()
                   if n > 0 and caps.get(channel) and caps[channel] > 0)
    if not asked:
        return {}
    channels, cap_list, numbers = (list(column) for column in zip(*asked, strict=True))
    left = session.execute(_TAKE_BUDGET, {"channels": channels, "caps": cap_list, "counts": numbers}).all()
    return {channel: float(tokens) for channel, tokens in left}


def take_budget_in(session, counts: dict[str, int], caps: dict[str, float]) -> float:
    """budget_left_in, as the seconds to wait before sending them all (0 when there was room)."""
    left = budget_left_in(session, counts, caps)
    return max(0.0, *(-tokens / caps[channel] for channel, tokens in left.items())) if left else 0.0


def send_times(channels: list[str], left: dict[str, float], caps: dict[str, float]) -> list[float]:
    """When each of a batch's messages (their channels, in sending order) may go, in seconds from now, after
    budget_left_in left *left*: each waits for its own token rather than all for the last one's, so that a batch
    never goes faster than its channel's cap."""
    counts = Counter(channels)
    seen: Counter = Counter()
    times = []
    for channel in channels:
        if channel not in left:
            times.append(0.0)
            continue
        # the bucket held left + n before the batch; this message takes its (seen + 1)-th token
        after = left[channel] + counts[channel] - seen[channel] - 1
        seen[channel] += 1
        times.append(max(0.0, -after / caps[channel]))
    return times


def take_budget(db: Database, channel: str, caps: dict[str, float], count: int = 1) -> float:
    """take_budget_in for one channel, in a transaction of its own."""
    if not caps.get(channel):
        return 0.0
    with db.transaction() as session:
        return take_budget_in(session, {channel: count}, caps)


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


def backoff_seconds(attempt: int, settings: NotificationSettings, rand=random.random) -> float:
    """Seconds before the try after *attempt* (counted from 0): exponential, capped, with "equal jitter" (half
    fixed, half random) so that a thousand deliveries failing together do not retry together."""
    ceiling = min(settings.notify_backoff_max_seconds, settings.notify_backoff_seconds * (2 ** attempt))
    return ceiling / 2 + rand() * ceiling / 2


@dataclass(frozen=True)
class Claim:
    """A delivery this worker is sending: its attempt row, its message, and the tries before this one."""

    delivery_id: int
    attempt_id: int
    channel: str
    message: Message | None
    tried: int
    urgent: bool = False


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    status: str  # sent; error (tried again later); dead (no tries left); skipped (the channel is off)
    detail: str
    unreachable: bool = False  # the other side did not answer (channels.Unreachable)


def _failed(claim: Claim, exc: DeliveryError, settings: NotificationSettings) -> Outcome:
    last = isinstance(exc, PermanentError) or claim.tried + 1 >= settings.notify_max_attempts
    status = "skipped" if isinstance(exc, ChannelOff) else "dead" if last else "error"
    if status == "dead":
        log.warning("delivery %s is dead after %s attempt(s): %s", claim.delivery_id, claim.tried + 1, exc)
    return Outcome(claim, status, str(exc)[:500], isinstance(exc, Unreachable))


def _try(claim: Claim, settings: NotificationSettings, db: Database) -> Outcome:
    try:
        receipt = _send(claim.message, settings, db, claim.delivery_id)
    except DeliveryError as exc:
        return _failed(claim, exc, settings)
    return Outcome(claim, "sent", receipt.detail[:500])


def _destination(claim: Claim) -> tuple[str, str]:
    """Where a message goes out: the one SMTP server or gateway of its channel, or a webhook's or push service's
    host."""
    if claim.channel in ("webhook", "push"):
        return claim.channel, urlsplit(claim.message.recipient).netloc
    return claim.channel, ""


def _send_all(claims: list[Claim], left: dict[str, float], settings: NotificationSettings,
              db: Database) -> list[Outcome]:
    """A batch's messages one after another, each when its budget is there (send_times). Once a destination did
    not answer, the batch's other messages for it are not tried now but after their backoff, like it: a subscriber
    that times out would otherwise hold every event of the batch for its timeout, one after another."""
    start = time.monotonic()
    silent: dict[tuple[str, str], str] = {}
    outcomes = []
    for claim, after in zip(claims, send_times([claim.channel for claim in claims], left, settings.rate_caps()),
                            strict=True):
        if (place := _destination(claim)) in silent:
            outcomes.append(_failed(claim, Unreachable(f"not tried: {silent[place]}"), settings))
            continue
        if (pause := start + min(after, 60.0) - time.monotonic()) > 0:
            time.sleep(pause)
        outcome = _try(claim, settings, db)
        if outcome.unreachable:
            silent[place] = outcome.detail
        outcomes.append(outcome)
    return outcomes


# Every outcome of a batch in one statement: its attempt finished, its delivery sent, failed for now (pending, with
# its error: a fan-out job run again tells it by that, and leaves it to its retry job) or ended.
_FINISH = text("""
WITH outcome AS (
    SELECT * FROM unnest(CAST(:attempt_ids AS integer[]), CAST(:delivery_ids AS integer[]),
                         CAST(:statuses AS text[]), CAST(:details AS text[]))
                  AS o(attempt_id, delivery_id, status, detail)
), attempt AS (
    UPDATE notification_attempts a SET finished_at = now(), outcome = outcome.status, detail = outcome.detail
    FROM outcome WHERE a.id = outcome.attempt_id
)
UPDATE notification_deliveries d
SET status = CASE WHEN outcome.status = 'error' THEN 'pending' ELSE outcome.status END,
    sent_at = CASE WHEN outcome.status = 'sent' THEN now() ELSE d.sent_at END,
    last_error = CASE WHEN outcome.status = 'sent' THEN NULL ELSE coalesce(nullif(outcome.detail, ''), 'failed') END
FROM outcome WHERE d.id = outcome.delivery_id
""")


def _write_outcomes(session, outcomes: list[Outcome], settings: NotificationSettings | None = None) -> None:
    """Finish the outcomes' attempts and deliveries; with *settings*, a failed try that has tries left gets a
    deliver job of its own for the next one, after the backoff."""
    if not outcomes:
        return
    now = datetime.now(UTC)
    session.execute(_FINISH, {"attempt_ids": [o.claim.attempt_id for o in outcomes],
                              "delivery_ids": [o.claim.delivery_id for o in outcomes],
                              "statuses": [o.status for o in outcomes], "details": [o.detail for o in outcomes]})
    for o in outcomes:
        if settings is not None and o.status == "error":
            queue.defer(session, queue.DELIVER, "deliver", delivery_id=o.claim.delivery_id,
                        tried=o.claim.tried + 1, priority=queue.URGENT_PRIORITY if o.claim.urgent else 0,
                        scheduled_at=now + timedelta(seconds=backoff_seconds(o.claim.tried, settings)))


def _record(db: Database, outcomes: list[Outcome], settings: NotificationSettings, *, queue_retries: bool,
            taken: queue.Taken | None = None) -> None:
    """Write the outcomes in one transaction, patiently (the module's docstring, step 4). With *queue_retries* a
    failed try gets its deliver job here; a deliver job's own failure is retried by procrastinate instead. The
    jobs *taken* along with this one end in the same transaction."""
    def write(session) -> None:
        _write_outcomes(session, outcomes, settings if queue_retries else None)
        if taken is not None:
            queue.finish_taken(session, taken)

    if outcomes or (taken is not None and taken.jobs):
        _write_with_patience(db, write)


# Deliveries claimed for a try: locked (a sent or dead one is left alone), the try counted, a new attempt row each,
# and a try a killed worker left "started" closed as interrupted. One statement, not an ORM flush: the attempts
# table is itself the record of each try, as the outcomes written by _record are. *which* is one of the two below,
# and *also* a statement of the same transaction that rides along (send_event marks its event fanned out).
_CLAIM = """
WITH {also}claimed AS (
    SELECT id FROM notification_deliveries WHERE {which} AND status = 'pending' ORDER BY id FOR UPDATE SKIP LOCKED
), bumped AS (
    UPDATE notification_deliveries d SET attempts = d.attempts + 1 FROM claimed WHERE d.id = claimed.id
    RETURNING d.id, d.event_id, d.channel, d.recipient, d.recipient_kind, d.language, d.acked_parts
), interrupted AS (
    UPDATE notification_attempts a SET finished_at = clock_timestamp(), outcome = 'error', detail = :interrupted
    FROM bumped WHERE a.delivery_id = bumped.id AND a.outcome = 'started'
), started AS (
    INSERT INTO notification_attempts (delivery_id, started_at, outcome, detail)
    SELECT id, clock_timestamp(), 'started', '' FROM bumped
    RETURNING id AS attempt_id, delivery_id
)
SELECT bumped.*, started.attempt_id FROM bumped JOIN started ON started.delivery_id = bumped.id ORDER BY bumped.id
"""
# An event's deliveries that its own job sends: not the held ones (their jobs send them) nor those that failed once
# (their retry jobs do).
_CLAIM_EVENT = text(_CLAIM.format(
    which="event_id = ANY(:event_ids) AND not_before IS NULL AND last_error IS NULL",
    also="marked AS (UPDATE notification_events SET fanned_out_at = :now WHERE id = ANY(:event_ids)), "))
# One delivery, for its own deliver job.
_CLAIM_ONE = text(_CLAIM.format(which="id = :delivery_id", also=""))


def _claims(session, rows, tried: int, settings: NotificationSettings, key: bytes, app,
            events: dict | None = None, webhook_keys: dict | None = None) -> tuple[list[Claim], list[Outcome]]:
    """The claimed rows' messages, and the outcomes of those with nothing to send (recorded as skipped now);
    *events* are their events by id, when the caller read them already."""
    known_facts: dict = {}
    claims: list[Claim] = []
    refused: list[Outcome] = []
    for row in rows:
        event = (events or {}).get(row.event_id)
        claim = Claim(row.id, row.attempt_id, row.channel, None, tried, bool(event is not None and event.urgent))
        try:
            message = build_message(session, row, settings, key, app, known_facts, event, webhook_keys)
            claims.append(replace(claim, message=message))
        except PermanentError as exc:  # nothing to send (the resident unsubscribed, a subscriber was removed)
            refused.append(Outcome(claim, "skipped", str(exc)[:500]))
    _write_outcomes(session, refused)
    return claims, refused


def _claim_batch(db: Database, event_ids: list[int], settings: NotificationSettings, key: bytes, app,
                 take: tuple[int, int] | None) -> tuple[queue.Taken, list[Claim], list[Outcome], dict[str, float]]:
    """The first transaction of send_event: take the ready jobs (*take*: worker id, how many), fan every event out,
    claim what is due now, build its messages and take their budget."""
    with db.transaction() as session:
        taken = queue.take_ready(session, queue.FAN_OUT, *take) if take else queue.Taken(0)
        event_ids = event_ids + [int(kwargs["event_id"]) for _, kwargs in taken.jobs]
        events = {event.id: event for event in fanout.load_events(session, event_ids)}
        webhook_keys: dict = {}
        now = datetime.now(UTC)
        fanout.write_deliveries(session, list(events.values()), now, send_here=True, webhook_keys=webhook_keys)
        rows = session.execute(_CLAIM_EVENT, {"event_ids": list(events), "interrupted": INTERRUPTED,
                                              "now": now}).all() if events else []
        claims, refused = _claims(session, rows, 0, settings, key, app, events, webhook_keys)
        left = budget_left_in(session, Counter(claim.channel for claim in claims), settings.rate_caps())
    return taken, claims, refused, left


def send_event(db: Database, event_id: int, settings: NotificationSettings, key: bytes, app=None, *,
               worker_id: int | None = None, take_along: int = 0) -> dict[str, int]:
    """Fan one event out and send its deliveries that are due now (the module's docstring); returns how many ended
    how. Run again for the same event (a retried job), it sends what is still pending of it and nothing twice.

    A worker's job (*worker_id*) also takes up to *take_along* other fan-out jobs that are ready
    (queue.take_ready) and serves their events with its own: same steps, same transactions. Their jobs end as
    succeeded in the transaction that records the outcomes, or go back to the queue if this one fails after
    taking them."""
    take = (worker_id, take_along) if worker_id is not None and take_along > 0 else None
    try:
        taken, claims, refused, left = _claim_batch(db, [event_id], settings, key, app, take)
    except OperationalError:
        raise  # the database is away: no event of the batch is to blame, procrastinate retries this job
    except Exception:
        if take is None:
            raise
        # Nothing was written (the transaction rolled back, the taken jobs are ready again). One event the batch
        # could not serve must not fail the others: this job serves its own alone, and a failing event fails in
        # its own job, whose retries are not taken along.
        log.exception("event %s with the fan-out jobs it took along failed; serving it alone", event_id)
        taken, claims, refused, left = _claim_batch(db, [event_id], settings, key, app, None)
    try:
        outcomes = _send_all(claims, left, settings, db)
        _record(db, outcomes, settings, queue_retries=True, taken=taken)
    except BaseException:
        if taken.jobs:  # they run again on their own; what was sent of them is not sent twice (the claim)
            try:
                with db.transaction() as session:
                    queue.release_taken(session, taken)
            except Exception:  # noqa: BLE001 - the first failure is the one to raise; see below
                # Left "doing": the stalled-job check queues them again once this worker stops beating.
                log.exception("could not hand taken fan-out jobs %s back to the queue", taken.ids)
        raise
    return dict(Counter(outcome.status for outcome in refused + outcomes))


def deliver(db: Database, delivery_id: int, attempt: int, settings: NotificationSettings, key: bytes,
            app=None) -> str:
    """One try of a delivery held for later, retried or put back by an admin (*attempt* counts its tries in this
    round from 0); returns its outcome, raises RetryLater to be retried."""
    with db.transaction() as session:
        rows = session.execute(_CLAIM_ONE, {"delivery_id": delivery_id, "interrupted": INTERRUPTED}).all()
        if not rows:
            status = session.scalar(select(Delivery.status).where(Delivery.id == delivery_id))
            if status is None:
                return "gone"
            if status == "pending":  # skipped by the claim's SKIP LOCKED
                raise RetryLater("another worker holds this delivery")
            return f"already {status}"
        claims, _ = _claims(session, rows, attempt, settings, key, app)
        if not claims:
            return "skipped"
        claim = claims[0]

    wait = take_budget(db, claim.channel, settings.rate_caps())
    if wait:
        time.sleep(min(wait, 60.0))
    outcome = _try(claim, settings, db)
    _record(db, [outcome], settings, queue_retries=False)
    if outcome.status == "error":
        raise RetryLater(outcome.detail)
    return outcome.status
