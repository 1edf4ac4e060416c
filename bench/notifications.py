"""Benchmark of notifications: a flood-day burst through the outbox and `gisserver worker` to a local SMTP server
and a local HTTP receiver, and what the outbox costs intake.

    GISSERVER_DATA_DIR=... .venv/bin/python bench/notifications.py [--events 10000] [--rate 100] [--workers 1]

It builds its own database (gisserver_bench_notify on the private cluster, or --url): two wards, their units,
one duty mailbox for the ward police and one webhook subscriber, so every report filed makes two deliveries
(an email and a signed webhook). Then:

1. intake with the outbox off and on, alternating rounds of POST /api/reports through the app (in process,
   so the figure is the server's own cost), requests per second of each;
2. the burst: --events reports committed at --rate per second, each in its own transaction, while --workers
   `gisserver worker` processes deliver them; for every delivery, the time from the report's commit to its
   arrival at the SMTP server or the receiver;
3. the drain: --drain reports filed with no worker running, then one worker started: how many deliveries a
   second it sends when nothing else runs and work is waiting (its capacity; the burst's own rate is capped by
   the rate it is fed at).
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402
from shapely.geometry import box  # noqa: E402
from sqlalchemy import text  # noqa: E402

from gisserver.app import create_app  # noqa: E402
from gisserver.core.cluster import private_cluster  # noqa: E402
from gisserver.core.config import Settings  # noqa: E402
from gisserver.core.db import Database  # noqa: E402
from gisserver.migrate import upgrade  # noqa: E402
from reports.areas.service import import_areas  # noqa: E402
from reports.areas.units import provision_ward_units  # noqa: E402
from reports.intake.submit import ReportInput, submit_report  # noqa: E402
from reports.notifications import outbox  # noqa: E402
from reports.notifications.admin import add_duty_contact, add_webhook  # noqa: E402
from reports.workflow.categories import ensure_default_categories  # noqa: E402

DATABASE = "gisserver_bench_notify"
GISSERVER = Path(sys.executable).parent / "gisserver"
WEST = (107.55, 16.42)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Arrivals:
    """delivery key -> arrival time, from both servers."""

    def __init__(self):
        self.times: dict[str, float] = {}
        self.repeats = 0
        self.lock = threading.Lock()

    def add(self, key: str) -> None:
        now = time.time()
        with self.lock:
            if key in self.times:
                self.repeats += 1
            self.times.setdefault(key, now)


class Mailbox:
    """The SMTP server's handler. It reads only the Message-ID: it stands in for a remote mail server, and parsing
    whole messages here took CPU from the worker under test on the same two cores (the tests read them in full)."""

    MESSAGE_ID = re.compile(rb"^Message-ID:\s*<([^.>]+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self, arrivals: Arrivals):
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.arrivals.add(self.MESSAGE_ID.search(envelope.content).group(1).decode())
        return "250 OK"


def receiver(arrivals: Arrivals) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrivals.add(self.headers["X-Gisserver-Delivery"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def build(url: str, hook_url: str) -> None:
    upgrade(url)
    database = Database(url)
    with database.transaction() as session:
        frame = lambda rows: gpd.GeoDataFrame([{k: v for k, v in r.items() if k != "geom"} for r in rows],  # noqa: E731
                                              geometry=[r["geom"] for r in rows], crs=4326)
        import_areas(session, frame([{"code": "B", "name": "Thành phố", "geom": box(107.5, 16.4, 107.7, 16.5)}]),
                     level="city")
        import_areas(session, frame([
            {"code": "B-W", "name": "Phường Tây", "parent": "B", "geom": box(107.5, 16.4, 107.6, 16.5)},
            {"code": "B-E", "name": "Phường Đông", "parent": "B", "geom": box(107.6, 16.4, 107.7, 16.5)}]),
            level="ward", parent_code_col="parent")
        ensure_default_categories(session)
        provision_ward_units(session)
        add_duty_contact(session, "B-W-CA", "email", "truc-ban@ca.example.vn")
        add_webhook(session, "ioc", hook_url, kinds=["report_filed"], allow_private=True)
    database.dispose()


def clear(url: str) -> None:
    database = Database(url)
    with database.transaction() as session:
        session.execute(text("TRUNCATE reports, notification_events, procrastinate_jobs, procrastinate_events, "
                             "procrastinate_periodic_defers, notification_channel_budgets RESTART IDENTITY CASCADE"))
    database.dispose()


def intake_rates(url: str, requests_per_round: int, rounds: int) -> dict[str, float]:
    """Requests per second of POST /api/reports with the outbox off and on: each mode's requests over its time.

    The rounds are short and go off, on, on, off, ... so that a drift over the run (each report makes the next
    duplicate check see one more) and the machine's own hiccups (a checkpoint, another process) weigh on both modes
    alike; the points are spread over the ward as in the burst. Each off-on-on-off block also gives its own ratio:
    their quartiles show how steady the figure is.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    app = create_app({"DATABASE_URL": url, "DATA_DIR": data_dir, "INTAKE_RATE_LIMIT": "1000000 per minute",
                      "INTAKE_AREA_RATE_LIMIT": "1000000 per minute"})
    logging.getLogger("gisserver.request").setLevel(logging.WARNING)  # a line per request is the bench's cost
    client = app.test_client()
    seconds = {"off": [], "on": []}
    count = 0

    def body() -> dict:
        nonlocal count
        count += 1
        return {"category": "gay_roi", "description": "Ồn ào giữa đêm ở chợ",
                "location": {"lon": WEST[0] + (count % 97) * 1e-4, "lat": WEST[1] + (count % 89) * 1e-4}}

    for _ in range(20):  # warm-up
        client.post("/api/reports", json=body())
    for round_ in range(rounds * 2):
        mode = ("off", "on", "on", "off")[round_ % 4]
        outbox.set_enabled(mode == "on")
        started = time.perf_counter()
        for _ in range(requests_per_round):
            resp = client.post("/api/reports", json=body())
            if resp.status_code != 201:
                raise SystemExit(f"intake refused a report: {resp.get_json()}")
        seconds[mode].append(time.perf_counter() - started)
    outbox.set_enabled(None)
    logging.getLogger("gisserver.request").setLevel(logging.NOTSET)
    app.extensions["gisserver.db"].dispose()
    blocks = [sum(seconds["off"][i:i + 2]) / sum(seconds["on"][i:i + 2]) - 1
              for i in range(0, len(seconds["off"]) - 1, 2)]
    if len(blocks) >= 2:
        low, mid, high = statistics.quantiles(blocks, n=4)
        print(f"intake: {rounds} rounds of {requests_per_round} requests per mode; the change in each of the "
              f"{len(blocks)} off-on-on-off blocks: quartiles {low * 100:+.1f}% / {mid * 100:+.1f}% / "
              f"{high * 100:+.1f}%, from {min(blocks) * 100:+.1f}% to {max(blocks) * 100:+.1f}%", flush=True)
    return {mode: len(times) * requests_per_round / sum(times) for mode, times in seconds.items()}


