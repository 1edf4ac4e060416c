"""Every SQL statement of the summaries, in one place; PostgreSQL does the counting.

Two ways to the same figures: the daily rollups (today's areas, as of now) and the records themselves
("facts", for a past as-of date, the areas of the time, residential groups, and the records behind a
figure). Both produce cells (target area, dimension, key) -> counts with the same definitions.
Only fixed fragments from this module are formatted into the statements; values are bound.
"""

from __future__ import annotations

from sqlalchemy import text

OPEN_STATUSES_SQL = "('new', 'acknowledged', 'in_progress')"
# Which area column is a report's leaf: where it counts today, or where it was filed at the time.
REPORT_LEAF = {"now": "area_current_id", "then": "area_filed_id"}

MAPPING = """m AS (
    SELECT * FROM unnest(CAST(:m_leaf AS int[]), CAST(:m_target AS int[]), CAST(:m_start AS date[]),
                         CAST(:m_stop AS date[])) AS m(leaf, target, start_day, stop_day)
)"""


def trend_start(day: str) -> str:
    """The first day of a local day's trend bucket: its ISO week's Monday, or its month's first day."""
    return f"CASE WHEN :trend = 'week' THEN date_trunc('week', {day})::date ELSE date_trunc('month', {day})::date END"


def trend_label(start: str) -> str:
    """A trend bucket's name from its first day: 2025-W09 or 2025-03."""
    return f"CASE WHEN :trend = 'week' THEN to_char({start}, 'IYYY-\"W\"IW') ELSE to_char({start}, 'YYYY-MM') END"


AGE = """CASE WHEN :t - r.created_at < interval '1 day' THEN '0-1'
              WHEN :t - r.created_at < interval '3 days' THEN '1-3'
              WHEN :t - r.created_at < interval '7 days' THEN '3-7'
              WHEN :t - r.created_at < interval '30 days' THEN '7-30'
              ELSE '30+' END"""
AGE_KEYS = ("0-1", "1-3", "3-7", "7-30", "30+")

# A cell's target: the child for the (target) grouping set, the summarised area for every other set.
TARGET = "CASE WHEN GROUPING(target) = 0 THEN target ELSE :area_id END AS target"


# Reports open now that are recent or not yet due: with the rollup's open counts, they give overdue
# (open - not yet due) and the age of the backlog (the under-30-days buckets, the rest by difference).
# Both sets are bounded by recent intake, not by the size of the history or of the old backlog.
RECENT_OPEN = f"AND r.status IN {OPEN_STATUSES_SQL} AND (r.created_at >= :recent OR r.due_at >= :t)"


def report_facts(mode: str, open_only: bool | str, category: bool = False) -> str:
    """One row per report counted in the period, with the child it lies under and its state as of :t.

    *open_only*: True for the reports open now, "recent" for those of them that are recent or not yet due;
    *category*: only the reports of the category :category_id.
    """
    leaf = REPORT_LEAF[mode]
    open_filter = RECENT_OPEN if open_only == "recent" else (
        f"AND r.status IN {OPEN_STATUSES_SQL}" if open_only else "")
    if category:
        open_filter += " AND r.category_id = :category_id"
    return f"""{MAPPING}, f AS (
    SELECT r.id, r.created_at, m.target, r.category_id::text AS category, coalesce(r.unit_id, 0)::text AS unit,
           r.channel, {trend_start('d.day')} AS period, c.closed,
           c.closed AND r.status = 'resolved' AS resolved, c.closed AND r.status = 'rejected' AS rejected,
           c.closed AND r.closed_at <= r.due_at AS on_time, c.closed AND r.closed_at > r.due_at AS late,
           NOT c.closed AND r.due_at < :t AS overdue,
           CASE WHEN c.closed THEN summary_hist_bucket(r.closed_at - r.created_at) END AS hist,
           CASE WHEN NOT c.closed THEN {AGE} END AS age
    FROM reports r
    CROSS JOIN LATERAL (SELECT (r.created_at AT TIME ZONE :tz)::date AS day) d
    CROSS JOIN LATERAL (SELECT r.status IN ('resolved', 'rejected') AND r.closed_at < :t AS closed) c
    JOIN m ON m.leaf = r.{leaf} AND d.day >= m.start_day AND d.day < m.stop_day
    WHERE r.created_at >= :start AND r.created_at < :stop AND r.merged_into_id IS NULL {open_filter}
)"""  # noqa: S608 - fixed fragments only


REPORT_MEASURES_SQL = """count(*) AS received, count(*) FILTER (WHERE resolved) AS resolved,
       count(*) FILTER (WHERE rejected) AS rejected, count(*) FILTER (WHERE on_time) AS on_time,
       count(*) FILTER (WHERE late) AS late, count(*) FILTER (WHERE NOT closed) AS open,
       count(*) FILTER (WHERE overdue) AS overdue"""


