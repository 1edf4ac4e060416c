"""The first requests of a fresh worker arrive on several threads at once (gunicorn's gthread workers, and
workers restarted after --max-requests in the middle of a busy hour): they must all get a working session."""

from __future__ import annotations

import sys
import threading

from sqlalchemy import text

from gisserver.core.db import Database


def test_first_sessions_opened_by_many_threads_at_once(database_url):
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a gap in the set-up shows at once
    try:
        for _ in range(30):
            database = Database(database_url, pool_size=2, max_overflow=20)
            start = threading.Barrier(8)
            answers, failures = [], []

            def first_request(database=database, start=start, answers=answers, failures=failures):
                start.wait()
                try:
                    with database.read_session() as session:
                        answers.append(session.execute(text("SELECT 1")).scalar())
                except Exception as exc:  # noqa: BLE001 - the failure is what the test reports
                    failures.append(repr(exc))

            threads = [threading.Thread(target=first_request) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            database.dispose()
            assert failures == []
            assert answers == [1] * 8
    finally:
        sys.setswitchinterval(previous)
