"""The live map's feed: one LISTEN connection per server process fans PostgreSQL notifications (the outbox's, sent
at commit) out to the open Server-Sent Event streams whose scope covers them.

Why a cap: gunicorn's gthread workers give each open stream one of their threads for as long as it stays open,
so every process accepts at most *live_max_streams* streams (the next one gets a 503 with Retry-After) and keeps
the rest of its threads for ordinary requests. Streams send a heartbeat comment every *live_heartbeat_seconds*
(a dead client is noticed at the next write) and end after *live_max_seconds*; the browser reconnects with
Last-Event-ID and catches up from the outbox table, so nothing is missed in between.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from reports.notifications.models import NotificationEvent
from reports.notifications.outbox import LIVE_CHANNEL
from reports.workflow.access import Scope

log = logging.getLogger("gisserver.live")
REPLAY_LIMIT = 500


def visible(scope: Scope, event: dict) -> bool:
    """Only events of the caller's areas and units reach their stream."""
    if scope.everything:
        return True
    if event.get("area_id") is not None and event["area_id"] in scope.area_ids:
        return True
    return any(unit in scope.unit_ids for unit in event.get("unit_ids") or ())


def event_dict(event: NotificationEvent) -> dict:
    return {"id": event.id, "kind": event.kind, "subject_type": event.subject_type, "subject_id": event.subject_id,
            "area_id": event.area_id, "unit_ids": list(event.unit_ids), "urgent": event.urgent,
            "data": event.payload}


def missed(session: Session, scope: Scope, after_id: int) -> list[dict]:
    """Events after *after_id* (Last-Event-ID) that the caller may see, oldest first, at most REPLAY_LIMIT.

    The scope is applied in the query, before the limit: in a busy city the events of other wards must not use up
    the caller's share. When REPLAY_LIMIT come back there may be more; the stream then ends after them and the
    browser reconnects from the last one (stream()).
    """
    # A person's own message (outbox.record_direct: a dashboard's weekly PDF) is not a change on the map.
    query = select(NotificationEvent).where(NotificationEvent.id > after_id,
                                            ~NotificationEvent.payload.has_key("direct"))
    if not scope.everything:
        if not scope.area_ids and not scope.unit_ids:
            return []
        query = query.where(or_(NotificationEvent.area_id.in_(sorted(scope.area_ids)),
                                NotificationEvent.unit_ids.overlap(sorted(scope.unit_ids))))
    rows = session.scalars(query.order_by(NotificationEvent.id).limit(REPLAY_LIMIT))
    return [e for e in map(event_dict, rows) if visible(scope, e)]


def latest_id(session: Session) -> int:
    return session.scalar(select(NotificationEvent.id).order_by(NotificationEvent.id.desc()).limit(1)) or 0


@dataclass(eq=False)
class Subscription:
    scope: Scope
    events: queue.Queue = field(default_factory=lambda: queue.Queue(maxsize=1000))
    overflowed: bool = False


class LiveHub:
    def __init__(self, database_url: str, max_streams: int):
        self._conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.max_streams = max_streams
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def open_streams(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, scope: Scope) -> Subscription | None:
        """A new stream's subscription, or None when this process already serves its cap."""
        with self._lock:
            if len(self._subscriptions) >= self.max_streams:
                return None
            subscription = Subscription(scope)
            self._subscriptions.add(subscription)
            if self._thread is None or not self._thread.is_alive():
                self._ready.clear()  # the new listener is ready only once its LISTEN is in place
                self._thread = threading.Thread(target=self._listen, name="live-listener", daemon=True)
                self._thread.start()
        self._ready.wait(timeout=5)  # LISTEN is in place before the caller reads what it missed
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)

    def publish(self, event: dict) -> None:
        with self._lock:
            subscriptions = list(self._subscriptions)
        for subscription in subscriptions:
            if visible(subscription.scope, event):
                try:
                    subscription.events.put_nowait(event)
                except queue.Full:
                    subscription.overflowed = True  # the stream ends; the browser catches up with Last-Event-ID

    def _read(self, event_id: int) -> dict | None:
        """An event whose notice did not fit in NOTIFY's payload, read from the outbox on a connection of its own
        (the listening one is busy waiting)."""
        with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5,
                             application_name="gisserver-live") as conn:
            row = conn.execute("SELECT id, kind, subject_type, subject_id, area_id, unit_ids, urgent, payload "
                               "FROM notification_events WHERE id = %s", (event_id,)).fetchone()
        if row is None:
            return None
        return {"id": row[0], "kind": row[1], "subject_type": row[2], "subject_id": row[3], "area_id": row[4],
                "unit_ids": list(row[5] or ()), "urgent": row[6], "data": row[7]}

    def _listen(self) -> None:
        while True:
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5,
                                     application_name="gisserver-live") as conn:
                    conn.execute(f"LISTEN {LIVE_CHANNEL}")
                    self._ready.set()
                    while True:
                        for note in conn.notifies(timeout=5.0):
                            try:
                                notice = json.loads(note.payload)
                            except ValueError:
                                log.warning("unreadable live notice skipped")
                                continue
                            if notice.get("reload"):
                                notice = self._read(notice["id"])  # too long for NOTIFY: the row says it all
                            if notice is not None:
                                self.publish(notice)
                        with self._lock:
                            if not self._subscriptions:
                                self._thread = None
                                return
            except psycopg.Error as exc:
                log.warning("live listener lost the database (%s); reconnecting", exc)
                time.sleep(1.0)


def stream(hub: LiveHub, subscription: Subscription, backlog: list[dict], *, heartbeat: float,
           max_seconds: float) -> Iterator[str]:
    """The text/event-stream body: what was missed, then live events, with heartbeats; ends after max_seconds."""
    try:
        yield "retry: 3000\n\n"
        seen = 0
        for event in backlog:
            seen = max(seen, event["id"])
            yield _frame(event)
        if len(backlog) >= REPLAY_LIMIT:
            return  # more may have been missed: the browser reconnects from the last one sent and gets the rest
        ends = time.monotonic() + max_seconds
        beat = time.monotonic() + heartbeat
        while time.monotonic() < ends and not subscription.overflowed:
            try:
                event = subscription.events.get(timeout=max(0.01, min(beat, ends) - time.monotonic()))
            except queue.Empty:
                if time.monotonic() >= beat:
                    yield ": heartbeat\n\n"
                    beat = time.monotonic() + heartbeat
                continue
            if event.get("id", 0) <= seen or "kind" not in event:
                continue
            yield _frame(event)
    finally:
        hub.unsubscribe(subscription)


def _frame(event: dict) -> str:
    name = "alert" if event.get("urgent") and event["subject_type"] in ("alert", "hotspot") else "change"
    body = json.dumps(event, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {event['id']}\nevent: {name}\ndata: {body}\n\n"