def report_cells(mode: str, open_only: bool | str, category: bool = False):
    """Counts per (target, dimension, key) from the reports themselves: the area's breakdowns, and each
    child's totals. Open reports have no handling time, so that breakdown is left out for them; nor has
    a summary of one category (the rollup keeps no handling times per category: both engines say the same)."""
    hist_set, hist_dim, hist_key = ("", "", "") if open_only or category else (
        "(hist), ", "WHEN GROUPING(hist) = 0 THEN 'hist' ", "hist::text, ")
    return text(f"""WITH {report_facts(mode, open_only, category)}
SELECT {TARGET},
       CASE WHEN GROUPING(category) = 0 THEN 'category' WHEN GROUPING(unit) = 0 THEN 'unit'
            WHEN GROUPING(channel) = 0 THEN 'channel' WHEN GROUPING(period) = 0 THEN 'trend'
            {hist_dim}WHEN GROUPING(age) = 0 THEN 'age' ELSE 'all' END AS dim,
       coalesce(category, unit, channel, {trend_label('period')}, {hist_key}age, '') AS key,
       {REPORT_MEASURES_SQL}
FROM f
GROUP BY GROUPING SETS ((target), (), (category), (unit), (channel), (period), {hist_set}(age))""")  # noqa: S608 - fixed fragments only


# Whole months come from month rows, the days before and after them from day rows. Each range is its own
# index scan on (area_id, dim, span, day).
SPAN_RANGES = (("m", "day >= :month_from AND day < :month_to"), ("d", "day >= :day_from AND day < :month_from"),
               ("d", "day >= :month_to AND day <= :day_to"))
WEEK_RANGES = (("d", "day >= :day_from AND day <= :day_to"),)
REPORT_DIMS = "('category', 'unit', 'channel', 'hist')"
REPORT_SUMS = "sum(received) AS received, sum(resolved) AS resolved, sum(rejected) AS rejected, " \
              "sum(on_time) AS on_time, sum(late) AS late"


def _rollup_rows(table: str, columns: str, parts: list[tuple[str, str]], ranges) -> str:
    return "\n    UNION ALL\n    ".join(
        f"SELECT {columns} FROM {table} WHERE {where} AND span = '{span}' AND {days}"  # noqa: S608
        for where, _ in parts for span, days in ranges)


def report_rollup_cells(trend: str):
    """The same cells from the rollup, as of now (open = received - closed; overdue comes separately)."""
    columns = "area_id, dim, key, day, received, resolved, rejected, on_time, late"
    cells = _rollup_rows("report_daily", columns, [
        ("area_id = ANY(CAST(:targets AS int[])) AND dim = 'all'", ""),
        (f"area_id = :area_id AND dim IN {REPORT_DIMS}", ""),
    ], SPAN_RANGES)
    trend_rows = _rollup_rows("report_daily", columns, [("area_id = :area_id AND dim = 'all'", "")],
                              WEEK_RANGES if trend == "week" else SPAN_RANGES)
    return text(f"""
WITH cells AS (
    {cells}
), trend AS (
    {trend_rows}
)
SELECT area_id AS target, dim, key, {REPORT_SUMS} FROM cells GROUP BY area_id, dim, key
UNION ALL
SELECT :area_id, 'trend', {trend_label(trend_start('day'))}, {REPORT_SUMS} FROM trend GROUP BY 3
""")  # noqa: S608 - fixed fragments only


def report_rollup_category_cells(trend: str):
    """The cells of one category (:category_key) from the rollup: each target's totals and the area's trend.

    Only areas above the residential groups keep rows per category; the caller reads groups from the records.
    """
    columns = "area_id, dim, key, day, received, resolved, rejected, on_time, late"
    one = "dim = 'category' AND key = :category_key"
    cells = _rollup_rows("report_daily", columns, [(f"area_id = ANY(CAST(:targets AS int[])) AND {one}", "")],
                         SPAN_RANGES)
    trend_rows = _rollup_rows("report_daily", columns, [(f"area_id = :area_id AND {one}", "")],
                              WEEK_RANGES if trend == "week" else SPAN_RANGES)
    return text(f"""
WITH cells AS (
    {cells}
), trend AS (
    {trend_rows}
)
SELECT area_id AS target, 'all' AS dim, '' AS key, {REPORT_SUMS} FROM cells GROUP BY area_id
UNION ALL
SELECT :area_id, 'category', :category_key, {REPORT_SUMS} FROM cells WHERE area_id = :area_id
UNION ALL
SELECT :area_id, 'trend', {trend_label(trend_start('day'))}, {REPORT_SUMS} FROM trend GROUP BY 3
""")  # noqa: S608 - fixed fragments only


