"""The private PostGIS cluster: `gisserver db up/down/status`, crash recovery, /health outage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from gisserver.app import create_app
from gisserver.cli import main
from tests.conftest import SMALL_CLUSTER_ENV
from tests.ports import free_port

pytestmark = pytest.mark.slow



@pytest.fixture
def cluster_root():
    # Not under pytest's basetemp: another pytest run on the machine resets it to mode 0700,
    # which locks the postgres user out of the cluster's folder mid-test.
    root = Path(tempfile.mkdtemp(prefix="gisserver-cluster-test-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def cluster_env(cluster_root, monkeypatch):
    tmp_path = cluster_root
    port = free_port()
    monkeypatch.setenv("GISSERVER_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("GISSERVER_PG_PORT", str(port))
    for name, value in SMALL_CLUSTER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GISSERVER_DATABASE_URL", raising=False)
    monkeypatch.delenv("GISSERVER_PG_DIR", raising=False)
    runner = CliRunner()

    def gis(*args):
        return runner.invoke(main, list(args), catch_exceptions=False)

    yield gis, tmp_path / "var" / "pg", port
    gis("db", "down")


def _postmaster_pid(pg_dir) -> int:
    return int((pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])


def test_db_up_is_idempotent_and_status_tells_where(cluster_env):
    gis, pg_dir, port = cluster_env
    assert gis("db", "status").exit_code == 3  # not initialised, not running

    first = gis("db", "up")
    assert first.exit_code == 0, first.output
    assert "initialised cluster" in first.output and "created database gisserver" in first.output
    pid = _postmaster_pid(pg_dir)

    again = gis("db", "up")
    assert again.exit_code == 0
    assert "initialised" not in again.output and "started" not in again.output
    assert _postmaster_pid(pg_dir) == pid

    status = gis("db", "status")
    assert status.exit_code == 0
    assert f"127.0.0.1:{port}" in status.output and f"running, pid {pid}" in status.output
    assert "***" in status.output  # the password is never printed

    assert gis("db", "down").output.strip() == "stopped"
    assert gis("db", "down").output.strip() == "not running"
    assert gis("db", "status").exit_code == 3


def test_processes_starting_at_once_on_a_fresh_folder_share_one_cluster(cluster_env):
    """pytest-xdist's workers, or a server and its worker, may all find no cluster yet: one makes it, the others
    wait for it and use it (no second initdb into the same folder, no half-written secrets file)."""
    gis, pg_dir, port = cluster_env
    gisserver = Path(sys.executable).parent / "gisserver"
    starts = [subprocess.Popen([str(gisserver), "db", "up"], env=dict(os.environ), stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [start.communicate(timeout=180)[0] for start in starts]
    assert [start.returncode for start in starts] == [0, 0, 0], outputs
    assert sum("initialised cluster" in output for output in outputs) == 1, outputs
    status = gis("db", "status")
    assert status.exit_code == 0 and f"127.0.0.1:{port}" in status.output
    assert not list(pg_dir.parent.glob("*.draft"))


def test_db_up_recovers_from_a_crash_with_stale_pid_file(cluster_env):
    gis, pg_dir, _ = cluster_env
    assert gis("db", "up").exit_code == 0
    pid = _postmaster_pid(pg_dir)
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    # Make the pid file point at a live process that is not PostgreSQL (a recycled pid).
    lines = (pg_dir / "postmaster.pid").read_text().split("\n")
    lines[0] = str(os.getpid())
    (pg_dir / "postmaster.pid").write_text("\n".join(lines))

    result = gis("db", "up")
    assert result.exit_code == 0, result.output
    assert "started PostgreSQL" in result.output
    assert _postmaster_pid(pg_dir) != pid


def test_health_is_503_while_database_is_down_and_recovers_without_restart(cluster_env, cluster_root, monkeypatch):
    gis, pg_dir, _ = cluster_env
    assert gis("db", "up").exit_code == 0
    app = create_app({"DATA_DIR": cluster_root / "var"})
    client = app.test_client()
    assert client.get("/health").status_code == 200

    os.kill(_postmaster_pid(pg_dir), signal.SIGKILL)
    time.sleep(0.5)
    down = client.get("/health")
    assert down.status_code == 503
    assert down.get_json()["error"]["code"] == "database_unavailable"
    assert down.headers["Retry-After"]

    assert gis("db", "up").exit_code == 0
    assert client.get("/health").status_code == 200
    app.extensions["gisserver.db"].dispose()


def _wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def test_db_up_refuses_a_taken_port_clearly(cluster_env, monkeypatch):
    gis, _, _ = cluster_env
    import socket as socketlib

    with socketlib.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("GISSERVER_PG_PORT", str(taken.getsockname()[1]))
        result = CliRunner().invoke(main, ["db", "up"])
    assert result.exit_code == 1
    assert "already taken" in result.output and "GISSERVER_PG_PORT" in result.output


def test_replica_commands_add_list_delay_and_remove(cluster_env):
    """`gisserver db replica ...` on the private cluster: a real standby with its own port, folder and slot."""
    import psycopg

    from gisserver.core.cluster import ClusterError, PrivateCluster

    gis, pg_dir, port = cluster_env
    assert gis("db", "up").exit_code == 0
    replica_port = free_port()
    added = gis("db", "replica", "add", "copy1", "--port", str(replica_port))
    assert added.exit_code == 0, added.output
    assert f"replica copy1 streaming on 127.0.0.1:{replica_port}" in added.output
    assert "***" in added.output  # the password is not printed, only where it is kept
    listed = gis("db", "replica", "list").output
    assert f"copy1: 127.0.0.1:{replica_port} running, standby, lag 0." in listed and "streaming" in listed
    primary = PrivateCluster(pg_dir, port)
    with psycopg.connect(primary._dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE written_on_the_primary (x int)")
        slots = conn.execute("SELECT slot_name, active FROM pg_replication_slots").fetchall()
    assert slots == [("gisserver_copy1", True)]
    replica = PrivateCluster(pg_dir.parent / "replicas" / "copy1", replica_port)
    # Sized as the settings ask (the tests' small size), the replica like its primary.
    for folder in (pg_dir, replica.data_dir):
        conf = (folder / "gisserver.conf").read_text()
        assert "shared_buffers = '128MB'" in conf and "pg_stat_statements" not in conf, conf
    with pytest.raises(ClusterError, match="shared_buffers"):
        PrivateCluster(pg_dir, port, shared_buffers="128MB'\nfsync = off")
    deadline = time.monotonic() + 10
    while True:  # the table reaches the replica by streaming
        with psycopg.connect(replica._dsn(), autocommit=True) as conn:
            if conn.execute("SELECT to_regclass('written_on_the_primary')").fetchone()[0]:
                break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert gis("db", "replica", "delay", "copy1", "250").exit_code == 0
    assert "recovery_min_apply_delay = '250ms'" in (replica.data_dir / "standby.conf").read_text()
    refused = gis("db", "promote", "copy1")
    assert refused.exit_code == 1 and "the primary still answers" in refused.output
    assert gis("db", "replica", "add", "copy1").exit_code == 1  # the name is taken
    removed = gis("db", "replica", "remove", "copy1")
    assert removed.exit_code == 0 and "dropped replication slot gisserver_copy1" in removed.output
    assert not replica.data_dir.exists() and gis("db", "replica", "list").output.strip() == "no replicas"
    with psycopg.connect(primary._dsn(), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone()[0] == 0
