"""The flood-day mix of bench/load.py through the multi-server layout and against one server, on this machine.

    export GISSERVER_DATA_DIR=$PWD/var-bench GISSERVER_PG_PORT=5470 CLUSTER_REPLICA_PORT=5471 \\
           CLUSTER_PGBOUNCER_PORT=5472 CLUSTER_APP_PORTS="18011 18012" CLUSTER_HAPROXY_PORT=18013 CLUSTER_PORT=18010
    .venv/bin/python bench/topology.py --duration 60 --users 60 --workers 4

Brings the layout up with `scripts/cluster.sh up` (the demo city is loaded into an empty database; `down` is left
to you), then runs the same load on the same database against: one `gisserver serve` with --workers workers
straight on the primary; HAProxy -> two app servers of --workers/2 workers each -> PgBouncer and the replica (the
layout's own cost); and nginx with its tile cache in front of that (the layout as clients meet it). --rounds
repeats the three, alternating their order. Prints one table of all runs (req/s, p50/p95/p99, failures, CPU per
request in the app servers, PostgreSQL and the proxies, replica lag during the run) and the statements each engine
ran, counted by pg_stat_statements (reset before each run), to show which reads moved to the replica.

Needs the bench extra (`pip install -e '.[bench]'`) and pg_stat_statements loaded, which the private cluster
does from its next start (`scripts/cluster.sh down` and `up` once, if the cluster was started before that).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "scripts")]

import cluster as layout_script  # noqa: E402 - scripts/cluster.py, the layout's own code
import load  # noqa: E402 - bench/load.py

_TILE_LINE = re.compile(r'"GET /ogc/collections/[^/]+/tiles/[^"]*" \d+ (\S+) ')
LIMITS = {"GISSERVER_INTAKE_RATE_LIMIT": "1000000 per minute", "GISSERVER_INTAKE_AREA_RATE_LIMIT": "1000000 per minute",
          "GISSERVER_LOG_LEVEL": "WARNING"}
_STATEMENTS = """
SELECT coalesce(sum(s.calls), 0)::bigint AS statements,
       coalesce(sum(s.calls) FILTER (WHERE s.query ~* '^\\s*(select|with|show)\\y'
                                     AND s.query !~* '\\y(insert|update|delete)\\y'), 0)::bigint AS reads
FROM pg_stat_statements s
JOIN pg_roles r ON r.oid = s.userid
JOIN pg_database d ON d.oid = s.dbid
WHERE r.rolname = 'gisserver' AND d.datname = %s
"""


@dataclass
class Measured:
    name: str
    run: load.LocustRun
    cpu: dict[str, float]  # seconds: app, postgres, proxies
    statements: dict[str, tuple[int, int]]  # engine -> (statements, reads)
    lag: list[float] = field(default_factory=list)
    tile_cache: Counter = field(default_factory=Counter)  # nginx's cache status of each tile request


def _tree_cpu(pids) -> float:
    processes = []
    for pid in pids:
        try:
            master = psutil.Process(pid)
            processes += [master, *master.children(recursive=True)]
        except psutil.Error:
            pass
    return load._cpu_seconds(processes)


class LagSampler(threading.Thread):
    """The replica's replay lag, as the primary measures it (pg_stat_replication), every half second."""

    def __init__(self, primary, replica_name: str):
        super().__init__(daemon=True)
        self.primary, self.name, self.samples, self.stop = primary, replica_name, [], threading.Event()

    def run(self):
        with psycopg.connect(self.primary._dsn(), autocommit=True) as conn:
            while not self.stop.is_set():
                row = conn.execute("SELECT coalesce(extract(epoch FROM replay_lag), 0) FROM pg_stat_replication "
                                   "WHERE application_name = %s", (self.name,)).fetchone()
                if row:
                    self.samples.append(float(row[0]))
                time.sleep(0.5)


def _pg_stat_statements(cluster, database: str, reset: bool) -> tuple[int, int]:
    with psycopg.connect(cluster._dsn(database), autocommit=True) as conn:
        loaded = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()[0]
        if "pg_stat_statements" not in loaded:
            raise SystemExit(f"pg_stat_statements is not loaded on port {cluster.port}: restart the layout once "
                             "(scripts/cluster.sh down, then up)")
        if not cluster.is_standby:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        if reset:
            conn.execute("SELECT pg_stat_statements_reset()")
            return 0, 0
        row = conn.execute(_STATEMENTS, (database,)).fetchone()
        return int(row[0]), int(row[1])


def measure(name: str, host: str, app_pids, proxy_pids, topology, args, duration: int, secret: str,
            env: dict) -> Measured:
    primary, replica = topology.primary(), topology._standby()
    engines = {"primary": primary, "replica": replica}
    database = primary.database
    for cluster in engines.values():
        _pg_stat_statements(cluster, database, reset=True)
    # One server alone has no replica: only the primary's processes count for it (its WAL sender included).
    postgres = [primary._live_pid(), *([replica._live_pid()] if proxy_pids else [])]
    before = {"app": _tree_cpu(app_pids), "postgres": _tree_cpu(postgres), "proxies": _tree_cpu(proxy_pids)}
    sampler = LagSampler(primary, replica.data_dir.name)
    sampler.start()
    access_log = topology.state_dir / "nginx" / "access.log"
    log_start = access_log.stat().st_size if access_log.exists() else 0
    with tempfile.TemporaryDirectory(prefix="gisserver-topology-bench-") as tmp:
        run = load.run_locust(host, args, duration, Path(tmp), env, secret)
    sampler.stop.set()
    sampler.join(timeout=5)
    tile_cache = Counter()
    if host == topology.layout.base_url and access_log.exists():
        with access_log.open("rb") as fh:
            fh.seek(log_start)
            for line in fh.read().decode(errors="replace").splitlines():
                found = _TILE_LINE.search(line)
                if found:
                    tile_cache[found.group(1)] += 1
    cpu = {"app": _tree_cpu(app_pids) - before["app"], "postgres": _tree_cpu(postgres) - before["postgres"],
           "proxies": _tree_cpu(proxy_pids) - before["proxies"]}
    statements = {label: _pg_stat_statements(cluster, database, reset=False) for label, cluster in engines.items()}
    return Measured(name, run, cpu, statements, sampler.samples, tile_cache)


