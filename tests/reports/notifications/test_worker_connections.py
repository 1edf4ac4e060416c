"""The worker's own connections to the job queue."""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from reports.notifications import worker
from reports.notifications.config import NotificationSettings


def test_the_job_fetch_is_planned_for_the_jobs_table_as_it_is_now(database_url):
    # A plan of procrastinate's fetch kept from when the jobs table was small scanned the table twice per job
    # (bench/notifications.py stalled on it); the worker's connections plan it at every fetch.
    async def settings() -> dict:
        app = worker.build_app(database_url)
        async with app.open_async():
            return await app.connector.execute_query_one_async(
                "SELECT current_setting('plan_cache_mode') AS plan_cache_mode, "
                "current_setting('application_name') AS application_name")

    assert asyncio.run(settings()) == {"plan_cache_mode": "force_custom_plan", "application_name": "gisserver-worker"}


def test_finished_jobs_are_removed_after_the_retention_period_but_failed_ones_stay(app, db):
    db.execute(text("TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_events CASCADE"))
    ids = {}
    for name, status, hours_ago in (("old", "succeeded", 200), ("recent", "succeeded", 2), ("failed", "failed", 200)):
        ids[name] = db.execute(text(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts) "
            "VALUES ('notify', 'gisserver:notifications.fan_out', '{\"event_id\": 1}', :status, 1) RETURNING id"),
            {"status": status}).scalar()
        db.execute(text("INSERT INTO procrastinate_events (job_id, type, at) VALUES (:id, 'deferred', :deferred), "
                        "(:id, CAST(:status AS procrastinate_job_event_type), :finished)"),
                   {"id": ids[name], "status": status, "deferred": datetime.now(UTC) - timedelta(hours=hours_ago + 1),
                    "finished": datetime.now(UTC) - timedelta(hours=hours_ago)})
    db.execute(text("SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('checks', 'gisserver:notifications.remove_old_jobs', "
                    "0, NULL, NULL, CAST(:args AS jsonb), NULL)::procrastinate_job_to_defer_v1])"),
               {"args": json.dumps({"timestamp": int(time.time())})})
    db.commit()
    settings = NotificationSettings(job_retention_hours=168)
    worker.run(app.extensions["gisserver.db"].own_session_url("the worker"), settings, b"k" * 32,
               worker.WorkerOptions(concurrency=2, wait=False, queues=("checks",)), app=app)
    left = set(db.scalars(text("SELECT id FROM procrastinate_jobs WHERE id = ANY(:ids)"), {"ids": list(ids.values())}))
    assert left == {ids["recent"], ids["failed"]}
    assert not db.scalar(text("SELECT count(*) FROM procrastinate_events WHERE job_id = :id"), {"id": ids["old"]})
    cleaner = db.scalar(text("SELECT status FROM procrastinate_jobs WHERE task_name LIKE '%remove_old_jobs'"))
    assert cleaner == "succeeded"
