"""Faults under load: PostGIS restarting and a server worker killed while residents file reports.

A private cluster in a temporary folder and a real `gisserver serve` (gunicorn) on it; client
threads file reports with idempotency keys and retry like a well-behaved app: after a 503 as
its Retry-After says (capped, to keep the test short), after a dropped connection at once,
always with the same key. Afterwards every report that was answered 201 is in the database
exactly once, and nothing else is.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from gisserver.core.cluster import PrivateCluster
from gisserver.core.db import Database
from gisserver.migrate import upgrade
from tests.conftest import SMALL_CLUSTER
from tests.ports import free_port
from tests.reports.conftest import build_small_city

pytestmark = pytest.mark.slow
GISSERVER = Path(sys.executable).parent / "gisserver"
CLIENTS = 6
REQUEST_TIMEOUT = 20  # a request still unanswered after this long counts as a hang
POINTS = [(107.51 + 0.018 * i, 16.41 + 0.008 * j) for i in range(10) for j in range(10)]


@dataclass
class Stack:
    cluster: PrivateCluster
    url: str
    base: str
    server: subprocess.Popen
    log: Path


@pytest.fixture(scope="module")
def stack():
    # Not under pytest's basetemp: other pytest runs on the machine reset it to mode 0700,
    # which would lock the postgres user out of its own data folder mid-test.
    root = Path(tempfile.mkdtemp(prefix="gisserver-faults-"))
    cluster = PrivateCluster(root / "pg", free_port(range(5440, 5450)), "gisserver", **SMALL_CLUSTER)
    cluster.up()
    server = None
    try:
        url = cluster.url()
        upgrade(url)
        database = Database(url)
        with database.transaction() as session:
            build_small_city(session)
        database.dispose()
        port = free_port(range(5120, 5130))
        env = dict(os.environ, GISSERVER_DATABASE_URL=url, GISSERVER_DATA_DIR=str(root / "var"),
                   GISSERVER_INTAKE_RATE_LIMIT="100000 per minute",
                   GISSERVER_INTAKE_AREA_RATE_LIMIT="100000 per minute", GISSERVER_DB_CONNECT_TIMEOUT="2")
        log = root / "serve.log"
        with log.open("w") as log_file:
            server = subprocess.Popen(
                [str(GISSERVER), "serve", "--port", str(port), "--workers", "2", "--threads", "4"],
                env=env, stdout=subprocess.DEVNULL, stderr=log_file,
            )
        base = f"http://127.0.0.1:{port}"
        # Starting gunicorn and importing the app takes a few seconds on a quiet machine and far more on a loaded
        # CI box; what these tests check is what happens after it answers, not how fast it starts.
        assert _wait_health(base, 120), log.read_text()[-3000:]
        yield Stack(cluster, url, base, server, log)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        cluster.down()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def empty_reports(stack):
    _sql(stack.url, "TRUNCATE reports RESTART IDENTITY CASCADE")
    return stack


def _sql(url: str, statement: str, **params):
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else None
    finally:
        engine.dispose()


def _wait_health(base: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{base}/health", timeout=5).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


@dataclass
class Outcome:
    """What the clients saw, shared by their threads."""

    statuses: Counter = field(default_factory=Counter)
    dropped: int = 0  # connections reset or refused (a worker died under the request)
    hangs: int = 0
    no_retry_after: int = 0
    unexpected: list[str] = field(default_factory=list)
    created: dict[str, str] = field(default_factory=dict)  # key -> tracking code answered 201
    replayed: dict[str, str] = field(default_factory=dict)  # key -> tracking code answered 200
    body_of: dict[str, dict] = field(default_factory=dict)
    unresolved: list[str] = field(default_factory=list)
    successes_after: Counter = field(default_factory=Counter)  # phase -> successes
    phase: str = "before"
    lock: threading.Lock = field(default_factory=threading.Lock)


def _file_one(base: str, outcome: Outcome, stop: threading.Event, n: int) -> None:
    key = uuid.uuid4().hex
    lon, lat = POINTS[n % len(POINTS)]
    body = {"category": "cap_thoat_nuoc_ngap_ung", "description": f"Ngập sâu 40 cm trước nhà số {n}",
            "location": {"lon": lon, "lat": lat}}
    outcome.body_of[key] = body
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        try:
            response = requests.post(f"{base}/api/reports", json=body, headers={"Idempotency-Key": key},
                                     timeout=REQUEST_TIMEOUT)
        except requests.Timeout:
            with outcome.lock:
                outcome.hangs += 1
            continue
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            # Dropped, or cut in the middle of the answer (a worker killed while writing it): the client does not
            # know whether it was filed, and resends with the same key, as the README tells clients to.
            with outcome.lock:
                outcome.dropped += 1
            time.sleep(0.1)
            continue
        with outcome.lock:
            outcome.statuses[response.status_code] += 1
            if response.status_code in (200, 201):
                target = outcome.created if response.status_code == 201 else outcome.replayed
                target[key] = response.json()["tracking_code"]
                outcome.successes_after[outcome.phase] += 1
                return
            if response.status_code != 503:
                outcome.unexpected.append(f"{response.status_code} {response.text[:300]}")
                return
            error = response.json()["error"]
            if error["code"] != "database_unavailable" or not response.headers.get("Retry-After"):
                outcome.no_retry_after += 1
        # Honour Retry-After, capped so that the test stays short.
        time.sleep(min(float(response.headers.get("Retry-After") or 1), 0.5))
    outcome.unresolved.append(key)


def _run_clients(base: str, outcome: Outcome, stop: threading.Event) -> list[threading.Thread]:
    counter = iter(range(1_000_000))
    counter_lock = threading.Lock()

    def client():
        while not stop.is_set():
            with counter_lock:
                n = next(counter)
            _file_one(base, outcome, stop, n)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(CLIENTS)]
    for t in threads:
        t.start()
    return threads


def _check_database(stack: Stack, outcome: Outcome) -> None:
    rows = dict(_sql(stack.url, "SELECT idempotency_key, tracking_code FROM reports"))
    answered = {f"api:{k}": code for k, code in {**outcome.created, **outcome.replayed}.items()}
    # Every report answered 201 (or replayed as 200) is stored, under the code the client was given ...
    assert {k: rows.get(k) for k in answered} == answered
    # ... and nothing is stored that no client was told about, except requests still unresolved at the end.
    extra = set(rows) - set(answered) - {f"api:{k}" for k in outcome.unresolved}
    assert not extra
    # A retry of every answered report with its key files nothing new and returns the same report.
    for key, code in list(outcome.created.items())[:20]:
        again = requests.post(f"{stack.base}/api/reports", json=outcome.body_of[key],
                              headers={"Idempotency-Key": key}, timeout=REQUEST_TIMEOUT)
        assert again.status_code == 200 and again.json()["tracking_code"] == code
    assert _sql(stack.url, "SELECT count(*) FROM reports")[0][0] == len(rows)


def _check_answers(outcome: Outcome, stack: Stack) -> None:
    print(f"answers {dict(outcome.statuses)}, dropped connections {outcome.dropped}, "
          f"201 {len(outcome.created)}, replayed 200 {len(outcome.replayed)}, by phase {dict(outcome.successes_after)}")
    log = stack.log.read_text(errors="replace")
    # An unexpected answer is explained by the server's traceback (its 503s log one line each, without one).
    tracebacks = log[log.find("unhandled error"):][-6000:] if "unhandled error" in log else log[-3000:]
    assert outcome.statuses[500] == 0 and not outcome.unexpected, "\n".join([*outcome.unexpected[:3], tracebacks])
    assert outcome.hangs == 0
    assert outcome.no_retry_after == 0
    assert not outcome.unresolved


def test_postgis_restart_mid_intake_loses_nothing_and_recovers_by_itself(empty_reports):
    stack = empty_reports
    outcome, stop = Outcome(), threading.Event()
    master = stack.server.pid
    threads = _run_clients(stack.base, outcome, stop)
    try:
        time.sleep(3)
        assert outcome.successes_after["before"] > 0, (outcome, stack.log.read_text()[-3000:])

        outcome.phase = "outage"
        stack.cluster.down()  # pg_ctl stop -m fast: open connections are cut mid-transaction
        time.sleep(3)
        during = requests.get(f"{stack.base}/health", timeout=REQUEST_TIMEOUT)
        assert during.status_code == 503 and during.headers["Retry-After"]
        assert during.json()["error"]["code"] == "database_unavailable"

        stack.cluster.up()
        outcome.phase = "after"
        started = time.monotonic()
        assert _wait_health(stack.base, 20)
        recovered_in = time.monotonic() - started
        time.sleep(3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=90)

    assert stack.server.poll() is None and stack.server.pid == master  # nobody restarted the server
    print(f"health back {recovered_in:.1f}s after PostgreSQL started")
    assert recovered_in < 10
    _check_answers(outcome, stack)
    assert outcome.statuses[503] > 0  # the outage was seen, and answered 503 with Retry-After
    assert outcome.successes_after["after"] > 0
    _check_database(stack, outcome)


def _workers(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def test_killed_worker_mid_intake_loses_nothing(empty_reports):
    stack = empty_reports
    outcome, stop = Outcome(), threading.Event()
    threads = _run_clients(stack.base, outcome, stop)
    try:
        time.sleep(3)
        before = _workers(stack.server.pid)
        assert len(before) == 2
        victim = min(before)
        outcome.phase = "outage"
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(_workers(stack.server.pid) - {victim}) < 2:
            time.sleep(0.1)
        assert len(_workers(stack.server.pid) - {victim}) == 2  # the master replaced it
        outcome.phase = "after"
        time.sleep(3)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=90)

    _check_answers(outcome, stack)
    assert outcome.successes_after["after"] > 0
    _check_database(stack, outcome)
