"""More than one server, for real: `scripts/cluster.sh up` and what clients see through nginx and HAProxy while
parts of it fail. The tests run in this order on one layout; the promotion (which replaces the primary) and the
final `down` come last.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import mapbox_vector_tile
import psycopg
import pytest
import requests
from flask import g

from gisserver.app import create_app
from tests.cluster.conftest import (
    REQUEST_TIMEOUT,
    ROOT,
    TILE,
    Filing,
    check_every_acknowledged_report_stored_once,
    start_filing,
)
from tests.conftest import SMALL_CLUSTER

pytestmark = pytest.mark.slow
TILE_PATH = f"/ogc/collections/lo-dat/tiles/WebMercatorQuad/{TILE}"


def _health(base: str) -> dict:
    return requests.get(f"{base}/health", timeout=REQUEST_TIMEOUT).json()


def _engine_states(base: str) -> dict[str, str]:
    return {e["name"]: e["status"] for e in _health(base)["engines"]}


def _wait(condition, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(every)


class Heartbeat:
    """A write on the primary every 100 ms, as on any working day: a replica's lag is then measured, not guessed."""

    def __init__(self, topology):
        self.topology = topology
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        from sqlalchemy import create_engine, text

        engine = create_engine(self.topology.url())
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS heartbeat (at timestamptz)"))
        while not self.stop.is_set():
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO heartbeat VALUES (now())"))
            time.sleep(0.1)
        engine.dispose()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=10)


def test_up_serves_through_the_balancer_and_reads_from_the_replica(topology):
    assert _engine_states(topology.base) == {"primary": "ok", "replica-1": "ok"}
    for port in topology.ports["apps"]:  # both app servers see both engines
        assert _engine_states(f"http://127.0.0.1:{port}") == {"primary": "ok", "replica-1": "ok"}
    response = requests.get(f"{topology.base}/api/areas", timeout=REQUEST_TIMEOUT)
    assert response.status_code == 200 and {a["code"] for a in response.json()["areas"]} >= {"T", "T-W"}
    assert topology.app_lines(r"GET /api/areas 200 .* db=replica-1")
    # Through nginx and HAProxy the app counts (rate limits, audit log) the resident's address, not a proxy's
    # nor one the client made up. 127.0.0.2 is this machine too, but not what the proxies connect from.
    connection = http.client.HTTPConnection("127.0.0.1", topology.ports["nginx"], timeout=REQUEST_TIMEOUT,
                                            source_address=("127.0.0.2", 0))
    connection.request("POST", "/api/reports", headers={"Content-Type": "application/json",
                                                        "X-Forwarded-For": "203.0.113.9"},
                       body=json.dumps({"category": "cap_thoat_nuoc_ngap_ung", "description": "Ngập sâu trước nhà",
                                        "location": {"lon": 107.55, "lat": 16.42}}))
    answer = connection.getresponse()
    assert answer.status == 201, answer.read()
    answer.read()
    connection.close()
    counted = [key for (key,) in topology.sql("SELECT key FROM rate_limits WHERE key LIKE '%intake:%'")]
    assert counted and all("intake:127.0.0.2/" in key for key in counted), counted
    status = topology.sh("status").stdout
    assert "replica1" in status and "standby" in status and "haproxy" in status
    # One notification worker, connected to the primary directly (procrastinate records it with its heartbeat).
    assert re.search(r"^worker +running", status, re.M), status
    _wait(lambda: topology.sql("SELECT count(*) FROM procrastinate_workers")[0][0] == 1, 30,
          "the worker's first heartbeat")
    # `up` again starts nothing new and changes nothing.
    again = topology.sh("up").stdout
    assert "started" not in again.replace("serving", ""), again


def _live_map_hears_a_report(topology) -> None:
    stream = requests.get(f"{topology.base}/api/live", headers={"Authorization": f"Bearer {topology.admin_token}"},
                          stream=True, timeout=REQUEST_TIMEOUT)
    try:
        assert stream.status_code == 200 and stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines(decode_unicode=True)
        assert next(lines).startswith("retry:")  # the stream is open (and its LISTEN in place) before filing
        filed = requests.post(f"{topology.base}/api/reports", timeout=REQUEST_TIMEOUT, json={
            "category": "cap_thoat_nuoc_ngap_ung", "description": "Ngập trước trường", "location":
            {"lon": 107.55, "lat": 16.42}})
        assert filed.status_code == 201
        code = filed.json()["tracking_code"]
        # Heartbeats (comment lines, one a second here) keep a stream that hears nothing open: wait a bounded time.
        deadline, heard = time.monotonic() + REQUEST_TIMEOUT, None
        for line in lines:
            if line.startswith("data:"):
                heard = json.loads(line[len("data:"):])
                break
            if time.monotonic() > deadline:
                break
        assert heard is not None, f"no live event within {REQUEST_TIMEOUT} s, only heartbeats"
        assert heard["data"]["tracking_code"] == code
    finally:
        stream.close()


