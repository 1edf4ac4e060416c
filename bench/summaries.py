"""Benchmark of the leaders' summaries: a city summary and a ward drill-down, warm, p50/p95.

    GISSERVER_DATA_DIR=... .venv/bin/python bench/summaries.py [--reports 1000000] [--dossiers 200000]

It builds its own database (gisserver_bench_summaries on the private cluster, or --url): the demo city's
areas (40 wards and their residential groups) through the services, then reports and dossiers spread
over the last year, written by SQL in bulk (the rollup triggers aggregate each bulk statement once).
Then it times the service calls and the HTTP endpoints and prints a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402

from gisserver.accounts.users import Principal  # noqa: E402
from gisserver.app import create_app
from gisserver.core.cluster import private_cluster  # noqa: E402
from gisserver.core.config import Settings  # noqa: E402
from gisserver.core.db import Database  # noqa: E402
from gisserver.migrate import upgrade  # noqa: E402

DATABASE = "gisserver_bench_summaries"
CHUNK = 250_000

# Reports: a skewed choice of residential group (town centre busier), of category, channel and outcome.
REPORTS_SQL = """
INSERT INTO reports (tracking_code, category_id, description, geom, area_filed_id, area_current_id, unit_id,
                     status, channel, created_at, due_at, acknowledged_at, closed_at, updated_at)
SELECT 'B' || lpad(to_hex(:offset + s.i), 11, '0'), c.id, 'bench', g.pt, g.id, g.id,
       CASE WHEN c.unit_type = 'ward_police' THEN g.police ELSE g.committee END,
       x.status, x.channel, x.created, x.created + make_interval(hours => c.deadline_hours),
       x.created + interval '1 hour', x.closed, coalesce(x.closed, x.created)
FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6
      FROM generate_series(1, :n) i) s
JOIN bench_groups g ON g.idx = 1 + floor(power(s.r1, 1.6) * (SELECT count(*) FROM bench_groups))::int
JOIN bench_categories c ON c.idx = 1 + floor(power(s.r2, 1.3) * (SELECT count(*) FROM bench_categories))::int
CROSS JOIN LATERAL (SELECT now() - s.r3 * interval '365 days' AS created,
                           make_interval(hours => c.deadline_hours) AS span) t
CROSS JOIN LATERAL (
    SELECT t.created,
           (ARRAY['qr_web', 'qr_web', 'api', 'phone', 'open311'])[1 + floor(s.r6 * 5)::int] AS channel,
           CASE WHEN s.r5 < 0.015 THEN NULL  -- forgotten: the backlog
                ELSE t.created + t.span * CASE WHEN s.r4 < 0.12 THEN 1.05 + s.r4 * 12 ELSE 0.2 + s.r4 * 0.8 END
           END AS closing,
           CASE WHEN s.r5 < 0.055 THEN 'rejected' ELSE 'resolved' END AS outcome
) y
CROSS JOIN LATERAL (
    SELECT y.created, y.channel,
           CASE WHEN y.closing IS NULL OR y.closing > now() THEN NULL ELSE y.closing END AS closed,
           CASE WHEN y.closing IS NULL OR y.closing > now() THEN 'in_progress' ELSE y.outcome END AS status
) x
"""

DOSSIERS_SQL = """
INSERT INTO dossiers (code, procedure, area_id, received_at, due_at, finished_at, channel, status)
SELECT 'HS-' || lpad((:offset + s.i)::text, 9, '0'), (ARRAY['Chứng thực', 'Khai sinh', 'Hộ kinh doanh',
       'Giấy phép xây dựng', 'Biến động đất đai'])[1 + floor(s.r4 * 5)::int], w.id, x.received,
       x.received + make_interval(days => x.days), x.finished,
       CASE WHEN s.r3 < 0.76 THEN 'online' ELSE 'offline' END,
       CASE WHEN x.finished IS NULL THEN 'in_progress' ELSE 'finished' END
FROM (SELECT i, random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
      FROM generate_series(1, :n) i) s
