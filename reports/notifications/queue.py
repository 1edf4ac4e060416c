"""The job queue: procrastinate, in the same PostgreSQL database (README "Notifications" says why).

Jobs are deferred on the caller's own connection, inside its transaction (procrastinate's ``connection=``
argument to the job manager): the outbox row and the job that delivers it commit or roll back together with the
change that caused them. The worker (worker.py) runs the tasks registered in tasks.py under these names.
"""

from __future__ import annotations

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


def defer_sql(task_name: str, queue: str, args_sql: str) -> str:
    """SQL that queues *task_name* with the JSON object *args_sql* (an SQL expression over the caller's own rows) as
    its kwargs, for a statement of the caller's: the outbox writes its row and the row's fan-out job in one.

    It calls procrastinate's own defer function, the one `defer` above has the job manager call (its `defer_jobs`
    query), with the same job fields; procrastinate is pinned to 3.10 (setup.cfg), whose schema defines it.
    """
    if not (task_name.replace(":", "").replace(".", "").replace("_", "").isalnum() and queue in QUEUES):
        raise ValueError(f"not a task or queue of ours: {task_name!r}, {queue!r}")
    return (f"procrastinate_defer_jobs_v1(ARRAY[ROW('{queue}', '{task_name}', 0, NULL, NULL, {args_sql}, NULL)"
            "::procrastinate_job_to_defer_v1])")