def test_the_live_map_hears_a_report_filed_through_the_balancer(topology):
    """The live feed streams through nginx and HAProxy, from a LISTEN that must not go through PgBouncer
    (transaction pooling hands its session to others, and the notices are lost)."""
    _live_map_hears_a_report(topology)


def test_tile_cache_answers_again_without_the_app_and_follows_an_edit(topology):
    url = f"{topology.base}{TILE_PATH}"
    built = rf"GET {TILE_PATH} 200 "
    first = requests.get(url, timeout=REQUEST_TIMEOUT)
    assert first.status_code == 200 and first.headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    assert len(mapbox_vector_tile.decode(first.content)["lo-dat"]["features"]) == 9
    assert "s-maxage=2" in first.headers["Cache-Control"]
    assert len(topology.app_lines(built)) == 1
    second = requests.get(url, timeout=REQUEST_TIMEOUT)
    assert second.headers["X-Cache-Status"] == "HIT" and second.content == first.content
    revalidated = requests.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=REQUEST_TIMEOUT)
    assert revalidated.status_code == 304 and revalidated.headers["X-Cache-Status"] == "HIT"
    assert len(topology.app_lines(TILE_PATH)) == 1  # neither reached an app server
    # A planner replaces the layer's data through the same address, and looks at the tile at once: signed-in
    # callers read past the cache, and the write's cookie makes the read wait for (or skip) the replica.
    planner = requests.Session()
    planner.headers["Authorization"] = f"Bearer {topology.planner_token}"
    new = (b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"ma_lo":"MOI"},'
           b'"geometry":{"type":"Polygon","coordinates":[[[107.581,16.461],[107.582,16.461],[107.582,16.462],'
           b'[107.581,16.462],[107.581,16.461]]]}}]}')
    replaced = planner.put(f"{topology.base}/api/layers/lo-dat/data", files={"file": ("new.geojson", new)},
                           timeout=60)
    assert replaced.status_code == 200, replaced.text
    edited = planner.get(url, timeout=REQUEST_TIMEOUT)
    assert edited.headers["X-Cache-Status"] == "BYPASS" and edited.headers["ETag"] != first.headers["ETag"]
    assert [f["properties"]["ma_lo"] for f in mapbox_vector_tile.decode(edited.content)["lo-dat"]["features"]] == [
        "MOI"]
    # Everyone else gets it once the cache's copy is two seconds old (s-maxage=2) and the replica has the edit
    # (milliseconds): the cache asks the app, whose ETag has changed.
    time.sleep(2)
    fresh = _wait(lambda: (r := requests.get(url, timeout=REQUEST_TIMEOUT)).headers["ETag"] == edited.headers["ETag"]
                  and r, 5, "the cache to serve the new tile")
    assert fresh.content == edited.content
    assert len(topology.app_lines(built)) == 3  # first, the planner's, the cache's refresh
    assert requests.get(url, timeout=REQUEST_TIMEOUT).headers["X-Cache-Status"] == "HIT"
    # The XYZ form the app's own maps draw (/api/layers/<name>/tiles/{z}/{x}/{y}.mvt) is cached the same way.
    z, y, x = TILE.split("/")
    xyz = f"{topology.base}/api/layers/lo-dat/tiles/{z}/{x}/{y}.mvt"  # z/x/y
    assert requests.get(xyz, timeout=REQUEST_TIMEOUT).headers["X-Cache-Status"] in ("MISS", "EXPIRED")
    again = requests.get(xyz, timeout=REQUEST_TIMEOUT)
    assert again.headers["X-Cache-Status"] == "HIT" and again.content == edited.content