JOIN bench_wards w ON w.idx = 1 + floor(power(s.r1, 1.5) * (SELECT count(*) FROM bench_wards))::int
CROSS JOIN LATERAL (SELECT now() - s.r2 * interval '365 days' AS received, 1 + floor(s.r4 * 10)::int AS days) d
CROSS JOIN LATERAL (
    SELECT d.received, d.days,
           CASE WHEN d.received + make_interval(days => d.days) * (CASE WHEN s.r5 < 0.04 THEN 1.5 ELSE 0.9 END) > now()
                THEN NULL
                ELSE d.received + make_interval(days => d.days) * (CASE WHEN s.r5 < 0.04 THEN 1.5 ELSE s.r5 * 0.9 END)
           END AS finished
) x
"""

HELPERS_SQL = [
    """CREATE TABLE IF NOT EXISTS bench_groups AS
       SELECT row_number() OVER (ORDER BY a.code) AS idx, a.id, ST_PointOnSurface(a.geom) AS pt,
              (SELECT id FROM units u WHERE u.area_id = a.parent_id AND u.unit_type = 'ward_police') AS police,
              (SELECT id FROM units u WHERE u.area_id = a.parent_id AND u.unit_type = 'ward_committee') AS committee
       FROM areas a WHERE a.level = 'group'""",
    """CREATE TABLE IF NOT EXISTS bench_categories AS
       SELECT row_number() OVER (ORDER BY code) AS idx, id, unit_type, deadline_hours FROM categories""",
    """CREATE TABLE IF NOT EXISTS bench_wards AS
       SELECT row_number() OVER (ORDER BY code) AS idx, id FROM areas WHERE level = 'ward'""",
]


def prepare(url: str) -> None:
    from gisserver.demo.geography import build_geography
    from reports.areas.service import import_areas
    from reports.areas.units import provision_ward_units
    from reports.workflow.categories import ensure_default_categories

    upgrade(url)
    db = Database(url, statement_timeout_ms=0)
    with db.transaction() as session:
        if session.execute(text("SELECT count(*) FROM areas")).scalar():
            return
        geography = build_geography(2025)
        import_areas(session, geography.city, level="city")
        import_areas(session, geography.wards, level="ward", parent_code_col="parent_code")
        import_areas(session, geography.groups, level="group", parent_code_col="parent_code")
        ensure_default_categories(session)
        provision_ward_units(session)
    db.dispose()


def fill(url: str, reports: int, dossiers: int) -> dict:
    db = Database(url, statement_timeout_ms=0)
    timings = {}
    with db.engine.begin() as conn:
        for statement in HELPERS_SQL:
            conn.execute(text(statement))
        have_reports = conn.execute(text("SELECT count(*) FROM reports")).scalar()
        have_dossiers = conn.execute(text("SELECT count(*) FROM dossiers")).scalar()
    for label, sql, have, want in (("reports", REPORTS_SQL, have_reports, reports),
                                   ("dossiers", DOSSIERS_SQL, have_dossiers, dossiers)):
        started = time.perf_counter()
        while have < want:
            n = min(CHUNK, want - have)
            with db.engine.begin() as conn:
                conn.execute(text(sql), {"n": n, "offset": have})
            have += n
            print(f"  {label}: {have:,} written", flush=True)
        timings[label] = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in ("reports", "dossiers", "report_daily", "dossier_daily"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    db.dispose()
    return timings


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


def measure(name: str, call, repeat: int, warmup: int = 3) -> tuple[str, float, float, float, int]:
    for _ in range(warmup):
        call(0)
    samples = []
    for i in range(repeat):
        started = time.perf_counter()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
    return (name, *percentiles(samples), repeat)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--url", help="a PostGIS database to use instead of the private cluster's")
    parser.add_argument("--fresh", action="store_true", help="drop and recreate the benchmark database first")
    parser.add_argument("--explain", action="store_true", help="print the plans of the city summary's queries")
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    url = args.url
    if not url:
        cluster = private_cluster(settings)
        exists = _database_exists(cluster, DATABASE)
        url = cluster.recreate_database(DATABASE) if args.fresh or not exists else cluster.url(DATABASE)
    print(f"database: {url.rsplit('@', 1)[-1]}")
    prepare(url)
    started = time.perf_counter()
    timings = fill(url, args.reports, args.dossiers)
    print(f"data ready in {time.perf_counter() - started:.0f} s "
          f"(reports {timings['reports']:.0f} s, dossiers {timings['dossiers']:.0f} s, triggers included)")

    app = create_app({"DATABASE_URL": url, "TESTING": True, "DB_STATEMENT_TIMEOUT_MS": 120_000,
                      "LOG_LEVEL": "WARNING"})
    db = app.extensions["gisserver.db"]
    from reports.summaries.figures import SummaryQuery, summarize

    admin = Principal(kind="user", id=0, name="bench", roles=frozenset({"admin"}))
    with db.engine.connect() as conn:
        counts = conn.execute(text("""SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM dossiers),
            (SELECT count(*) FROM report_daily), (SELECT count(*) FROM areas WHERE level = 'ward'),
            (SELECT count(*) FROM areas WHERE level = 'group'),
            (SELECT count(*) FROM reports WHERE status IN ('new', 'acknowledged', 'in_progress'))""")).one()
        wards = [r[0] for r in conn.execute(text("SELECT code FROM areas WHERE level = 'ward' ORDER BY code"))]
    print(f"{counts[0]:,} reports ({counts[5]:,} open), {counts[1]:,} dossiers, {counts[3]} wards, "
          f"{counts[4]} groups; rollup rows: {counts[2]:,}")

    session = db.session()
    token = _token(db)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def service(code_of):
        return lambda i: summarize(session, admin, SummaryQuery(code_of(i)))

    def http(path_of):
        def call(i):
            response = client.get(path_of(i), headers=headers)
            if response.status_code != 200:  # a benchmark must not time error pages
                raise RuntimeError(f"{path_of(i)}: {response.status_code} {response.data[:300]!r}")
        return call

    city = "HUE"
    results = [
        measure("city summary, last 365 days (service)", service(lambda i: city), args.repeat),
        measure("ward drill-down, last 365 days (service, 40 wards in turn)",
                service(lambda i: wards[i % len(wards)]), args.repeat),
        measure("GET /api/summaries/HUE", http(lambda i: f"/api/summaries/{city}"), args.repeat),
        measure("GET /api/summaries/<ward> (40 wards in turn)", http(lambda i: f"/api/summaries/{wards[i % 40]}"),
                args.repeat),
        measure("GET /api/summaries/<ward>/map (map drill-down)",
                http(lambda i: f"/api/summaries/{wards[i % 40]}/map?indicator=reports_overdue"), args.repeat),
        measure("city summary, one month (service)",
                lambda i: summarize(session, admin, SummaryQuery(city, date_from=_days_ago(30))), args.repeat),
        measure("city summary as of 30 days ago (records path, no rollup)",
                lambda i: summarize(session, admin, SummaryQuery(city, as_of=_days_ago(30))), max(3, args.repeat // 10),
                warmup=1),
    ]
    print()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          "(1 / 5 / 15 min) while measuring")
    print(f"| {'case':<58} | p50 ms | p95 ms | max ms | runs |")
    print(f"|{'-' * 60}|--------|--------|--------|------|")
    for name, p50, p95, top, runs in results:
        print(f"| {name:<58} | {p50:6.1f} | {p95:6.1f} | {top:6.1f} | {runs:4d} |")
    if args.explain:
        _explain(session, admin)
    session.close()
    db.dispose()
    return 0


def _days_ago(days: int):
    from datetime import date, timedelta

    return date.today() - timedelta(days=days)


def _token(db) -> str:
    from gisserver.accounts.users import create_user, get_user, issue_token
    from gisserver.core.exceptions import NotFound

    with db.transaction() as session:
        try:
            user = get_user(session, "bench-admin")
        except NotFound:
            user = create_user(session, "bench-admin", "bench-password-123", ["admin"])
        _, secret = issue_token(session, "bench", user=user)
    return secret


def _database_exists(cluster, name: str) -> bool:
    import psycopg

    with psycopg.connect(cluster._dsn()) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _explain(session, admin) -> None:
    """The plans of the rollup reads and of the open-reports read behind a city summary."""
    from datetime import timedelta

    from reports.summaries import sql
    from reports.summaries.figures import SummaryQuery, context

    ctx = context(session, admin, SummaryQuery("HUE"))
    params = ctx.params()
    targets = [ctx.area.id, *(c.id for c in ctx.mapping.children)]
    for name, statement, extra in (
        ("rollup cells", sql.report_rollup_cells(ctx.period.trend), {"targets": targets}),
        ("recent or not yet due open reports", sql.report_cells("now", open_only="recent"),
         {"recent": ctx.period.t - timedelta(days=30)}),
    ):
        rows = session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + statement.text), {**params, **extra})
        print(f"\n-- {name}")
        for row in rows:
            print(row[0])


if __name__ == "__main__":
    raise SystemExit(main())
