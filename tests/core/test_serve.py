"""`gisserver serve` runs gunicorn with several workers that answer and are replaced when killed."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ports import free_port

pytestmark = pytest.mark.slow
GISSERVER = Path(sys.executable).parent / "gisserver"



def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for(url: str, timeout: float = 120) -> None:  # a loaded machine starts gunicorn slowly
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _get(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 in {timeout}s")


def _worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_serve_runs_gunicorn_workers_and_survives_a_killed_worker(database_url, tmp_path):
    port = free_port()
    env = dict(os.environ, GISSERVER_DATABASE_URL=database_url, GISSERVER_DATA_DIR=str(tmp_path))
    server = subprocess.Popen(
        [str(GISSERVER), "serve", "--port", str(port), "--workers", "2", "--threads", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/health")
        workers = _worker_pids(server.pid)
        assert len(workers) == 2

        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(set(_worker_pids(server.pid)) - {workers[0]}) < 2:
            time.sleep(0.2)
        assert len(set(_worker_pids(server.pid)) - {workers[0]}) == 2  # the master replaced it
        for _ in range(10):
            assert _get(f"http://127.0.0.1:{port}/health")[0] == 200

        # A client that pauses a few seconds between requests reuses its connection: it is not closed under it.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", "/health")
        first = connection.getresponse()
        assert first.status == 200 and first.read()
        socket_used = connection.sock
        time.sleep(3)
        connection.request("GET", "/health")
        assert connection.getresponse().status == 200
        assert connection.sock is socket_used
        connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    assert "gunicorn" in output.lower() or "Booting worker" in output
