"""Administrative dossiers, the areas' parent history, and the daily per-area rollups behind the summaries.

The rollups (report_daily, dossier_daily) hold, for every area at every level and every local day
(span 'd') and month (span 'm', dated on its first day), the counts of the records created then in the
area's current subtree, as they stand now. A year reads eleven month rows and the odd days at its ends.
The database keeps them right on every write: statement-level triggers add what a statement wrote
and subtract what it replaced (bulk imports cost one aggregate, not one upsert per row), and deferred
triggers rebuild the areas whose subtree a boundary change altered, once per transaction at commit.

Revision ID: reports_0007
Revises: reports_0008
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0007"
down_revision = "reports_0008"
branch_labels = None
depends_on = None

TZ = "Asia/Ho_Chi_Minh"  # the city's days; reports.summaries.hierarchy.TIMEZONE must say the same

# One definition of what a report contributes to the rollup, expanded for the triggers and the rebuild.
# {source}: rows with a "sign" column; {closure_filter}: limits the areas written.
REPORT_DELTA = """
WITH src AS (
    SELECT s.sign, s.area_current_id AS leaf, (s.created_at AT TIME ZONE '{tz}')::date AS day,
           s.category_id::text AS category, coalesce(s.unit_id, 0)::text AS unit, s.channel,
           (s.status = 'resolved')::int AS resolved, (s.status = 'rejected')::int AS rejected,
           (s.status IN ('resolved', 'rejected') AND s.closed_at <= s.due_at)::int AS on_time,
           (s.status IN ('resolved', 'rejected') AND s.closed_at > s.due_at)::int AS late,
           CASE WHEN s.status IN ('resolved', 'rejected')
                THEN summary_hist_bucket(s.closed_at - s.created_at)::text END AS bucket
    FROM {source} s
    WHERE s.merged_into_id IS NULL AND s.area_current_id IS NOT NULL
), clo AS (
    SELECT l.leaf, a.id AS area_id, a.level
    FROM (SELECT DISTINCT leaf FROM src) l
    CROSS JOIN LATERAL unnest(summary_ancestors(summary_area_now(l.leaf))) AS c(id)
    JOIN areas a ON a.id = c.id
    WHERE {closure_filter}
)
INSERT INTO report_daily AS t (area_id, dim, span, day, key, received, resolved, rejected, on_time, late)
SELECT c.area_id, d.dim, p.span, p.day, d.key, sum(s.sign), sum(s.sign * s.resolved), sum(s.sign * s.rejected),
       sum(s.sign * s.on_time), sum(s.sign * s.late)
FROM src s
JOIN clo c ON c.leaf = s.leaf
CROSS JOIN LATERAL (VALUES ('all', ''), ('category', s.category), ('unit', s.unit), ('channel', s.channel),
                           ('hist', s.bucket)) AS d(dim, key)
CROSS JOIN LATERAL (VALUES ('d', s.day), ('m', date_trunc('month', s.day)::date)) AS p(span, day)
WHERE d.dim = 'all' OR (c.level <> 'group' AND d.key IS NOT NULL)
GROUP BY 1, 2, 3, 4, 5
HAVING sum(s.sign) <> 0 OR sum(s.sign * s.resolved) <> 0 OR sum(s.sign * s.rejected) <> 0
    OR sum(s.sign * s.on_time) <> 0 OR sum(s.sign * s.late) <> 0
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (area_id, dim, span, day, key) DO UPDATE SET
    received = t.received + excluded.received, resolved = t.resolved + excluded.resolved,
    rejected = t.rejected + excluded.rejected, on_time = t.on_time + excluded.on_time,
    late = t.late + excluded.late
"""

DOSSIER_DELTA = """
WITH src AS (
    SELECT s.sign, s.area_id AS leaf, (s.received_at AT TIME ZONE '{tz}')::date AS day,
           (s.status = 'finished')::int AS finished,
           (s.status = 'finished' AND s.finished_at <= s.due_at)::int AS on_time,
           (s.status = 'finished' AND s.finished_at > s.due_at)::int AS late,
           (s.status IN ('rejected', 'withdrawn'))::int AS returned,
           (s.channel = 'online')::int AS online
    FROM {source} s
), clo AS (
    SELECT l.leaf, c.id AS area_id
    FROM (SELECT DISTINCT leaf FROM src) l
    CROSS JOIN LATERAL unnest(summary_ancestors(summary_area_now(l.leaf))) AS c(id)
    WHERE {closure_filter}
)
INSERT INTO dossier_daily AS t (area_id, span, day, received, finished, on_time, late, returned, online)
SELECT c.area_id, p.span, p.day, sum(s.sign), sum(s.sign * s.finished), sum(s.sign * s.on_time),
       sum(s.sign * s.late), sum(s.sign * s.returned), sum(s.sign * s.online)