def burst(url: str, events: int, rate: float, threads: int) -> dict[int, float]:
    """File *events* reports at *rate* per second; returns report id -> commit time."""
    database = Database(url, pool_size=threads + 2)
    committed: dict[int, float] = {}
    lock = threading.Lock()
    started = time.monotonic()

    def filer(offset: int) -> None:
        for i in range(offset, events, threads):
            due = started + i / rate
            if (pause := due - time.monotonic()) > 0:
                time.sleep(pause)
            with database.transaction() as session:
                report, _ = submit_report(session, ReportInput(
                    category="gay_roi", description=f"Ngập sâu đoạn số {i}", lon=WEST[0] + (i % 97) * 1e-4,
                    lat=WEST[1] + (i % 89) * 1e-4, channel="api"), actor="bench")
                report_id = report.id
            with lock:
                committed[report_id] = time.time()

    workers = [threading.Thread(target=filer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    print(f"filed {events} reports in {elapsed:.1f} s ({events / elapsed:.1f}/s)", flush=True)
    database.dispose()
    return committed


def start_workers(url: str, smtp_port: int, count: int, concurrency: int, log) -> list[subprocess.Popen]:
    env = dict(os.environ, GISSERVER_DATABASE_URL=url, GISSERVER_SMTP_HOST="127.0.0.1",
               GISSERVER_SMTP_PORT=str(smtp_port), GISSERVER_SMTP_SECURITY="none",
               GISSERVER_NOTIFY_RATE_CAPS="email=100000,webhook=100000", GISSERVER_LOG_LEVEL="WARNING",
               GISSERVER_DEADLINE_WARNING_HOURS="0")
    return [subprocess.Popen([str(GISSERVER), "worker", "--concurrency", str(concurrency)], env=env,
                             stdout=log, stderr=log) for _ in range(count)]


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        w.wait(timeout=60)


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (user, nice, system, irq, softirq; Linux /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in Path("/proc/stat").read_text()
                                                        .split("\n", 1)[0].split()[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def drain(url: str, reports: int, arrivals: Arrivals, smtp_port: int, concurrency: int, log) -> None:
    """File *reports* with no worker running, then start one and time it until every delivery arrived."""
    clear(url)
    arrivals.times.clear()
    arrivals.repeats = 0
    burst(url, reports, rate=1e9, threads=4)
    busy, started = _machine_busy_seconds(), time.monotonic()
    workers = start_workers(url, smtp_port, 1, concurrency, log)
    try:
        while len(arrivals.times) < 2 * reports and time.monotonic() - started < max(120.0, reports / 10):
            time.sleep(0.05)
    finally:
        worker_cpu = _cpu_seconds(workers[0].pid)
        busy = _machine_busy_seconds() - busy
        stop_workers(workers)
    times = sorted(arrivals.times.values())
    count = len(times)
    span = (times[-1] - times[0]) if count > 1 else float("nan")
    print(f"drain: {count} of {2 * reports} deliveries waiting for one worker arrived in {span:.1f} s "
          f"({count / span:.1f} a second), {arrivals.repeats} twice; its CPU {worker_cpu / max(count, 1) * 1000:.2f} "
          f"ms a delivery (start-up included), the whole machine's {busy / max(count, 1) * 1000:.2f} ms")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0, help="reports committed per second")
    parser.add_argument("--workers", type=int, default=1, help="`gisserver worker` processes")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="jobs each worker runs at once (8: `gisserver worker`'s own default)")
    parser.add_argument("--intake-requests", type=int, default=50, help="requests per intake round")
    parser.add_argument("--intake-rounds", type=int, default=24, help="rounds of each mode (off, on, on, off, ...)")
    parser.add_argument("--drain", type=int, default=3000, help="reports waiting for one worker (0: no drain)")
    parser.add_argument("--url", help="an existing PostGIS database instead of one on the private cluster")
    args = parser.parse_args()

    settings = Settings.from_env()
    url = args.url
    if not url:
        cluster = private_cluster(settings)
        cluster.up()
        url = cluster.recreate_database(DATABASE)
    arrivals = Arrivals()
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    smtp = Controller(Mailbox(arrivals), hostname="127.0.0.1", port=free_port())
    smtp.start()
    hook = receiver(arrivals)
    build(url, f"http://127.0.0.1:{hook.server_address[1]}/hook")

    load_before = os.getloadavg()
    rates = intake_rates(url, args.intake_requests, args.intake_rounds)
    print(f"intake: {rates['off']:.1f} req/s with the outbox off, {rates['on']:.1f} with it on "
          f"({(rates['on'] / rates['off'] - 1) * 100:+.1f}%)", flush=True)
    clear(url)

    log = open(Path(tempfile.gettempdir()) / "bench-notify-worker.log", "w")  # noqa: SIM115
    workers = start_workers(url, smtp.port, args.workers, args.concurrency, log)
    try:
        time.sleep(2.0)  # the workers are listening
        committed = burst(url, args.events, args.rate, threads=4)
        expected = 2 * args.events
        deadline = time.monotonic() + max(120.0, args.events / 20)
        while len(arrivals.times) < expected and time.monotonic() < deadline:
            time.sleep(0.5)
    finally:
        worker_cpu = sum(_cpu_seconds(w.pid) for w in workers)
        stop_workers(workers)
    database = Database(url)
    with database.transaction() as session:
        rows = session.execute(text("SELECT d.id, e.subject_id FROM notification_deliveries d "
                                    "JOIN notification_events e ON e.id = d.event_id "
                                    "WHERE e.kind = 'report_filed'")).all()
        states = dict(session.execute(text("SELECT status, count(*) FROM notification_deliveries "
                                           "GROUP BY status")).all())
    database.dispose()
    latencies = [arrivals.times[f"dlv-{d}"] - committed[r] for d, r in rows
                 if f"dlv-{d}" in arrivals.times and r in committed]
    times = sorted(arrivals.times.values())
    span = (times[-1] - times[0]) if len(times) > 1 else float("nan")
    print()
    print("| events | rate/s | workers | deliveries | arrived | repeats | p50 s | p95 s | max s | deliveries/s "
          "per worker | intake req/s off | on | change |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.events} | {args.rate:.0f} | {args.workers} | {len(rows)} | {len(arrivals.times)} | "
          f"{arrivals.repeats} | {percentile(latencies, 0.5):.2f} | {percentile(latencies, 0.95):.2f} | "
          f"{max(latencies):.2f} | {len(times) / span / args.workers:.1f} | {rates['off']:.1f} | {rates['on']:.1f} | "
          f"{(rates['on'] / rates['off'] - 1) * 100:+.1f}% |")
    print(f"delivery states: {states}")
    print(f"worker CPU: {worker_cpu:.0f} s for {len(arrivals.times)} deliveries and their {len(rows) // 2} fan-outs "
          f"({worker_cpu / max(len(arrivals.times), 1) * 1000:.1f} ms a delivery; PostgreSQL's share not counted)")
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores; load average (1/5/15 min) {load_before[0]:.1f}/{load_before[1]:.1f}/"
          f"{load_before[2]:.1f} before the intake rounds, {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f} after the burst")
    p95, change = percentile(latencies, 0.95), rates["on"] / rates["off"] - 1
    print(f"target p95 < 10 s from commit to delivery: {'met' if p95 < 10 else 'NOT met'} ({p95:.2f} s); "
          f"intake with the outbox within 10% of without: {'met' if change > -0.10 else 'NOT met'} "
          f"({change * 100:+.1f}%)")
    if args.drain:
        drain(url, args.drain, arrivals, smtp.port, args.concurrency, log)
    smtp.stop()
    hook.shutdown()


if __name__ == "__main__":
    main()
