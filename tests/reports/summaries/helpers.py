"""Test histories for the summaries, and the figures recomputed from the raw rows in plain Python."""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from reports.areas.models import Area
from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Category, Report
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WEST_GROUP_2 = (107.55, 16.47)  # in T-W-02
CATEGORIES = ("moi_truong_rac_thai", "vi_pham_giao_thong", "tieng_on")
CHANNELS = ("qr_web", "api", "phone")
OPEN = ("new", "acknowledged", "in_progress")


def file(db, point, days_ago: float, category="moi_truong_rac_thai", channel="qr_web", now=None):
    at = (now or datetime.now(UTC)) - timedelta(days=days_ago)
    report, _ = submit_report(db, ReportInput(category, "Rác thải ùn ứ nhiều ngày", *point, channel=channel),
                              staff=channel == "phone", now=at)
    return report


def build_history(db, seed: int = 7, count: int = 60, now=None) -> list[Report]:
    """Reports over the last 80 days in both wards, handled on time, late, rejected or left open."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    reports = []
    for i in range(count):
        point = (WEST_INSIDE, WEST_GROUP_2, EAST_INSIDE)[i % 3]
        days = rng.uniform(0.2, 80)
        report = file(db, point, days, CATEGORIES[i % 3], CHANNELS[(i // 3) % 3], now)
        deadline = report.due_at - report.created_at
        outcome = rng.choice(("on_time", "late", "reject", "open", "on_time", "boundary", "just_late"))
        if outcome == "on_time":
            at = report.created_at + deadline * 0.5
        elif outcome == "late":
            at = report.created_at + deadline * 1.7
        elif outcome == "boundary":
            at = report.due_at  # closed at the deadline exactly: on time
        elif outcome == "just_late":
            at = report.due_at + timedelta(seconds=1)
        else:
            at = report.created_at + deadline * 0.3
        if at < now:
            action = "reject" if outcome == "reject" else ("start" if outcome == "open" else "resolve")
            workflow.transition(db, report, action, actor="test",
                                note="lý do" if action in ("reject", "resolve") else "", at=at)
        reports.append(report)
    # One duplicate merged into another report: it is counted once, in its main report.
    dup = file(db, WEST_INSIDE, 3, now=now)
    workflow.merge(db, reports[0], [dup], actor="test", at=now - timedelta(days=2))
    db.commit()
    return reports


def local_start(day) -> datetime:
    return datetime.combine(day, time.min, TZ)


class Truth:
    """The figures of a summary recomputed from the raw rows, with the ids each figure counts."""

    def __init__(self, db, *, date_from, date_to, t: datetime, leaf_to_target, dossiers=False):
        self.db, self.t = db, t
        self.start, self.stop = local_start(date_from), min(local_start(date_to + timedelta(days=1)), t)
        self.leaf_to_target = leaf_to_target  # (report) -> list of area codes the report counts in
        self.categories = {c.id: c.code for c in db.scalars(select(Category))}

    def reports(self):
        for r in self.db.scalars(select(Report)):
            if r.merged_into_id is None and self.start <= r.created_at < self.stop:
                yield r

    def state(self, r) -> dict:
        closed = r.status in ("resolved", "rejected") and r.closed_at is not None and r.closed_at < self.t
        return {
            "received": True, "resolved": closed and r.status == "resolved",
            "rejected": closed and r.status == "rejected", "closed": closed, "open": not closed,
            "on_time": closed and r.closed_at <= r.due_at, "late": closed and r.closed_at > r.due_at,
            "overdue": not closed and r.due_at < self.t,
        }

    def ids(self, target: str, measure: str, where=lambda r: True) -> set[int]:
        return {r.id for r in self.reports() if target in self.leaf_to_target(r) and self.state(r)[measure]
                and where(r)}

    def counts(self, target: str, where=lambda r: True) -> dict:
        totals = Counter()
        for r in self.reports():
            if target in self.leaf_to_target(r) and where(r):
                for k, v in self.state(r).items():
                    totals[k] += int(v)
        return {k: totals[k] for k in ("received", "resolved", "rejected", "open", "overdue", "on_time", "late")}

    def handling_hours(self, target: str) -> list[float]:
        return sorted((r.closed_at - r.created_at).total_seconds() / 3600 for r in self.reports()
                      if target in self.leaf_to_target(r) and self.state(r)["closed"])


def exact_percentile(values: list[float], q: float) -> float:
    """The value at rank q*n (the same rank the histogram interpolation targets)."""
    rank = max(1, math.ceil(q * len(values)))
    return values[rank - 1]


def ancestors_now(db):
    areas = {a.id: a for a in db.scalars(select(Area))}

    def codes(area_id):
        chain = []
        while area_id is not None:
            chain.append(areas[area_id].code)
            area_id = areas[area_id].parent_id
        return chain

    return codes


def group_by(values, key):
    grouped = defaultdict(list)
    for v in values:
        grouped[key(v)].append(v)
    return grouped