def dossier_facts(open_only: bool | str) -> str:
    open_filter = "AND d.status = 'in_progress' AND d.due_at >= :t" if open_only == "recent" else (
        "AND d.status = 'in_progress'" if open_only else "")
    return f"""{MAPPING}, f AS (
    SELECT d.id, d.received_at, m.target, {trend_start('x.day')} AS period, c.closed,
           c.closed AND d.status = 'finished' AS finished,
           c.closed AND d.status = 'finished' AND d.finished_at <= d.due_at AS on_time,
           c.closed AND d.status = 'finished' AND d.finished_at > d.due_at AS late,
           c.closed AND d.status IN ('rejected', 'withdrawn') AS returned,
           NOT c.closed AS in_progress, NOT c.closed AND d.due_at < :t AS overdue, d.channel = 'online' AS online
    FROM dossiers d
    CROSS JOIN LATERAL (SELECT (d.received_at AT TIME ZONE :tz)::date AS day) x
    CROSS JOIN LATERAL (SELECT d.status <> 'in_progress' AND d.finished_at < :t AS closed) c
    JOIN m ON m.leaf = d.area_id AND x.day >= m.start_day AND x.day < m.stop_day
    WHERE d.received_at >= :start AND d.received_at < :stop {open_filter}
)"""  # noqa: S608 - fixed fragments only


def dossier_cells(open_only: bool | str):
    return text(f"""WITH {dossier_facts(open_only)}
SELECT {TARGET}, CASE WHEN GROUPING(period) = 0 THEN 'trend' ELSE 'all' END AS dim,
       coalesce({trend_label('period')}, '') AS key,
       count(*) AS received, count(*) FILTER (WHERE finished) AS finished, count(*) FILTER (WHERE on_time) AS on_time,
       count(*) FILTER (WHERE late) AS late, count(*) FILTER (WHERE returned) AS returned,
       count(*) FILTER (WHERE in_progress) AS in_progress, count(*) FILTER (WHERE overdue) AS overdue,
       count(*) FILTER (WHERE online) AS online
FROM f
GROUP BY GROUPING SETS ((target), (), (period))""")  # noqa: S608 - fixed fragments only


def dossier_rollup_cells(trend: str):
    columns = "area_id, day, received, finished, on_time, late, returned, online"
    sums = ("sum(received) AS received, sum(finished) AS finished, sum(on_time) AS on_time, sum(late) AS late, "
            "sum(returned) AS returned, sum(online) AS online")
    cells = _rollup_rows("dossier_daily", columns, [("area_id = ANY(CAST(:targets AS int[]))", "")], SPAN_RANGES)
    trend_rows = _rollup_rows("dossier_daily", columns, [("area_id = :area_id", "")],
                              WEEK_RANGES if trend == "week" else SPAN_RANGES)
    return text(f"""
WITH cells AS (
    {cells}
), trend AS (
    {trend_rows}
)
SELECT area_id AS target, 'all' AS dim, '' AS key, {sums} FROM cells GROUP BY area_id
UNION ALL
SELECT :area_id, 'trend', {trend_label(trend_start('day'))}, {sums} FROM trend GROUP BY 3
""")  # noqa: S608 - fixed fragments only


def alert_facts() -> str:
    return f"""{MAPPING}, f AS (
    SELECT a.id, a.first_at, m.target, a.type, c.closed,
           c.closed AND a.closed_at <= a.due_at AS on_time, c.closed AND a.closed_at > a.due_at AS late,
           NOT c.closed AND a.due_at < :t AS overdue
    FROM alerts a
    CROSS JOIN LATERAL (SELECT (a.first_at AT TIME ZONE :tz)::date AS day) x
    CROSS JOIN LATERAL (SELECT a.status IN ('resolved', 'rejected') AND a.closed_at < :t AS closed) c
    JOIN m ON m.leaf = a.area_id AND x.day >= m.start_day AND x.day < m.stop_day
    WHERE a.first_at >= :start AND a.first_at < :stop
)"""  # noqa: S608 - fixed fragments only


ALERT_CELLS = text(f"""WITH {alert_facts()}
SELECT {TARGET}, CASE WHEN GROUPING(type) = 0 THEN 'type' ELSE 'all' END AS dim, coalesce(type, '') AS key,
       count(*) AS received, count(*) FILTER (WHERE closed) AS closed, count(*) FILTER (WHERE on_time) AS on_time,
       count(*) FILTER (WHERE late) AS late, count(*) FILTER (WHERE NOT closed) AS open,
       count(*) FILTER (WHERE overdue) AS overdue
FROM f
GROUP BY GROUPING SETS ((target), (), (type))""")  # noqa: S608 - fixed fragments only

