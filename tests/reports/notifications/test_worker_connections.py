"""The worker's own connections to the job queue."""

import asyncio

from reports.notifications import worker


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
