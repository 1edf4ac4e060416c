"""`gisserver worker`: procrastinate's worker over the notification queues, kept alive across database restarts.

procrastinate stops its worker when its database connection breaks (a PostgreSQL restart); this loop starts it
again once the database answers, and regularly hands the jobs of a worker that died (no heartbeat for
*stall_seconds*) back to the queue, where delivery.py's checks keep a sent message from being sent again.
SIGTERM and SIGINT stop it gracefully: running jobs finish first.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg_pool
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import ConnectorException
from sqlalchemy import text
from sqlalchemy.engine import make_url

from gisserver.core.db import Database
from reports.notifications import queue
from reports.notifications.channels import templating
from reports.notifications.config import NotificationSettings
from reports.notifications.tasks import Runtime, set_runtime, tasks

log = logging.getLogger("gisserver.notifications.worker")


@dataclass
class WorkerOptions:
    concurrency: int = 8
    stall_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    wait: bool = True  # False: stop when the queues are empty (tests, one-off runs)
    queues: tuple[str, ...] = queue.QUEUES


def check_settings(settings: NotificationSettings) -> None:
    """Refuse to start with a gateway template that does not render in the sandbox."""
    for channel in ("sms", "chat"):
        gateway = settings.gateway(channel)
        if gateway["url"]:
            templating.check(gateway["url"], f"GISSERVER_{channel.upper()}_URL")
            templating.check(gateway["body"], f"GISSERVER_{channel.upper()}_BODY")
    if settings.smtp_security not in ("starttls", "ssl", "none"):
        raise ValueError("GISSERVER_SMTP_SECURITY must be starttls, ssl or none")


def libpq_url(database_url: str) -> str:
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


# procrastinate's job fetch is a PL/pgSQL function, whose query PostgreSQL plans once per connection and then
# reuses. Planned while the jobs table was small (a new database, a quiet night), the reused plan scanned the whole
# table for every job, twice over: on a flood-day burst each fetch grew to a quarter of a second and delivery
# stalled until autovacuum's next ANALYZE. Planned every time, the fetch follows the table's real size; planning it
# costs PostgreSQL a fraction of a millisecond per job.
CONNECTION_SETTINGS = {"application_name": "gisserver-worker", "options": "-c plan_cache_mode=force_custom_plan"}
_apps: dict[str, App] = {}


def _pool_without_check(**kwargs) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's pool, minus the check it asks for: a round trip to PostgreSQL each time a connection leaves
    the pool, twice per job. A connection that a restarted PostgreSQL broke fails its next query instead, which
    stops procrastinate's worker; run() then starts it again on new connections, as for any lost database."""
    kwargs.pop("check", None)
    return psycopg_pool.AsyncConnectionPool(**kwargs)


def build_app(database_url: str) -> App:
    """One procrastinate App per database and process: the tasks' blueprint binds to the first app it joins."""
    if database_url in _apps:
        return _apps[database_url]
    app = App(connector=PsycopgConnector(conninfo=libpq_url(database_url), kwargs=CONNECTION_SETTINGS,
                                         pool_factory=_pool_without_check))
    app.add_tasks_from(tasks, namespace=queue.NAMESPACE)
    _apps[database_url] = app
    return app


async def _requeue_stalled(app: App, options: WorkerOptions) -> None:
    while True:
        try:
            for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=options.stall_seconds):
                log.warning("job %s (%s) belonged to a worker that stopped; queued again", job.id, job.task_name)
                await app.job_manager.retry_job(job)
        except ConnectorException as exc:  # a connection a PostgreSQL restart broke (the pool does not check them):
            # this beat is lost, the next one runs on a new connection; the task itself must not end
            log.warning("could not look for stalled jobs (%s: %s); trying again", type(exc).__name__, exc)
        await asyncio.sleep(max(options.heartbeat_seconds, 1.0))


async def _serve(app: App, options: WorkerOptions, state: dict) -> None:
    # procrastinate runs sync tasks in the loop's default executor: give it a thread per concurrent job.
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(options.concurrency,
                                                                       thread_name_prefix="deliver"))
    async with app.open_async():
        requeue = asyncio.create_task(_requeue_stalled(app, options))
        worker = asyncio.create_task(app.run_worker_async(
            queues=list(options.queues), concurrency=options.concurrency, wait=options.wait,
            install_signal_handlers=False, update_heartbeat_interval=options.heartbeat_seconds,
            stalled_worker_timeout=options.stall_seconds, fetch_job_polling_interval=2.0))
        loop = asyncio.get_running_loop()

        def stop() -> None:
            state["stopping"] = True
            worker.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop)
        try:
            await worker
        except asyncio.CancelledError:
            if not state["stopping"]:
                raise
        finally:
            requeue.cancel()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)


def _due_jobs(database: Database, queues: tuple[str, ...]) -> int:
    with database.transaction() as session:
        return session.execute(text(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = ANY(:q) AND status IN ('todo', 'doing') "
            "AND (scheduled_at IS NULL OR scheduled_at <= now() + interval '1 second')"), {"q": list(queues)}).scalar()


def run(database_url: str, settings: NotificationSettings, key: bytes, options: WorkerOptions, app=None) -> None:
    """Run until SIGTERM/SIGINT (or, with options.wait False, until the queues are empty). *app*, the web app,
    lets other features write their messages in the recipient's language (a dashboard's PDF)."""
    check_settings(settings)
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        # procrastinate tells of every job at INFO; the worker's own lines (and failures) are what an operator reads
        logging.getLogger("procrastinate").setLevel(logging.WARNING)
    database = Database(database_url, pool_size=options.concurrency + 2)
    set_runtime(Runtime(database, settings, key, app))
    state = {"stopping": False}
    pause = 1.0
    while not state["stopping"]:
        started = time.monotonic()
        try:
            asyncio.run(_serve(build_app(database_url), options, state))
            # procrastinate's wait=False stops at the first empty fetch, while jobs it runs may still queue more
            if not options.wait and not _due_jobs(database, options.queues):
                return
            if not options.wait:
                continue
        except Exception as exc:  # the database went away: wait for it and start again
            log.warning("worker stopped (%s: %s); starting again in %.0fs", type(exc).__name__, exc, pause)
        if state["stopping"]:
            break
        time.sleep(pause)
        pause = 1.0 if time.monotonic() - started > 60 else min(pause * 2, 15.0)
    log.info("worker stopped")
