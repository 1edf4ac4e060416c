"""What one report costs the database, pinned so that it cannot creep back (issue 19: it had grown to 27).

Counted by a SQLAlchemy event listener on the app's engine, and checked against the statements the driver itself
was asked to run, so that a statement sent past SQLAlchemy (a job queued through the raw connection, say) cannot
hide from the count. Transaction control (BEGIN, COMMIT) is not counted: psycopg sends it by itself.
"""

from __future__ import annotations

from contextlib import contextmanager

import psycopg
import pytest
from psycopg import _queries as psycopg_queries
from sqlalchemy import event, func, select, text

from gisserver.core.audit import AuditEntry
from reports.workflow.models import Report, ReportEvent
from tests.reports.conftest import WEST_INSIDE

# 1 intake's context (category, idempotency key, area chain, routing, duplicate, address: reports/intake/sql.py)
# 2 the caller's and the area's rate-limit counters (one upsert)
# 3 the report, its first event, their two audit entries and the notifications outbox's rows of it (its event, the
#   fan-out job and the live map's NOTIFY: the "report_filing" hook)
REPORT_STATEMENTS = 3
PINGS = (";", "select 1", "SELECT 1")  # the pool's liveness check of a connection, not a statement of ours


@contextmanager
def counted(app, monkeypatch):
    """The statements SQLAlchemy sent, those the driver executed, and (its bytes, its parameters) of each one sent,
    while the block runs."""
    seen, driven, sizes = [], [], []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))
        sizes.append((len(statement.encode()), len(parameters or ())))

    def driver(method):
        def run(self, query, *args, **kwargs):
            driven.append(str(query))
            return method(self, query, *args, **kwargs)
        return run

    # One charge in a hundred also sweeps expired counters: a statement more, on those requests only.
    monkeypatch.setattr("gisserver.core.ratelimit.SWEEP_PROBABILITY", 0)
    for name in ("execute", "executemany"):
        monkeypatch.setattr(psycopg.Cursor, name, driver(getattr(psycopg.Cursor, name)))
    engine = app.extensions["gisserver.db"].engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        yield seen, driven, sizes
    finally:
        event.remove(engine, "before_cursor_execute", listen)


def _body(n: int) -> dict:
    return {"category": "gay_roi", "description": f"Nhóm thanh niên tụ tập đánh nhau, lần {n}",
            "location": {"lon": WEST_INSIDE[0] + n * 1e-4, "lat": WEST_INSIDE[1]}}


@pytest.mark.parametrize("channel", ["api", "open311"])
def test_one_report_costs_three_statements(app, client, city, monkeypatch, channel):
    def post(n: int, key: str):
        if channel == "api":
            return client.post("/api/reports", json=_body(n), headers={"Idempotency-Key": key})
        body = _body(n)
        return client.post("/open311/v2/requests.json", headers={"Idempotency-Key": key}, data={
            "service_code": body["category"], "description": body["description"],
            "long": str(body["location"]["lon"]), "lat": str(body["location"]["lat"])})

    assert post(0, "warm-up").status_code == 201  # the first request of a process loads what it caches
    jobs_before = city.scalar(text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs"))  # kept between tests
    with counted(app, monkeypatch) as (seen, driven, sizes):
        answer = post(1, "counted")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert len(seen) == REPORT_STATEMENTS, "\n".join(seen)
    # Nothing reached the database without SQLAlchemy seeing it (pool pings aside).
    assert len([q for q in driven if q.strip() not in PINGS]) == len(seen), driven
    # psycopg caches how it reads a statement of up to 4096 bytes and 50 parameters; a longer one it parses again on
    # every run (the write with the outbox's rows once had 59, a quarter of a millisecond per filing).
    for statement, (length, parameters) in zip(seen, sizes, strict=True):
        assert length <= psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, (length, statement[:200])
        assert parameters <= psycopg_queries.MAX_CACHED_STATEMENT_PARAMS, (parameters, statement[:200])

    city.rollback()
    code = city.scalar(select(Report.tracking_code).where(Report.idempotency_key == f"{channel}:counted"))
    assert code is not None
    report_id = city.scalar(select(Report.id).where(Report.tracking_code == code))
    assert city.scalar(select(func.count()).select_from(ReportEvent).where(ReportEvent.report_id == report_id)) == 1
    (event_id,) = city.scalars(select(ReportEvent.id).where(ReportEvent.report_id == report_id)).all()
    audited = city.execute(select(AuditEntry.table_name, AuditEntry.row_id, AuditEntry.action).where(
        AuditEntry.table_name.in_(["reports", "report_events"]),
        AuditEntry.row_id.in_([str(report_id), str(event_id)]))).all()
    assert sorted(audited) == [("report_events", str(event_id), "insert"), ("reports", str(report_id), "insert")]
    outbox = city.execute(text("SELECT e.kind, j.task_name FROM notification_events e JOIN procrastinate_jobs j "
                               "ON (j.args->>'event_id')::int = e.id AND j.id > :before WHERE e.subject_id = :id"),
                          {"id": report_id, "before": jobs_before}).all()
    assert outbox == [("report_filed", "gisserver:notifications.fan_out")]


def test_a_retry_reads_the_first_report_and_writes_nothing_but_the_counter(app, client, city, monkeypatch):
    assert client.post("/api/reports", json=_body(0), headers={"Idempotency-Key": "same"}).status_code == 201
    with counted(app, monkeypatch) as (seen, _, _):
        again = client.post("/api/reports", json=_body(0), headers={"Idempotency-Key": "same"})
    assert again.status_code == 200
    # The context finds the key's report, which is read with its public view (its events, the areas' names, its
    # supporters) for the answer; the only write is the caller's counter.
    assert len(seen) == 7, "\n".join(seen)
    assert [q.split()[0] for q in seen].count("INSERT") == 1 and not any(q.startswith("WITH") for q in seen)
    city.rollback()
    assert city.scalar(select(func.count()).select_from(Report)) == 1
