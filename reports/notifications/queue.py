"""The job queue: procrastinate, in the same PostgreSQL database (README "Notifications" says why).

Jobs are deferred on the caller's own connection, inside its transaction (procrastinate's ``connection=``
argument to the job manager): the outbox row and the job that delivers it commit or roll back together with the
change that caused them. The worker (worker.py) runs the tasks registered in tasks.py under these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from procrastinate import manager

NAMESPACE = "gisserver"  # the worker registers tasks.py's blueprint under it
FAN_OUT = f"{NAMESPACE}:notifications.fan_out"
DELIVER = f"{NAMESPACE}:notifications.deliver"
QUEUES = ("notify", "deliver", "checks")
# An urgent event's jobs (a fire or flood alert, a hotspot in danger) run before the others: on a flood day the
# queue holds thousands of report events, and procrastinate fetches by priority first.
URGENT_PRIORITY = 10


@cache
def _manager() -> manager.JobManager:
    # Imported on first use: procrastinate costs a web worker's boot more than half a second, and most requests
    # defer nothing. Never opened: every job is deferred on a connection the caller hands in.
    from procrastinate import SyncPsycopgConnector, manager

    return manager.JobManager(SyncPsycopgConnector())


def defer(session: Session, task_name: str, queue: str, *, scheduled_at: datetime | None = None,
          priority: int = 0, **kwargs) -> int:
    """Queue *task_name(**kwargs)* in the session's transaction; returns the job id."""
    from procrastinate import jobs

    connection = session.connection().connection.driver_connection
    job = jobs.Job(queue=queue, task_name=task_name, task_kwargs=kwargs, scheduled_at=scheduled_at,
                   priority=priority, lock=None, queueing_lock=None)
    job_id = _manager().batch_defer_jobs([job], connection=connection)[0].id
    remember_deferred(session, job_id)
    return job_id


def remember_deferred(session: Session, job_id: int) -> None:
    """Note a job this session deferred (by defer, or in a statement of its own through defer_sql)."""
    session.info.setdefault(DEFERRED, []).append(job_id)


DEFERRED = "notifications.deferred_job_ids"  # session.info: the jobs this session deferred (the demo drops its own)


def deferred_since(session: Session, mark: int) -> list[int]:
    """The ids of the jobs this session deferred after *mark* (a length of the list, from deferred_mark())."""
    return list(session.info.get(DEFERRED, [])[mark:])


def deferred_mark(session: Session) -> int:
    return len(session.info.get(DEFERRED, []))


def defer_sql(task_name: str, queue: str, args_sql: str, priority_sql: str = "0") -> str:
    """SQL that queues *task_name* with the JSON object *args_sql* (an SQL expression over the caller's own rows) as
    its kwargs, and the integer *priority_sql*, for a statement of the caller's: the outbox writes its row and the
    row's fan-out job in one.

    It calls procrastinate's own defer function, the one `defer` above has the job manager call (its `defer_jobs`
    query), with the same job fields; procrastinate is pinned to 3.10 (setup.cfg), whose schema defines it.
    """
    if not (task_name.replace(":", "").replace(".", "").replace("_", "").isalnum() and queue in QUEUES):
        raise ValueError(f"not a task or queue of ours: {task_name!r}, {queue!r}")
    return (f"procrastinate_defer_jobs_v1(ARRAY[ROW('{queue}', '{task_name}', {priority_sql}, NULL, NULL, "
            f"{args_sql}, NULL)::procrastinate_job_to_defer_v1])")


# A fan-out job takes ready fan-out jobs along with its own (delivery.send_event): on a flood day one job, two
# transactions and one thread hand-off then serve a handful of events, where each event paid for them alone, in
# Python and in PostgreSQL. procrastinate fetches one job at a time and has no call for more, so this is its fetch
# (procrastinate_fetch_job_v2, schema of 3.10) for several: the same rows (todo, ready, no lock; first tries only,
# a retry keeps its own schedule), the same order, SKIP LOCKED beside other workers, and the same change (doing,
# under this worker, which records their "started" events). Taken jobs are ended by finish_taken, in the
# transaction that records what was sent, or handed back by release_taken. A worker that dies holding them leaves
# them "doing" under a worker without a heartbeat, where the stalled-job check queues them again as its own.
# Sent through psycopg unprepared: the jobs table grows from nothing to thousands of rows in a burst, and a plan
# kept from when it was small would read all of it (worker.py says the same of procrastinate's own fetch).
_TAKE_READY = """
UPDATE procrastinate_jobs j SET status = 'doing', worker_id = %(worker_id)s
FROM (SELECT id FROM procrastinate_jobs
      WHERE status = 'todo' AND queue_name = 'notify' AND task_name = %(task)s AND lock IS NULL AND attempts = 0
        AND (scheduled_at IS NULL OR scheduled_at <= now())
      ORDER BY priority DESC, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED) AS ready
WHERE j.id = ready.id
RETURNING j.id, j.args
"""
# The taken jobs still running under their worker, locked, for one of procrastinate's functions to end each.
_STILL_TAKEN = """
FROM (SELECT id FROM procrastinate_jobs WHERE id = ANY(%(ids)s) AND status = 'doing' AND worker_id = %(worker_id)s
      FOR UPDATE) AS mine
"""
_FINISH_TAKEN = "SELECT procrastinate_finish_job_v1(mine.id, 'succeeded', false)" + _STILL_TAKEN
_RELEASE_TAKEN = "SELECT procrastinate_retry_job_v2(mine.id, now(), NULL, NULL, NULL)" + _STILL_TAKEN


@dataclass(frozen=True)
class Taken:
    """Jobs a running job took along: their ids, and the kwargs each was deferred with."""

    worker_id: int
    jobs: tuple[tuple[int, dict], ...] = ()

    @property
    def ids(self) -> list[int]:
        return [job_id for job_id, _ in self.jobs]


def _driver(session: Session):
    return session.connection().connection.driver_connection


def take_ready(session: Session, task_name: str, worker_id: int, limit: int) -> Taken:
    """Up to *limit* ready jobs of *task_name* (a task of the "notify" queue), now running under *worker_id*, in the
    session's transaction."""
    if limit <= 0:
        return Taken(worker_id)
    rows = _driver(session).execute(_TAKE_READY, {"worker_id": worker_id, "task": task_name, "limit": limit},
                                    prepare=False).fetchall()
    return Taken(worker_id, tuple(sorted((row[0], row[1]) for row in rows)))


def _end_taken(session: Session, statement: str, taken: Taken) -> None:
    if taken.jobs:
        _driver(session).execute(statement, {"ids": taken.ids, "worker_id": taken.worker_id}, prepare=False)


def finish_taken(session: Session, taken: Taken) -> None:
    """End the taken jobs as succeeded, in the session's transaction (those still running under their worker)."""
    _end_taken(session, _FINISH_TAKEN, taken)


def release_taken(session: Session, taken: Taken) -> None:
    """Hand the taken jobs back to the queue, to run as soon as a worker is free."""
    _end_taken(session, _RELEASE_TAKEN, taken)