def test_read_your_writes_against_a_delayed_replica(topology):
    replicas = topology.replicas()
    with Heartbeat(topology):
        replicas.set_apply_delay("replica1", 4000)
        try:
            _wait(lambda: (_health(topology.base)["engines"][1].get("lag_seconds") or 0) > 3, 15,
                  "the replica to fall 4 s behind")
            resident = requests.Session()
            filed = resident.post(f"{topology.base}/api/reports", timeout=REQUEST_TIMEOUT, json={
                "category": "cap_thoat_nuoc_ngap_ung", "description": "Ngập trước chợ",
                "location": {"lon": 107.55, "lat": 16.42}})
            assert filed.status_code == 201 and "gisserver_written" in resident.cookies
            code = filed.json()["tracking_code"]
            status_path = f"/api/reports/{code}/status"
            # Someone else, reading from the late replica, does not see the report yet ...
            assert requests.get(f"{topology.base}{status_path}", timeout=REQUEST_TIMEOUT).status_code == 404
            # ... the resident does: the replica had not replayed the write within the wait, so the primary answers.
            mine = resident.get(f"{topology.base}{status_path}", timeout=REQUEST_TIMEOUT)
            assert mine.status_code == 200 and mine.json()["tracking_code"] == code
            assert topology.app_lines(rf"GET {status_path} 404 .* db=replica-1")
            assert topology.app_lines(rf"GET {status_path} 200 .* db=primary")
            # Once the replica has replayed it, everyone reads it there.
            _wait(lambda: requests.get(f"{topology.base}{status_path}", timeout=REQUEST_TIMEOUT).ok, 10,
                  "the replica to replay the report")
            assert topology.app_lines(rf"GET {status_path} 200 .* db=replica-1")
        finally:
            replicas.set_apply_delay("replica1", 0)


def test_a_lagging_replica_is_skipped_and_comes_back(topology, tmp_path):
    """An app whose lag bound (1 s) the replica exceeds reads from the primary, and returns to the replica
    by itself once it has caught up; /health says so."""
    replica_url = topology.url(topology.replica().port)
    app = create_app({"DATABASE_URL": topology.url(), "DATABASE_REPLICA_URLS": replica_url,
                      "REPLICA_MAX_LAG_MS": 1000, "DATA_DIR": tmp_path, "TESTING": True})
    engines = []

    @app.after_request
    def note(response):
        engines.append(g.get("db_engine"))
        return response

    client = app.test_client()

    def replica_state():
        return {e["name"]: e for e in client.get("/health").get_json()["engines"]}["replica-1"]

    replicas = topology.replicas()
    try:
        with Heartbeat(topology):
            replicas.set_apply_delay("replica1", 2500)
            state = _wait(lambda: (s := replica_state())["status"] == "lagging" and s, 10, "the replica to lag")
            assert state["lag_seconds"] > 1
            assert client.get("/api/areas").status_code == 200 and engines[-1] == "primary"
            replicas.set_apply_delay("replica1", 0)
            _wait(lambda: replica_state()["status"] == "ok", 10, "the replica to catch up")
            assert client.get("/api/areas").status_code == 200 and engines[-1] == "replica-1"
    finally:
        replicas.set_apply_delay("replica1", 0)
        app.extensions["gisserver.db"].dispose()


def test_reads_go_on_while_the_replica_is_stopped_and_return_to_it(topology):
    paths = ["/api/areas", "/ogc/collections/lo-dat/items?limit=5", "/api/hotspots"]
    statuses, stop = Counter(), threading.Event()

    def reader(n):
        while not stop.is_set():
            path = paths[n % len(paths)]
            try:
                statuses[requests.get(f"{topology.base}{path}", timeout=REQUEST_TIMEOUT).status_code] += 1
            except requests.RequestException as exc:
                statuses[type(exc).__name__] += 1
            n += 1

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(4)]
    for thread in threads:
        thread.start()
    replica = topology.replica()
    try:
        time.sleep(1)
        replica.down()  # fast shutdown: its connections are cut under the readers
        stopped_at = len(topology.app_lines(r"db=primary"))
        time.sleep(2)
        assert len(topology.app_lines(r"db=primary")) > stopped_at + 10  # reads moved to the primary
        for port in topology.ports["apps"]:
            assert _engine_states(f"http://127.0.0.1:{port}")["replica-1"] == "down"
        replica.up()
        back_at = len(topology.app_lines(r"db=replica-1"))
        _wait(lambda: all(_engine_states(f"http://127.0.0.1:{p}")["replica-1"] == "ok"
                          for p in topology.ports["apps"]), 15, "both app servers to use the replica again")
        _wait(lambda: len(topology.app_lines(r"db=replica-1")) > back_at + 10, 10, "reads on the replica again")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    print(f"reads while the replica stopped and came back: {dict(statuses)}")
    assert set(statuses) == {200}, statuses


