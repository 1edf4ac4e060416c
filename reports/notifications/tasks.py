"""The worker's tasks, registered with procrastinate under the names queue.py defers.

Retries: RETRY waits base * 2^attempt seconds (capped), with "equal jitter" (half fixed, half random) so that a
thousand deliveries failing together do not retry together. A delivery's last attempt dead-letters it in
``notification_deliveries`` (delivery.py), where `gisserver notifications failed|retry` find it.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from procrastinate import Blueprint, JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy

from gisserver.core import audit
from gisserver.core.db import Database
from reports.notifications import checks, delivery, fanout
from reports.notifications.config import NotificationSettings

log = logging.getLogger("gisserver.notifications")
tasks = Blueprint()
WORKER_ACTOR = {"actor": "system:notifications-worker", "remote_addr": None, "request_id": None}


@dataclass
class Runtime:
    """What the tasks work with, set by the worker when it starts (tests set their own)."""

    db: Database
    settings: NotificationSettings
    key: bytes
    app: object | None = None  # the web app: other features' messages render in the recipient's language with it


_runtime: Runtime | None = None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    _runtime = runtime


def runtime() -> Runtime:
    if _runtime is None:
        raise RuntimeError("the notifications worker is not set up (reports.notifications.worker)")
    return _runtime


class BackoffWithJitter(BaseRetryStrategy):
    """Exponential backoff with equal jitter; gives up after the configured number of attempts."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        settings = runtime().settings
        # A delivery's last attempt dead-letters it itself (delivery.py) and does not raise; anything raised
        # after that many tries is a bug, left failed in procrastinate's table for an admin to see.
        if job.attempts + 1 >= max(settings.notify_max_attempts, 1):
            return None
        return RetryDecision(retry_in={"seconds": backoff_seconds(job.attempts, settings)})


def backoff_seconds(attempt: int, settings: NotificationSettings, rand=random.random) -> float:
    ceiling = min(settings.notify_backoff_max_seconds, settings.notify_backoff_seconds * (2 ** attempt))
    return ceiling / 2 + rand() * ceiling / 2


@tasks.task(name="notifications.fan_out", queue="notify", retry=BackoffWithJitter())
def fan_out(event_id: int) -> int:
    with runtime().db.transaction() as session:
        return len(fanout.fan_out(session, event_id))


@tasks.task(name="notifications.deliver", queue="deliver", retry=BackoffWithJitter(), pass_context=True)
def deliver(context: JobContext, delivery_id: int) -> str:
    rt = runtime()
    return delivery.deliver(rt.db, delivery_id, context.job.attempts, rt.settings, rt.key, rt.app)


@tasks.periodic(cron="* * * * *", periodic_id="minute")
@tasks.task(name="notifications.checks", queue="checks", queueing_lock="notifications.checks")
def run_checks(timestamp: int) -> dict:
    rt = runtime()
    with rt.db.transaction() as session:
        audit.set_context(session, WORKER_ACTOR)  # the audit log names the worker for what the checks write
        found = checks.run_checks(session, rt.settings, datetime.fromtimestamp(timestamp, UTC))
    log.info("scheduled checks: %s", found)
    return found
