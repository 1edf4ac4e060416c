"""The duplicate check reads only the reports near the point, whatever plan PostgreSQL caches for it.

psycopg prepares a statement after five runs, and PostgreSQL may then plan it once for any parameters (a generic
plan). Before the reports table had statistics (a new database, or a burst that outran autovacuum), such a plan of
the nearest-open-report search read a partial index of every open report instead of the GiST index on their
points, so each filing's duplicate check grew with the reports of the last two days. The reports here are not
analysed on purpose.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import psycopg
from sqlalchemy import text

from reports.workflow import sql as report_sql
from tests.reports.conftest import WEST_INSIDE

PARAMS = ("lon", "lat", "category_id", "metres", "since", "now")
TYPES = ("float8", "float8", "integer", "float8", "timestamptz", "timestamptz")


def _plans(node: dict):
    yield node
    for child in node.get("Plans", ()):
        yield from _plans(child)


def test_the_nearest_open_report_is_read_through_the_box_under_a_generic_plan(city):
    category_id = city.scalar(text("SELECT id FROM categories WHERE code = 'gay_roi'"))
    now = datetime.now(UTC)
    # 3,000 open reports of the category, filed within the hour, on a grid of about 160 m over the ward.
    city.execute(text("""
        INSERT INTO reports (tracking_code, category_id, description, geom, status, channel, outside_city,
                             created_at, due_at, updated_at)
        SELECT 'DUP' || g, :category_id, 'Tụ tập đông người',
               ST_SetSRID(ST_MakePoint(107.5 + (g % 60) * 0.0015, 16.4 + (g / 60) * 0.0015), 4326),
               'new', 'api', false, :now - interval '1 hour', :now + interval '1 day', :now
        FROM generate_series(1, 3000) AS g"""), {"category_id": category_id, "now": now})
    city.commit()
    params = {"lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1], "category_id": category_id, "metres": 100.0,
              "since": now - timedelta(hours=48), "now": now}
    expected = city.scalar(text("""
        SELECT id FROM reports WHERE ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography,
                                                100) AND status = 'new'
        ORDER BY geom::geography <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, id LIMIT 1"""), params)
    assert expected is not None

    sql = report_sql._NEARBY_OPEN.text
    positional = re.sub(r"(?<!:):([a-z_]+)", lambda m: f"${PARAMS.index(m.group(1)) + 1}", sql)
    raw = city.connection().connection.driver_connection
    with psycopg.ClientCursor(raw) as cur:  # EXECUTE takes its values as literals
        cur.execute(f"PREPARE nearby_open({', '.join(TYPES)}) AS {positional}")
        cur.execute("SET plan_cache_mode = force_generic_plan")
        execute = "EXECUTE nearby_open(%s, %s, %s, %s, %s, %s)"
        values = [params[name] for name in PARAMS]
        cur.execute(execute, values)
        assert cur.fetchone()[0] == expected
        cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {execute}", values)
        plan = cur.fetchone()[0]
        cur.execute("DEALLOCATE nearby_open")
        cur.execute("RESET plan_cache_mode")
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scans = [node for node in _plans(plan[0]["Plan"]) if node.get("Relation Name") == "reports"]
    assert scans and all(node.get("Index Name") == "ix_reports_geom" for node in scans), json.dumps(plan, indent=1)
    # The box around the point holds a handful of the 3,000, not all of them.
    assert sum(node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0) for node in scans) < 20
