"""Restarts in the middle of a burst: the worker (SIGTERM, then started again), PostgreSQL itself (stopped and
started under a running worker), and a worker killed outright (SIGKILL). A private cluster of its own, a real
`gisserver worker` process, a real SMTP server; afterwards every delivery was mailed, none lost, and only a kill
can make a message go twice: the one being sent at that moment, with the same Message-ID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from gisserver.core.cluster import PrivateCluster
from gisserver.core.db import Database
from gisserver.migrate import upgrade
from reports.intake.submit import ReportInput, submit_report
from reports.notifications.admin import add_duty_contact
from reports.notifications.delivery import INTERRUPTED
from tests.conftest import SMALL_CLUSTER
from tests.ports import free_port
from tests.reports.conftest import WEST_INSIDE, build_small_city
from tests.reports.notifications.servers import SmtpServer

pytestmark = pytest.mark.slow
GISSERVER = Path(sys.executable).parent / "gisserver"
# Reports per burst, at 12 mails a second: a stop or a kill lands mid-burst, while the worker's four jobs hold two
# events each (a job takes one ready job along: GISSERVER_NOTIFY_FANOUT_BATCH below). The benchmark sends the big
# burst (bench/notifications.py).
BURST = 24


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="gisserver-notify-restarts-"))
    cluster = PrivateCluster(root / "pg", free_port(), "gisserver", **SMALL_CLUSTER)
    cluster.up()
    try:
        upgrade(cluster.url())
        yield cluster, root
    finally:
        cluster.down()
        shutil.rmtree(root, ignore_errors=True)


def _burst(database: Database, start: int) -> None:
    with database.transaction() as session:
        for i in range(BURST):
            submit_report(session, ReportInput(category="gay_roi", description=f"Ồn ào số {start + i}",
                                               lon=WEST_INSIDE[0] + 0.0001 * i, lat=WEST_INSIDE[1]), actor="test")


def _worker(url: str, root: Path, smtp_port: int, log) -> subprocess.Popen:
    env = dict(os.environ, GISSERVER_DATABASE_URL=url, GISSERVER_DATA_DIR=str(root / "var"),
               GISSERVER_SMTP_HOST="127.0.0.1", GISSERVER_SMTP_PORT=str(smtp_port), GISSERVER_SMTP_SECURITY="none",
               GISSERVER_NOTIFY_RATE_CAPS="email=12", GISSERVER_NOTIFY_FANOUT_BATCH="2",
               GISSERVER_NOTIFY_BACKOFF_SECONDS="0.5",
               GISSERVER_NOTIFY_BACKOFF_MAX_SECONDS="2", GISSERVER_DB_CONNECT_TIMEOUT="2")
    return subprocess.Popen([str(GISSERVER), "worker", "--concurrency", "4", "--stall-seconds", "4"], env=env,
                            stdout=log, stderr=log)


def _city_with_a_duty_mailbox(url: str) -> Database:
    """The small city, its west ward's police with a duty mailbox: every report filed there is one mail."""
    database = Database(url)
    with database.transaction() as session:
        build_small_city(session)
        add_duty_contact(session, "T-W-CA", "email", "truc-ban@ca.example.vn")
    return database


def _stop(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()


def _count(database: Database, sql: str) -> int:
    with database.transaction() as session:
        return session.execute(text(sql)).scalar()


def _wait(predicate, timeout: float) -> bool:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        try:
            if predicate():
                return True
        except Exception:  # noqa: S110 - the database may be restarting: ask again
            pass
        time.sleep(0.2)
    return False


def test_worker_and_database_restarts_lose_nothing_and_send_nothing_twice(cluster):
    cluster, root = cluster
    url = cluster.url()
    database = _city_with_a_duty_mailbox(url)
    log_path = root / "worker.log"
    with SmtpServer() as smtp, log_path.open("w") as log:
        mailbox = smtp.mailbox
        worker = _worker(url, root, smtp.port, log)
        try:
            # 1. The worker is stopped (SIGTERM) while it works through a burst, then started again.
            _burst(database, 0)
            assert _wait(lambda: len(mailbox.messages) >= 3, 30), log_path.read_text()[-3000:]
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0, log_path.read_text()[-3000:]
            assert len(mailbox.messages) < BURST, "the burst was over before the restart: make it bigger"
            worker = _worker(url, root, smtp.port, log)
            assert _wait(lambda: len(mailbox.messages) >= BURST, 40), log_path.read_text()[-3000:]

            # 2. PostgreSQL stops and starts again under the running worker, mid-burst.
            _burst(database, BURST)
            assert _wait(lambda: len(mailbox.messages) >= BURST + 2, 30), log_path.read_text()[-3000:]
            database.dispose()
            cluster.down()
            time.sleep(1.0)
            cluster.up()
            assert _wait(lambda: _count(database, "SELECT count(*) FROM notification_deliveries "
                                                  "WHERE status = 'sent'") == 2 * BURST, 60), \
                log_path.read_text()[-4000:]
            time.sleep(2.0)  # anything sent twice would arrive now
        finally:
            _stop(worker)
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(ids) == 2 * BURST, f"{len(ids)} distinct messages for {2 * BURST} deliveries"
    assert max(ids.values()) == 1, f"sent twice: {[k for k, v in ids.items() if v > 1]}"
    assert _count(database, "SELECT count(*) FROM notification_deliveries WHERE status <> 'sent'") == 0
    database.dispose()


def test_a_killed_worker_loses_nothing_and_repeats_only_what_it_was_sending(cluster):
    """SIGKILL leaves no chance to record anything: the event jobs it held are handed back to the queue when its
    heartbeat stops (--stall-seconds), and their reruns send what was claimed and not recorded again, with the
    same Message-ID (a receiver drops it); nothing else is sent twice and nothing is lost."""
    cluster, root = cluster
    url = cluster.recreate_database("gisserver_killed_worker")
    upgrade(url)
    database = _city_with_a_duty_mailbox(url)
    log_path = root / "killed-worker.log"
    with SmtpServer() as smtp, log_path.open("w") as log:
        mailbox = smtp.mailbox
        worker = _worker(url, root, smtp.port, log)
        try:
            _burst(database, 0)
            assert _wait(lambda: len(mailbox.messages) >= 3, 30), log_path.read_text()[-3000:]
            worker.kill()
            worker.wait(timeout=30)
            assert len(mailbox.messages) < BURST, "the burst was over before the kill: make it bigger"
            in_flight = _count(database, "SELECT count(*) FROM notification_attempts WHERE outcome = 'started'")
            worker = _worker(url, root, smtp.port, log)
            assert _wait(lambda: _count(database, "SELECT count(*) FROM notification_deliveries "
                                                  "WHERE status = 'sent'") == BURST, 60), \
                log_path.read_text()[-4000:]
            time.sleep(2.0)  # anything sent twice more would arrive now
        finally:
            _stop(worker)
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert len(ids) == BURST, f"{len(ids)} distinct messages for {BURST} deliveries"
    assert sum(ids.values()) - BURST <= in_flight, (ids, in_flight)
    # The tries the kill cut short stay in the history, closed as interrupted (not "sending" for ever).
    assert _count(database, "SELECT count(*) FROM notification_attempts WHERE outcome = 'started'") == 0
    assert _count(database, "SELECT count(*) FROM notification_attempts WHERE outcome = 'error' AND detail = "
                            f"'{INTERRUPTED}'") == in_flight
    database.dispose()