def test_an_app_server_killed_under_intake_loses_nothing(topology):
    filing, stop = Filing(), threading.Event()
    threads = start_filing(topology.base, filing, stop)
    victim_port = topology.ports["apps"][0]
    try:
        _wait(lambda: filing.created >= 10, 20, "reports filed before the kill")
        killed_at = time.monotonic()
        os.killpg(topology.pid(f"app-{victim_port}"), signal.SIGKILL)  # the server and its workers, at once
        time.sleep(2)
        assert filing.successes_after(killed_at + 0.5) > 0  # the other server took over
        log_before = len(topology.app_log(victim_port))
        restarted = topology.sh("up").stdout  # starts the killed server again, and only it
        assert restarted.count("started") == 1 and f"started app server on 127.0.0.1:{victim_port}" in restarted
        back_at = time.monotonic()
        _wait(lambda: "POST /api/reports 201" in topology.app_log(victim_port)[log_before:], 20,
              "the restarted server to take reports again")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    print(f"answers {dict(filing.statuses)}, failures {len(filing.failures)}, acknowledged {len(filing.acknowledged)}")
    # What a client saw go wrong happened at the moment of the kill, not after it.
    late = [(round(t - killed_at, 2), what) for t, what in filing.failures if t > killed_at + 3]
    assert not late, late
    assert filing.successes_after(back_at) > 0
    check_every_acknowledged_report_stored_once(topology, filing)


def test_pgbouncer_settings_the_app_relies_on(topology):
    pooled = topology.url(topology.ports["pgbouncer"])
    # The role's statement timeout is what applies behind the pooler (the startup option cannot pass) ...
    with psycopg.connect(pooled.replace("+psycopg", ""), prepare_threshold=None) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone()[0] == "30s"
    # ... and an app not told it is pooled fails at once and says why, instead of running without a timeout.
    with pytest.raises(psycopg.OperationalError, match="unsupported startup parameter: options"):
        psycopg.connect(pooled.replace("+psycopg", ""), options="-c statement_timeout=30000")
    # Migrations and backups refuse the pooled URL when no direct one is given.
    from click.testing import CliRunner

    from gisserver.cli import main

    env = {"GISSERVER_DATABASE_URL": pooled, "GISSERVER_DATABASE_POOLED": "1", "GISSERVER_DATABASE_DIRECT_URL": "",
           "GISSERVER_DATA_DIR": str(topology.root / "cli")}
    for command in (["db", "migrate"], ["backup", str(topology.root / "never.tar")]):
        refused = CliRunner().invoke(main, command, env=env)
        assert refused.exit_code == 1 and "set GISSERVER_DATABASE_DIRECT_URL" in refused.output, refused.output


# One or two tests of each domain the issue names, through PgBouncer in transaction mode.
THROUGH_PGBOUNCER = [
    "tests/reports/intake/test_intake_api.py::test_citizen_report_is_located_routed_and_due",
    "tests/reports/workflow/test_workflow.py::test_merge_over_http",
    "tests/layers/test_ogc.py::test_vector_tiles_etag_and_change",
    "tests/reports/summaries/test_summaries.py::test_rollup_follows_every_write",
    # Notifications: the outbox deferred on the caller's pooled connection; the worker and the live feed's
    # LISTEN on the direct one.
    "tests/reports/notifications/test_delivery.py::test_a_report_reaches_its_unit_and_the_resident_hears_back",
    "tests/reports/notifications/test_live.py::test_each_officer_hears_only_of_their_scope",
]


def _pgbouncer_queries(topology, database: str) -> int:
    admin = topology.url(topology.ports["pgbouncer"], "pgbouncer").replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True, prepare_threshold=None) as conn:
        cursor = psycopg.ClientCursor(conn)
        cursor.execute("SHOW STATS")
        names = [c.name for c in cursor.description]
        return sum(row[names.index("total_query_count")] for row in cursor.fetchall()
                   if row[names.index("database")] == database)


def test_a_selection_of_the_suite_passes_through_pgbouncer(topology):
    primary = topology.primary()
    primary.recreate_database("gisserver_pooled")
    before = _pgbouncer_queries(topology, "gisserver_pooled")
    # Not our settings, nor the xdist worker's identity: the inner run is one process on one database.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GISSERVER_", "PYTEST_XDIST_"))}
    env.update({"GISSERVER_TEST_DATABASE_URL": topology.url(topology.ports["pgbouncer"], "gisserver_pooled"),
                "GISSERVER_TEST_DIRECT_DATABASE_URL": topology.url(database="gisserver_pooled"),
                "GISSERVER_DATABASE_DIRECT_URL": topology.url(database="gisserver_pooled"),
                "GISSERVER_DATABASE_POOLED": "1", "GISSERVER_DATA_DIR": str(topology.root / "suite")})
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           *THROUGH_PGBOUNCER],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # Every one ran (the tiles test runs for both tile forms) and none was skipped.
    passed = re.search(r"^(\d+) passed in", proc.stdout, re.M)
    assert passed and int(passed.group(1)) > len(THROUGH_PGBOUNCER), proc.stdout[-500:]
    assert _pgbouncer_queries(topology, "gisserver_pooled") - before > 500  # they really went through it