FROM src s JOIN clo c ON c.leaf = s.leaf
CROSS JOIN LATERAL (VALUES ('d', s.day), ('m', date_trunc('month', s.day)::date)) AS p(span, day)
GROUP BY 1, 2, 3
HAVING sum(s.sign) <> 0 OR sum(s.sign * s.finished) <> 0 OR sum(s.sign * s.on_time) <> 0
    OR sum(s.sign * s.late) <> 0 OR sum(s.sign * s.returned) <> 0 OR sum(s.sign * s.online) <> 0
ORDER BY 1, 2, 3
ON CONFLICT (area_id, span, day) DO UPDATE SET
    received = t.received + excluded.received, finished = t.finished + excluded.finished,
    on_time = t.on_time + excluded.on_time, late = t.late + excluded.late,
    returned = t.returned + excluded.returned, online = t.online + excluded.online
"""


def _delta(template: str, source: str, closure_filter: str = "true") -> str:
    return template.format(tz=TZ, source=source, closure_filter=closure_filter)


def _trigger_function(name: str, template: str) -> str:
    insert = _delta(template, "(SELECT 1 AS sign, n.* FROM new_rows n)")
    delete = _delta(template, "(SELECT -1 AS sign, o.* FROM old_rows o)")
    update = _delta(template, "(SELECT 1 AS sign, n.* FROM new_rows n UNION ALL SELECT -1, o.* FROM old_rows o)")
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {insert};
    ELSIF TG_OP = 'DELETE' THEN
        {delete};
    ELSE
        {update};
    END IF;
    RETURN NULL;
END $fn$;
"""