CAMERA_CELLS = text(f"""WITH {MAPPING}
SELECT {TARGET}, count(*) AS total, count(*) FILTER (WHERE c.state = 'maintenance') AS maintenance,
       count(*) FILTER (WHERE c.state = 'active' AND c.last_seen_at >= :since) AS online
FROM cameras c JOIN m ON m.leaf = c.area_id
GROUP BY GROUPING SETS ((target), ())""")  # noqa: S608 - fixed fragments only

# What a figure counts, as a condition on the facts; chosen by name, never taken from a request.
MEASURES = {
    "reports": {
        "received": "true", "resolved": "f.resolved", "rejected": "f.rejected", "closed": "f.closed",
        "open": "NOT f.closed", "overdue": "f.overdue", "on_time": "f.on_time", "late": "f.late",
    },
    "dossiers": {
        "received": "true", "finished": "f.finished", "on_time": "f.on_time", "late": "f.late",
        "returned": "f.returned", "in_progress": "f.in_progress", "overdue": "f.overdue", "online": "f.online",
    },
    "alerts": {
        "received": "true", "closed": "f.closed", "open": "NOT f.closed", "on_time": "f.on_time",
        "late": "f.late", "overdue": "f.overdue",
    },
}
DIMENSIONS = {
    "reports": {"category": "f.category", "unit": "f.unit", "channel": "f.channel",
                "trend": trend_label("f.period"), "age": "f.age"},
    "dossiers": {"trend": trend_label("f.period")},
    "alerts": {"type": "f.type"},
}
_FACTS = {"reports": report_facts, "dossiers": lambda mode, open_only: dossier_facts(open_only),
          "alerts": lambda mode, open_only: alert_facts()}
_ORDER = {"reports": "f.created_at DESC, f.id DESC", "dossiers": "f.received_at DESC, f.id DESC",
          "alerts": "f.first_at DESC, f.id DESC"}


def record_ids(source: str, mode: str, measure: str, dim: str | None, open_only: bool = False,
               category: bool = False):
    """Ids of the records behind one figure, newest first, with their total.

    *open_only* narrows the scan to records open now; only right when the figure is as of now. *category*:
    reports of the category :category_id only.
    """
    condition = MEASURES[source][measure]
    if dim:
        condition += f" AND {DIMENSIONS[source][dim]} = :key"
    facts = report_facts(mode, open_only, category) if source == "reports" else _FACTS[source](mode, open_only)
    return text(f"""WITH {facts}
SELECT f.id, count(*) OVER () AS total FROM f WHERE {condition}
ORDER BY {_ORDER[source]} LIMIT :limit OFFSET :offset""")  # noqa: S608 - fixed fragments only


RECORD_ROWS = {
    "reports": text("""
SELECT r.id, r.tracking_code AS code, c.code AS category, c.name_vi AS category_vi, c.name_en AS category_en,
       r.status, r.channel, r.created_at, r.due_at, r.closed_at, a.code AS area_code, a.name AS area_name,
       ward.name AS area_ward, u.name AS unit_name, r.description
FROM reports r JOIN categories c ON c.id = r.category_id
LEFT JOIN areas a ON a.id = r.area_current_id LEFT JOIN units u ON u.id = r.unit_id
LEFT JOIN areas ward ON ward.id = a.parent_id AND a.level = 'group'
WHERE r.id = ANY(:ids)"""),
    "dossiers": text("""
SELECT d.id, d.code, d.procedure, d.status, d.channel, d.received_at AS created_at, d.due_at,
       d.finished_at AS closed_at, a.code AS area_code, a.name AS area_name, ward.name AS area_ward
FROM dossiers d JOIN areas a ON a.id = d.area_id
LEFT JOIN areas ward ON ward.id = a.parent_id AND a.level = 'group'
WHERE d.id = ANY(:ids)"""),
    "alerts": text("""
SELECT al.id, cam.code AS camera_code, al.type, al.status, al.first_at AS created_at, al.due_at, al.closed_at,
       al.event_count, a.code AS area_code, a.name AS area_name, ward.name AS area_ward
FROM alerts al JOIN cameras cam ON cam.id = al.camera_id LEFT JOIN areas a ON a.id = al.area_id
LEFT JOIN areas ward ON ward.id = a.parent_id AND a.level = 'group'
WHERE al.id = ANY(:ids)"""),
}

AREA_SHAPES = text("""
SELECT id, ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tolerance), 6) AS geometry
FROM areas WHERE id = ANY(CAST(:ids AS int[]))""")

REBUILD = text("SELECT summary_rebuild(CAST(:ids AS int[]))")
