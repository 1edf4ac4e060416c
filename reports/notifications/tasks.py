"""The worker's tasks, registered with procrastinate under the names queue.py defers.

Retries wait base * 2^attempt seconds (capped), with "equal jitter" (delivery.backoff_seconds). A delivery's
last attempt dead-letters it in ``notification_deliveries`` (delivery.py), where `gisserver notifications
failed|retry` find it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from procrastinate import Blueprint, JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy

from gisserver.core import audit
from gisserver.core.db import Database
from reports.notifications import checks, delivery
from reports.notifications.config import NotificationSettings
from reports.notifications.delivery import backoff_seconds

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
        # A deliver job continues the tries another job began (send_event's first one): it counts them too.
        tried = int(job.task_kwargs.get("tried", 0)) + job.attempts
        # A delivery's last attempt dead-letters it itself (delivery.py) and does not raise; anything raised
        # after that many tries is a bug, left failed in procrastinate's table for an admin to see.
        if tried + 1 >= max(settings.notify_max_attempts, 1):
            return None
        return RetryDecision(retry_in={"seconds": backoff_seconds(tried, settings)})


@tasks.task(name="notifications.fan_out", queue="notify", retry=BackoffWithJitter(), pass_context=True)
def fan_out(context: JobContext, event_id: int) -> dict:
    """Fan one event out and send what is due now, with the events of the ready fan-out jobs it takes along
    (delivery.send_event)."""
    rt = runtime()
    return delivery.send_event(rt.db, event_id, rt.settings, rt.key, rt.app, worker_id=context.job.worker_id,
                               take_along=max(rt.settings.notify_fanout_batch, 1) - 1)


@tasks.task(name="notifications.deliver", queue="deliver", retry=BackoffWithJitter(), pass_context=True)
def deliver(context: JobContext, delivery_id: int, tried: int = 0) -> str:
    rt = runtime()
    return delivery.deliver(rt.db, delivery_id, tried + context.job.attempts, rt.settings, rt.key, rt.app)


@tasks.periodic(cron="* * * * *", periodic_id="minute")
@tasks.task(name="notifications.checks", queue="checks", queueing_lock="notifications.checks")
def run_checks(timestamp: int) -> dict:
    rt = runtime()
    with rt.db.transaction() as session:
        audit.set_context(session, WORKER_ACTOR)  # the audit log names the worker for what the checks write
        found = checks.run_checks(session, rt.settings, datetime.fromtimestamp(timestamp, UTC))
    log.info("scheduled checks: %s", found)
    return found


@tasks.periodic(cron="17 20 * * *", periodic_id="nightly")  # procrastinate's cron is in UTC: 03:17 in Vietnam
@tasks.task(name="notifications.remove_old_jobs", queue="checks", queueing_lock="notifications.remove_old_jobs",
            pass_context=True)
async def remove_old_jobs(context: JobContext, timestamp: int) -> None:
    """Every night, the queue's succeeded jobs finished more than GISSERVER_JOB_RETENTION_HOURS ago go, with their
    events (procrastinate's own clean-up): one job per outbox event would otherwise grow the table without end.
    Failed ones stay for an admin; each delivery's own record is in notification_attempts, which this leaves."""
    await context.app.job_manager.delete_old_jobs(nb_hours=max(runtime().settings.job_retention_hours, 1))
