"""Load test: `gisserver serve` under citizen intake, OGC items, tiles and summaries at once.

    GISSERVER_PG_DATABASE=gisserver_bench .venv/bin/python bench/load.py --port 5120 --duration 60

Needs the demo city in the configured database (`gisserver demo load`, whose user 'leader' opens
the summaries) and the bench extra
(`pip install -e '.[bench]'`, which brings locust). Starts the production server (gunicorn with
`gisserver serve`'s defaults unless --workers/--threads say otherwise) on 127.0.0.1, runs locust
headless for --duration seconds, stops everything, then prints throughput and p50/p95/p99 per
route as a Markdown table and checks that every report answered 201 is in the database.

The intake rate limits are raised for the run (one address sends everything here) but stay
active, so their cost is part of the figures. Load generator and server share this machine's
cores: the figures are a floor for the server alone, and the CPU seconds the app workers and
PostgreSQL spent per request are printed too, since they hold when other programs share the
machine. Clients retry once when the server closes a kept-alive connection under a request, as
browsers do; the count is printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _wait_healthy(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not become healthy in {timeout}s")


def _database_url() -> str:
    from gisserver.core.cluster import resolve_database_url
    from gisserver.core.config import Settings

    return resolve_database_url(Settings.from_env())


def _leader_token(url: str) -> tuple[int, str]:
    """A token of the demo user 'leader' for the summaries (revoked after the run)."""
    from gisserver.accounts.users import get_user, issue_token
    from gisserver.core.db import Database

    database = Database(url)
    try:
        with database.transaction() as session:
            token, secret = issue_token(session, "load-test", user=get_user(session, "leader"))
        return token.id, secret
    finally:
        database.dispose()


def _revoke(url: str, token_id: int) -> None:
    from gisserver.accounts.users import revoke_token
    from gisserver.core.db import Database

    database = Database(url)
    try:
        with database.transaction() as session:
            revoke_token(session, token_id)
    finally:
        database.dispose()


def _cpu_seconds(processes) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


def _server_processes(pid: int) -> list:
    master = psutil.Process(pid)
    return [master, *master.children(recursive=True)]


def _database_backends(url: str) -> list:
    """PostgreSQL backends serving the database at *url*: the children of the postmaster listening on its port
    (other clusters on the machine may hold a database of the same name), or, when that postmaster cannot be
    found, every backend whose process title names the database."""
    parsed = make_url(url)
    for process in psutil.process_iter(["name", "cmdline"]):
        command = process.info["cmdline"] or [""]
        if process.info["name"] != "postgres" or command[0].startswith("postgres:"):
            continue  # not a postmaster (backends' titles start "postgres: ")
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == (parsed.port or 5432)
                   for c in process.net_connections(kind="tcp")):
                return [child for child in process.children() if "postgres: " in " ".join(child.cmdline())
                        and f" {parsed.database} " in " ".join(child.cmdline())]
        except psutil.Error:
            continue
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if title.startswith("postgres: ") and f" {parsed.database} " in title:
            found.append(process)
    return found


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _stats(prefix: Path) -> list[dict]:
    with open(f"{prefix}_stats.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _table(rows: list[dict], duration: float) -> str:
    lines = ["| route | requests | failures | req/s | p50 ms | p95 ms | p99 ms |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "**all routes**"
        lines.append(
            f"| {name} | {row['Request Count']} | {row['Failure Count']} | "
            f"{int(row['Request Count']) / duration:.1f} | {row['50%']} | {row['95%']} | {row['99%']} |"
        )
    return "\n".join(lines)


def _missing_reports(url: str, keys: list[str]) -> int:
    """How many reports answered 201 are not in the database (the API channel prefixes its keys)."""
    if not keys:
        return 0
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT count(*) FROM reports WHERE idempotency_key = ANY(:keys)"),
                {"keys": [f"api:{k}" for k in keys]},
            ).scalar_one()
    finally:
        engine.dispose()
    return len(keys) - found


@dataclass
class LocustRun:
    rows: list[dict]  # locust's per-route statistics, the aggregate last
    outcome: dict  # keys of the reports answered 201, and the retried requests
    elapsed: float


def run_locust(host: str, args, duration: int, tmp: Path, env: dict, leader_secret: str | None) -> LocustRun:
    """The flood-day mix against *host* for *duration* seconds (locust headless, in this machine's cores)."""
    prefix = tmp / "locust"
    outcome_file = tmp / "outcome.json"
    locust_env = dict(env, BENCH_OUTCOME=str(outcome_file))
    if leader_secret:
        locust_env["BENCH_SUMMARY_ROUTE"] = args.summary_route
        locust_env["BENCH_LEADER_TOKEN"] = leader_secret
    started = time.monotonic()
    subprocess.run(
        [str(BIN / "locust"), "-f", str(HERE / "locustfile.py"), "--headless", "--host", host,
         "-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{duration}s", "--stop-timeout", "10",
         "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", *(args.only or [])],
        env=locust_env, check=False, timeout=duration + 120,
    )
    elapsed = time.monotonic() - started
    outcome = json.loads(outcome_file.read_text()) if outcome_file.exists() else {"created": [], "retried": 0}
    return LocustRun(_stats(prefix), outcome, elapsed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The load's own options, shared with bench/topology.py."""
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (bounded: at most 600)")
    parser.add_argument("--users", type=int, default=60, help="concurrent simulated users")
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers [serve's default]")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker [serve's default]")
    parser.add_argument("--only", nargs="+", choices=["Resident", "MapViewer", "Leader"], default=None,
                        help="run only these kinds of users (to see one route's cost)")
    parser.add_argument("--summary-route", default="/api/summaries/{area}",
                        help="GET route template of area summaries, {area} a ward code [%(default)s]")
    parser.add_argument("--no-summaries", action="store_true", help="leaders list the wards instead")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5120)
    add_arguments(parser)
    args = parser.parse_args(argv)
    duration = max(5, min(args.duration, 600))

    url = _database_url()
    env = dict(os.environ, GISSERVER_INTAKE_RATE_LIMIT="1000000 per minute",
               GISSERVER_INTAKE_AREA_RATE_LIMIT="1000000 per minute", GISSERVER_LOG_LEVEL="WARNING")
    serve = [str(BIN / "gisserver"), "serve", "--host", "127.0.0.1", "--port", str(args.port)]
    if args.workers:
        serve += ["--workers", str(args.workers)]
    if args.threads:
        serve += ["--threads", str(args.threads)]
    host = f"http://127.0.0.1:{args.port}"

    with tempfile.TemporaryDirectory(prefix="gisserver-load-") as tmp:
        token_id = secret = None
        if not args.no_summaries:
            token_id, secret = _leader_token(url)
        log_path = Path(tmp) / "serve.log"
        with log_path.open("w") as log:
            server = subprocess.Popen(serve, env=env, stdout=subprocess.DEVNULL, stderr=log)
            try:
                _wait_healthy(f"{host}/health")
                app_cpu = _cpu_seconds(_server_processes(server.pid))
                db_cpu = _cpu_seconds(_database_backends(url))
                load_cpu = _children_cpu()
                run = run_locust(host, args, duration, Path(tmp), env, secret)
                # Measured before the server stops: its pooled database connections are still open.
                app_cpu = _cpu_seconds(_server_processes(server.pid)) - app_cpu
                db_cpu = _cpu_seconds(_database_backends(url)) - db_cpu
                load_cpu = _children_cpu() - load_cpu
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    server.kill()
        kept_log = Path(tempfile.gettempdir()) / "gisserver-load-serve.log"
        shutil.copy(log_path, kept_log)
        errors = [line for line in log_path.read_text(errors="replace").splitlines()
                  if any(level in line for level in (" ERROR ", "[ERROR]", "[CRITICAL]", "[WARNING]"))]
        rows, outcome, elapsed = run.rows, run.outcome, run.elapsed
        keys = outcome["created"]

    if token_id is not None:
        _revoke(url, token_id)
    missing = _missing_reports(url, keys)
    workers = args.workers or 2 * (os.cpu_count() or 1) + 1
    print(f"\n{args.users} users for {duration}s against gisserver serve ({workers} workers, "
          f"{args.threads or 4} threads) on {os.cpu_count()} cores shared with the load generator; "
          f"wall {elapsed:.0f}s\n")
    print(_table(rows, duration))
    total_cpu = app_cpu + db_cpu + load_cpu
    print(f"\nCPU seconds over the run: app workers {app_cpu:.0f} ({app_cpu / total_cpu:.0%}), "
          f"PostgreSQL backends {db_cpu:.0f} ({db_cpu / total_cpu:.0%}), load generator {load_cpu:.0f} "
          f"({load_cpu / total_cpu:.0%}); load average at the end {os.getloadavg()[0]:.1f}")
    answered = int(rows[-1]["Request Count"]) or 1
    print(f"per request: {1000 * app_cpu / answered:.1f} ms of app CPU, {1000 * db_cpu / answered:.1f} ms of "
          f"PostgreSQL CPU (less sensitive than wall-clock figures to other programs on the cores)")
    print(f"\nreports answered 201: {len(keys)}; missing from the database: {missing}; requests retried once "
          f"after the server closed a kept-alive connection under them: {outcome['retried']}")
    if errors:
        print(f"server logged {len(errors)} errors (whole log in {kept_log}), the last ones:", *errors[-5:],
              sep="\n  ")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