def _requests(m: Measured) -> int:
    return int(m.run.rows[-1]["Request Count"])


def _row(m: Measured, duration: int) -> str:
    total = m.run.rows[-1]
    requests = int(total["Request Count"]) or 1
    ms = {k: 1000 * v / requests for k, v in m.cpu.items()}
    lag = f"{max(m.lag):.2f} s max, {statistics.mean(m.lag):.3f} s mean" if m.lag else "-"
    return (f"| {m.name} | {requests / duration:.1f} | {total['50%']} | {total['95%']} | {total['99%']} | "
            f"{total['Failure Count']} | {ms['app']:.1f} | {ms['postgres']:.1f} | {ms['proxies']:.1f} | {lag} |")


def single_run(topology, args, duration, workers, threads, secret, env, direct) -> Measured:
    """One server, straight on the primary: no pooler, no replica, no proxy."""
    single_env = {k: v for k, v in env.items() if not k.startswith("GISSERVER_DATABASE_")}
    single_env["GISSERVER_DATABASE_URL"] = direct
    server = subprocess.Popen([str(load.BIN / "gisserver"), "serve", "--port", str(args.port), "--workers",
                               str(workers), "--threads", str(threads)], env=single_env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        load._wait_healthy(f"http://127.0.0.1:{args.port}/health")
        return measure(f"one server ({workers} workers)", f"http://127.0.0.1:{args.port}", [server.pid], [],
                       topology, args, duration, secret, env)
    finally:
        server.terminate()
        server.wait(timeout=30)


def layout_run(topology, args, duration, workers, threads, secret, env, direct) -> Measured:
    """Through nginx (the tile cache) and everything behind it."""
    apps = [topology.running(f"app-{port}") for port in topology.layout.app_ports]
    proxies = [topology.running(name) for name in ("pgbouncer", "haproxy", "nginx")]
    return measure(f"layout via nginx ({len(apps)} x {max(1, workers // 2)} workers)", topology.layout.base_url,
                   apps, proxies, topology, args, duration, secret, env)


def balancer_run(topology, args, duration, workers, threads, secret, env, direct) -> Measured:
    """Through HAProxy, past the tile cache: what the balancer, the pooler and the replica cost by themselves."""
    apps = [topology.running(f"app-{port}") for port in topology.layout.app_ports]
    proxies = [topology.running(name) for name in ("pgbouncer", "haproxy")]
    return measure(f"layout via HAProxy, no tile cache ({len(apps)} x {max(1, workers // 2)} workers)",
                   f"http://127.0.0.1:{topology.layout.haproxy_port}", apps, proxies, topology, args, duration,
                   secret, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5130, help="the single server's port")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, alternating which goes first")
    load.add_arguments(parser)
    args = parser.parse_args(argv)
    duration = max(5, min(args.duration, 600))
    workers = args.workers or 4
    threads = args.threads or 4

    env = dict(os.environ, **LIMITS, CLUSTER_WORKERS=str(max(1, workers // 2)), CLUSTER_THREADS=str(threads))
    subprocess.run([str(ROOT / "scripts" / "cluster.sh"), "up"], env=env, check=True)
    os.environ.update(env)
    topology = layout_script.Topology(layout_script.Layout())
    primary = topology.primary()
    direct = primary.url()
    token_id, secret = (None, None) if args.no_summaries else load._leader_token(direct)
    results = []
    try:
        for round_number in range(args.rounds):
            # Alternate which goes first: other work on the machine then weighs on both alike.
            order = [single_run, balancer_run, layout_run]
            order = order if round_number % 2 == 0 else order[::-1]
            for run in order:
                results.append(run(topology, args, duration, workers, threads, secret, env, direct))
    finally:
        if token_id is not None:
            load._revoke(direct, token_id)

    print(f"\n{args.users} users for {duration} s a run, {threads} threads per worker, on {os.cpu_count()} cores "
          f"shared with the load generator; load average at the end {os.getloadavg()[0]:.1f}\n")
    print("| layout | req/s | p50 ms | p95 ms | p99 ms | failures | app CPU ms/req | PostgreSQL CPU ms/req "
          "| proxies CPU ms/req | replica lag |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for m in results:
        print(_row(m, duration))
    single = sum(_requests(m) for m in results if m.name.startswith("one"))
    for kind in ("layout via HAProxy", "layout via nginx"):
        ratio = sum(_requests(m) for m in results if m.name.startswith(kind)) / max(1, single) - 1
        print(f"\nrequests answered, {kind} against one server, all rounds: {ratio:+.1%}")
    print("\n| layout | engine | statements | reads among them |\n|---|---|---:|---:|")
    for m in results:
        for engine, (count, reads) in m.statements.items():
            print(f"| {m.name} | {engine} | {count} | {reads} |")
    for m in results:
        if m.tile_cache:
            total = sum(m.tile_cache.values())
            shares = ", ".join(f"{status} {n / total:.0%}" for status, n in m.tile_cache.most_common())
            print(f"\n{m.name}: tile requests answered by the cache: {shares} (of {total})")
    for m in results:
        print(f"\n{m.name}, per route:\n{load._table(m.run.rows, duration)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