def test_promote_after_the_primary_is_lost(topology):
    filing, stop = Filing(), threading.Event()
    threads = start_filing(topology.base, filing, stop)
    old = topology.primary()
    try:
        _wait(lambda: filing.created >= 10, 20, "reports filed before the loss")
        lost_at = time.monotonic()
        old._run_as_server([old._bin("pg_ctl"), "-D", str(old.data_dir), "-m", "immediate", "stop"])
        promoted = topology.sh("promote")
        assert "is the primary now" in promoted.stdout, promoted.stdout
        promoted_at = time.monotonic()
        _wait(lambda: filing.successes_after(promoted_at) >= 10, 30, "writes on the new primary")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    # Writes resumed: the first success after the first failure the loss caused (none: clients saw no outage).
    first_failure = min((t for t, _ in filing.failures if t > lost_at), default=lost_at)
    resumed = min((t for t in filing.successes if t > first_failure), default=lost_at) - lost_at
    print(f"answers {dict(filing.statuses)}, failures {len(filing.failures)}, writes resumed {resumed:.1f} s after "
          f"the loss (promote took {promoted_at - lost_at:.1f} s with the restarts), "
          f"acknowledged {len(filing.acknowledged)}")
    assert topology.primary().port == topology.ports["replica"]
    check_every_acknowledged_report_stored_once(topology, filing)  # on the new primary
    # The old primary's folder refuses to start as a second primary.
    with pytest.raises(Exception, match="was the primary until replica1"):
        old.up()
    # The app servers write through PgBouncer, re-pointed at once; they were restarted one at a time for what holds
    # a session of its own (the live map's LISTEN), and read from the primary until `up` builds a new replica.
    assert [e["name"] for e in _health(topology.base)["engines"]] == ["primary"]
    _live_map_hears_a_report(topology)
    # The worker was restarted on the new primary too: its heartbeat is there.
    _wait(lambda: topology.sql("SELECT count(*) FROM procrastinate_workers "
                               "WHERE last_heartbeat > now() - interval '10 seconds'")[0][0] == 1, 30,
          "the worker's heartbeat on the new primary")


def test_a_backup_of_the_primary_restored_into_a_new_cluster_feeds_a_replica(topology):
    """Both machines lost: the nightly backup makes a new primary, and a replica is built from that."""
    from gisserver.backup import create_backup, restore_backup
    from gisserver.core.cluster import PrivateCluster
    from gisserver.core.cluster_replicas import Replicas
    from tests.ports import free_port

    archive = topology.root / "nightly.tar"
    made = create_backup(topology.url(), topology.root / "var", archive)
    taken = {topology.ports["primary"], topology.ports["replica"]}
    rebuilt = PrivateCluster(topology.root / "rebuilt" / "pg", free_port(range(5460, 5480), taken),
                             replicas_dir=topology.root / "rebuilt" / "replicas", **SMALL_CLUSTER)
    try:
        rebuilt.up()
        restore_backup(rebuilt.url(), topology.root / "rebuilt" / "files", archive)
        copy = Replicas(rebuilt).add("copy", free_port(range(5460, 5480), taken))
        # (A standby cannot read unlogged tables, such as the rate-limit counters: count the reports alone.)
        assert topology.sql("SELECT count(*) FROM reports", copy.url())[0][0] == made.tables["public.reports"] > 0
    finally:
        Replicas(rebuilt).down()
        rebuilt.down()


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_down_stops_everything_it_started(topology):
    names = ["nginx", "haproxy", "pgbouncer", "worker", *(f"app-{p}" for p in topology.ports["apps"])]
    pids = {name: topology.pid(name) for name in names}
    assert all(pids.values()), pids
    databases = [topology.primary(), *(topology.replicas().cluster(n) for n in topology.replicas().names())]
    topology.sh("down")
    topology.stopped = True
    # (An exited process that init has not reaped yet is a zombie: stopped all the same.)
    alive = [name for name, pid in pids.items() if _running(pid)]
    assert not alive
    assert not [d.data_dir for d in databases if d.status().running]
    assert "stopped" in subprocess.run([str(ROOT / "scripts" / "cluster.sh"), "status"], env=topology.env,
                                       capture_output=True, text=True).stdout
