"""The whole multi-server layout, started by `scripts/cluster.sh up` in a temporary folder, for tests/cluster.

Real processes on 127.0.0.1: the primary and a streaming replica (private clusters), PgBouncer, two `gisserver
serve`, `gisserver worker`, HAProxy and nginx. The tests drive it over HTTP as clients would, and read the app
servers' logs, the databases and PgBouncer's console to see what happened behind the balancer. When a Debian
package the layout needs is missing, the tests are skipped with its name.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pytest
import requests
from shapely.geometry import box
from sqlalchemy import create_engine, text

from gisserver.core.cluster import PrivateCluster
from gisserver.core.cluster_replicas import Replicas
from gisserver.core.db import Database
from tests.conftest import SMALL_CLUSTER, SMALL_CLUSTER_ENV
from tests.ports import free_port
from tests.reports.conftest import build_small_city

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = {"pgbouncer": "pgbouncer", "haproxy": "haproxy", "nginx": "nginx-light"}
TILE = "10/464/818"  # covers the test layer; OGC API - Tiles order: zoom/row/column (z/y/x)
REQUEST_TIMEOUT = 20


@dataclass
class Layout:
    root: Path
    env: dict
    ports: dict
    planner_token: str = ""
    admin_token: str = ""
    stopped: bool = False  # `down` ran (the last test does it)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    @property
    def state_dir(self) -> Path:
        return self.root / "var" / "cluster"

    def sh(self, command: str, timeout: float = 180) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(ROOT / "scripts" / "cluster.sh"), command], env=self.env, capture_output=True,
                              text=True, timeout=timeout)
        assert proc.returncode == 0, f"cluster.sh {command} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        return proc

    def primary(self) -> PrivateCluster:
        recorded = self.state_dir / "primary.json"
        if recorded.exists():
            import json

            data = json.loads(recorded.read_text())
            return PrivateCluster(Path(data["data_dir"]), data["port"], replicas_dir=self.root / "var" / "replicas",
                                  **SMALL_CLUSTER)
        return PrivateCluster(self.root / "var" / "pg", self.ports["primary"],
                              replicas_dir=self.root / "var" / "replicas", **SMALL_CLUSTER)

    def replicas(self) -> Replicas:
        return Replicas(self.primary())

    def replica(self, name: str = "replica1") -> PrivateCluster:
        return self.replicas().cluster(name)

    def url(self, port: int | None = None, database: str = "gisserver") -> str:
        primary = self.primary()
        password = primary._secrets()["app_password"]
        return f"postgresql+psycopg://gisserver:{password}@127.0.0.1:{port or primary.port}/{database}"

    def sql(self, statement: str, url: str | None = None, **params):
        engine = create_engine(url or self.url())
        try:
            with engine.begin() as conn:
                result = conn.execute(text(statement), params)
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def app_log(self, port: int) -> str:
        return (self.state_dir / f"app-{port}.log").read_text(errors="replace")

    def app_lines(self, pattern: str) -> list[str]:
        """Request log lines of both app servers matching *pattern* (a regular expression)."""
        found = []
        for port in self.ports["apps"]:
            found += [line for line in self.app_log(port).splitlines()
                      if "gisserver.request" in line and re.search(pattern, line)]
        return found

    def pid(self, name: str) -> int | None:
        try:
            return int((self.state_dir / f"{name}.pid").read_text().split()[0])
        except (OSError, ValueError):
            return None


@pytest.fixture(scope="module")
def topology():
    missing = sorted({package for program, package in PROGRAMS.items() if shutil.which(program) is None})
    if missing:
        pytest.skip(f"Debian package(s) {', '.join(missing)} not installed: scripts/apt-packages.txt lists them, "
                    "`bash scripts/setup.sh install` adds them")
    # Not under pytest's basetemp: other pytest runs on the machine reset it to mode 0700, which would lock the
    # postgres user out of its own data folder mid-test.
    root = Path(tempfile.mkdtemp(prefix="gisserver-topology-"))
    root.chmod(0o755)
    taken: set[int] = set()
    ports = {"primary": free_port(range(5460, 5480), taken), "replica": free_port(range(5460, 5480), taken),
             "pgbouncer": free_port(range(5485, 5500), taken), "nginx": free_port(range(18040, 18100), taken),
             "haproxy": free_port(range(18040, 18100), taken)}
    ports["apps"] = [free_port(range(18040, 18100), taken), free_port(range(18040, 18100), taken)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GISSERVER_", "CLUSTER_"))}
    env.update({
        "GISSERVER_DATA_DIR": str(root / "var"), "GISSERVER_PG_PORT": str(ports["primary"]),
        "CLUSTER_REPLICA_PORT": str(ports["replica"]), "CLUSTER_PGBOUNCER_PORT": str(ports["pgbouncer"]),
        "CLUSTER_APP_PORTS": " ".join(map(str, ports["apps"])), "CLUSTER_HAPROXY_PORT": str(ports["haproxy"]),
        "CLUSTER_PORT": str(ports["nginx"]), "CLUSTER_DEMO": "0", "CLUSTER_WORKERS": "1", **SMALL_CLUSTER_ENV,
        "GISSERVER_INTAKE_RATE_LIMIT": "100000 per minute", "GISSERVER_INTAKE_AREA_RATE_LIMIT": "100000 per minute",
        "GISSERVER_DB_CONNECT_TIMEOUT": "2",
        # Live streams that beat every second and end within half a minute (the live map test waits on one).
        "GISSERVER_LIVE_HEARTBEAT_SECONDS": "1", "GISSERVER_LIVE_MAX_SECONDS": "30",
        # Generous, so that the delayed replica of the read-your-writes test is still "usable", only late.
        "GISSERVER_REPLICA_MAX_LAG_MS": "10000",
        # Two seconds of a cached tile: room for a slow machine between the first request and the second.
        "GISSERVER_TILE_CACHE_SECONDS": "2",
    })
    layout = Layout(root, env, ports)
    try:
        layout.sh("up")
        database = Database(layout.url())
        with database.transaction() as session:
            build_small_city(session)
            layout.planner_token = _token(session, "planner-1", "planner")
            layout.admin_token = _token(session, "admin-1", "admin")
        _public_layer(database, root)
        database.dispose()
        yield layout
    finally:
        if not layout.stopped:
            subprocess.run([str(ROOT / "scripts" / "cluster.sh"), "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def _token(session, username: str, role: str) -> str:
    from gisserver.accounts.users import create_user, issue_token

    user = create_user(session, username, "correct horse battery", [role])
    _, secret = issue_token(session, "cluster-test", user=user)
    return secret


def _public_layer(database: Database, root: Path) -> None:
    from layers.importing import ImportOptions, import_layer

    parcels = gpd.GeoDataFrame({"ma_lo": [f"L{i:02d}" for i in range(9)]},
                               geometry=[box(107.58 + (i % 3) * 0.002, 16.46 + (i // 3) * 0.002,
                                             107.5815 + (i % 3) * 0.002, 16.4615 + (i // 3) * 0.002)
                                         for i in range(9)], crs=4326)
    path = root / "lo.geojson"
    parcels.to_file(path)
    with database.transaction() as session:
        import_layer(session, path, ImportOptions(name="lo-dat", title="Lô đất", category="planning"))


# -- clients ----------------------------------------------------------------------------------------------------


@dataclass
class Filing:
    """What residents filing reports through the balancer saw, shared by their threads."""

    statuses: Counter = field(default_factory=Counter)
    failures: list[tuple[float, str]] = field(default_factory=list)  # (when, what): 5xx and dropped connections
    acknowledged: dict[str, str] = field(default_factory=dict)  # key -> tracking code (201, or 200 replayed)
    created: int = 0
    successes: list[float] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)
    no_retry_after: int = 0  # 503s that did not say when to come back
    lock: threading.Lock = field(default_factory=threading.Lock)

    def successes_after(self, moment: float) -> int:
        return sum(1 for t in self.successes if t > moment)


def _file_one(base: str, filing: Filing) -> None:
    key = uuid.uuid4().hex
    body = {"category": "cap_thoat_nuoc_ngap_ung", "description": "Ngập sâu 40 cm trước nhà",
            "location": {"lon": random.uniform(107.51, 107.59), "lat": random.uniform(16.41, 16.49)}}  # noqa: S311
    give_up = time.monotonic() + 90
    while time.monotonic() < give_up:
        try:
            response = requests.post(f"{base}/api/reports", json=body, headers={"Idempotency-Key": key},
                                     timeout=REQUEST_TIMEOUT)
        except requests.RequestException as exc:
            with filing.lock:
                filing.failures.append((time.monotonic(), type(exc).__name__))
            time.sleep(0.2)
            continue
        with filing.lock:
            filing.statuses[response.status_code] += 1
            if response.status_code in (200, 201):
                filing.acknowledged[key] = response.json()["tracking_code"]
                filing.created += response.status_code == 201
                filing.successes.append(time.monotonic())
                return
            if response.status_code < 500:
                filing.unexpected.append(f"{response.status_code} {response.text[:200]}")
                return
            filing.failures.append((time.monotonic(), str(response.status_code)))
            if response.status_code == 503 and not response.headers.get("Retry-After"):
                filing.no_retry_after += 1
        time.sleep(0.3)  # the same key again, as a well-behaved app does
    filing.unresolved.append(key)


def start_filing(base: str, filing: Filing, stop: threading.Event, clients: int = 4) -> list[threading.Thread]:
    def client():
        while not stop.is_set():
            _file_one(base, filing)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    return threads


def check_every_acknowledged_report_stored_once(layout: Layout, filing: Filing) -> None:
    rows = layout.sql("SELECT idempotency_key, tracking_code FROM reports WHERE idempotency_key IS NOT NULL")
    stored = Counter(key for key, _ in rows)
    codes = dict(rows)
    acknowledged = {f"api:{key}": code for key, code in filing.acknowledged.items()}
    assert {key: codes.get(key) for key in acknowledged} == acknowledged  # stored, under the code given
    assert all(n == 1 for n in stored.values())  # and once
    assert not filing.unexpected and not filing.unresolved, (filing.unexpected[:3], filing.unresolved[:3])
    assert filing.no_retry_after == 0  # the app's 503s and the balancer's both say when to come back