def upgrade() -> None:
    op.create_table(
        "area_parent_history",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("areas.id", ondelete="CASCADE")),
        sa.Column("valid_until", sa.Date, nullable=False),
    )
    op.create_table(
        "dossiers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("procedure", sa.Text, nullable=False),
        sa.Column("area_id", sa.Integer, sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("channel IN ('online', 'offline')", name="channel"),
        sa.CheckConstraint("status IN ('in_progress', 'finished', 'rejected', 'withdrawn')", name="status"),
        sa.CheckConstraint("due_at >= received_at", name="due"),
        sa.CheckConstraint("finished_at IS NULL OR finished_at >= received_at", name="finished"),
        sa.CheckConstraint("(status = 'in_progress') = (finished_at IS NULL)", name="closed"),
    )
    op.create_index("ix_dossiers_area_received", "dossiers", ["area_id", "received_at"])
    op.create_index("ix_dossiers_open", "dossiers", ["received_at"], postgresql_where=sa.text("status = 'in_progress'"),
                    postgresql_include=["id", "area_id", "due_at", "finished_at", "status", "channel"])
    # The raw path (as of a past date, areas of the time, groups) reads reports by area and date.
    op.create_index("ix_reports_current_created", "reports", ["area_current_id", "created_at"])
    op.create_index("ix_reports_filed_created", "reports", ["area_filed_id", "created_at"])
    # Overdue and the age of the backlog depend on the instant, so they are read from the open reports:
    # this index holds every column that read needs, so it never visits the table.
    op.create_index("ix_reports_open_created", "reports", ["created_at"], postgresql_include=[
        "id", "area_current_id", "area_filed_id", "category_id", "unit_id", "channel", "status", "due_at",
        "closed_at", "merged_into_id"], postgresql_where=sa.text(
        "status IN ('new', 'acknowledged', 'in_progress') AND merged_into_id IS NULL"))
    op.create_index("ix_reports_open_due", "reports", ["due_at"], postgresql_include=[
        "id", "created_at", "area_current_id", "area_filed_id", "category_id", "unit_id", "channel", "status",
        "closed_at", "merged_into_id"], postgresql_where=sa.text(
        "status IN ('new', 'acknowledged', 'in_progress') AND merged_into_id IS NULL"))
    op.create_index("ix_dossiers_open_due", "dossiers", ["due_at"], postgresql_where=sa.text("status = 'in_progress'"),
                    postgresql_include=["id", "area_id", "received_at", "finished_at", "status", "channel"])
    op.create_index("ix_alerts_area_first", "alerts", ["area_id", "first_at"])
    op.create_table(
        "report_daily",
        sa.Column("area_id", sa.Integer, primary_key=True),
        sa.Column("dim", sa.String(8), primary_key=True),
        sa.Column("span", sa.String(1), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("resolved", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("on_time", sa.Integer, nullable=False),
        sa.Column("late", sa.Integer, nullable=False),
    )
    op.create_table(
        "dossier_daily",
        sa.Column("area_id", sa.Integer, primary_key=True),
        sa.Column("span", sa.String(1), primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("received", sa.Integer, nullable=False),
        sa.Column("finished", sa.Integer, nullable=False),
        sa.Column("on_time", sa.Integer, nullable=False),
        sa.Column("late", sa.Integer, nullable=False),
        sa.Column("returned", sa.Integer, nullable=False),
        sa.Column("online", sa.Integer, nullable=False),
    )
    op.execute(r"""
-- Handling time in 10 % wide logarithmic buckets of minutes: percentiles come from these counts.
CREATE FUNCTION summary_hist_bucket(elapsed interval) RETURNS int LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(0, floor(ln(1 + greatest(extract(epoch FROM elapsed), 0) / 60.0) / ln(1.1)))::int
$$;

-- The area and its current parents, itself first.
CREATE FUNCTION summary_ancestors(a int) RETURNS int[] LANGUAGE sql STABLE AS $$
    WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT id, parent_id, 0 FROM areas WHERE id = a
        UNION ALL
        SELECT p.id, p.parent_id, u.depth + 1 FROM areas p JOIN up u ON p.id = u.parent_id WHERE u.depth < 32
    )
    SELECT array_agg(id ORDER BY depth) FROM up
$$;

-- Where the records of an area count today: the area itself, or what replaced it through boundary
-- changes. After a split nobody knows which part a record without a place belongs to, so it counts
-- in the nearest area holding every part.
CREATE FUNCTION summary_area_now(a int) RETURNS int LANGUAGE plpgsql STABLE AS $$
DECLARE
    heirs int[];
    common int[];
    chain int[];
    h int;
BEGIN
    IF a IS NULL THEN
        RETURN NULL;
    END IF;
    WITH RECURSIVE succ(id, depth) AS (
        SELECT a, 0
        UNION ALL
        SELECT l.new_area_id, s.depth + 1 FROM succ s JOIN area_change_links l ON l.old_area_id = s.id
        WHERE s.depth < 32
    )
    SELECT array_agg(DISTINCT s.id) INTO heirs FROM succ s
    WHERE NOT EXISTS (SELECT 1 FROM area_change_links l WHERE l.old_area_id = s.id);
    IF heirs IS NULL OR cardinality(heirs) = 0 THEN
        RETURN a;
    ELSIF cardinality(heirs) = 1 THEN
        RETURN heirs[1];
    END IF;
    FOREACH h IN ARRAY heirs LOOP
        chain := summary_ancestors(h);
        IF common IS NULL THEN
            common := chain;
        ELSE
            common := ARRAY(SELECT x FROM unnest(common) WITH ORDINALITY AS u(x, i) WHERE x = ANY(chain) ORDER BY i);
        END IF;
    END LOOP;
    RETURN coalesce(common[1], a);
END $$;
""")
    op.execute(_trigger_function("report_daily_apply", REPORT_DELTA))
    op.execute(_trigger_function("dossier_daily_apply", DOSSIER_DELTA))
    report_rebuild = _delta(
        REPORT_DELTA,
        "(SELECT 1 AS sign, r.* FROM reports r WHERE r.area_current_id = ANY(leaves))",
        "a.id = ANY(ids)",
    )
    dossier_rebuild = _delta(
        DOSSIER_DELTA, "(SELECT 1 AS sign, d.* FROM dossiers d WHERE d.area_id = ANY(leaves))", "c.id = ANY(ids)"
    )
    op.execute(f"""
-- Recompute the rollup rows of some areas from the records (all areas when ids is NULL).
CREATE FUNCTION summary_rebuild(ids int[]) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    leaves int[];
BEGIN
    IF ids IS NULL THEN
        ids := ARRAY(SELECT id FROM areas);
    END IF;
    -- Every area (retired ones included) whose records count in one of the rebuilt areas.
    leaves := ARRAY(SELECT l.id FROM areas l WHERE summary_ancestors(summary_area_now(l.id)) && ids);
    DELETE FROM report_daily WHERE area_id = ANY(ids);
    DELETE FROM dossier_daily WHERE area_id = ANY(ids);
    {report_rebuild};
    {dossier_rebuild};
END $fn$;

-- A boundary change alters some areas' subtrees: rebuild those, once per area and transaction,
-- at commit (deferred), when every part of the change is in place.
CREATE FUNCTION summary_rebuild_once(ids int[]) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    done int[] := coalesce(nullif(current_setting('summaries.rebuilt', true), ''), '{{}}')::int[];
    todo int[];
BEGIN
    todo := ARRAY(SELECT DISTINCT x FROM unnest(ids) x WHERE x IS NOT NULL AND NOT x = ANY(done));
    IF cardinality(todo) > 0 THEN
        PERFORM summary_rebuild(todo);
        PERFORM set_config('summaries.rebuilt', (done || todo)::text, true);
    END IF;
END $fn$;

-- Areas in one chain but not the other: the ones whose subtree gained or lost something.
CREATE FUNCTION summary_chain_difference(a int[], b int[]) RETURNS int[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY(SELECT x FROM unnest(coalesce(a, '{{}}') || coalesce(b, '{{}}')) x
                 WHERE NOT (x = ANY(coalesce(a, '{{}}')) AND x = ANY(coalesce(b, '{{}}'))))
$$;

CREATE FUNCTION summary_area_moved() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD.parent_id IS DISTINCT FROM NEW.parent_id THEN
        PERFORM summary_rebuild_once(summary_chain_difference(
            summary_ancestors(OLD.parent_id), summary_ancestors(NEW.parent_id)));
    END IF;
    RETURN NULL;
END $fn$;

CREATE FUNCTION summary_area_replaced() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM summary_rebuild_once(summary_chain_difference(
        summary_ancestors(NEW.old_area_id), summary_ancestors(summary_area_now(NEW.old_area_id))));
    RETURN NULL;
END $fn$;

CREATE TRIGGER report_daily_insert AFTER INSERT ON reports REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_daily_apply();
CREATE TRIGGER report_daily_update AFTER UPDATE ON reports REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_daily_apply();
CREATE TRIGGER report_daily_delete AFTER DELETE ON reports REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION report_daily_apply();
CREATE TRIGGER dossier_daily_insert AFTER INSERT ON dossiers REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dossier_daily_apply();
CREATE TRIGGER dossier_daily_update AFTER UPDATE ON dossiers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dossier_daily_apply();
CREATE TRIGGER dossier_daily_delete AFTER DELETE ON dossiers REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION dossier_daily_apply();
CREATE CONSTRAINT TRIGGER summary_area_moved AFTER UPDATE OF parent_id ON areas
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION summary_area_moved();
CREATE CONSTRAINT TRIGGER summary_area_replaced AFTER INSERT ON area_change_links
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION summary_area_replaced();

SELECT summary_rebuild(NULL);
""")  # noqa: S608 - fixed fragments only


def downgrade() -> None:
    op.execute("""
DROP TRIGGER IF EXISTS summary_area_replaced ON area_change_links;
DROP TRIGGER IF EXISTS summary_area_moved ON areas;
DROP TRIGGER IF EXISTS report_daily_insert ON reports;
DROP TRIGGER IF EXISTS report_daily_update ON reports;
DROP TRIGGER IF EXISTS report_daily_delete ON reports;
""")
    op.drop_table("dossiers")  # its triggers go with it
    op.execute("""
DROP FUNCTION IF EXISTS summary_area_replaced(), summary_area_moved(), summary_chain_difference(int[], int[]),
    summary_rebuild_once(int[]), summary_rebuild(int[]), report_daily_apply(), dossier_daily_apply(),
    summary_area_now(int), summary_ancestors(int), summary_hist_bucket(interval);
""")
    for index in ("ix_reports_current_created", "ix_reports_filed_created", "ix_reports_open_created",
                  "ix_reports_open_due"):
        op.drop_index(index, table_name="reports")
    op.drop_index("ix_alerts_area_first", table_name="alerts")
    for table in ("report_daily", "dossier_daily", "area_parent_history"):
        op.drop_table(table)
