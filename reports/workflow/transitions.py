"""Report workflow: status transitions, reassignment, merging duplicates, moving a misplaced point.

Every change appends a ReportEvent; the history table refuses edits in the database. What the system did goes
into the entry's *details* as data (where a report went, how far it moved), what a person wrote into its *note*:
pages put the two together in the reader's language (reports.workflow.history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Conflict, Invalid, NotFound
from reports.areas import sql as area_sql
from reports.areas.models import Area
from reports.areas.service import ancestors, area_by_code, area_chain_for_point
from reports.areas.units import unit_by_code
from reports.workflow import sql as report_sql
from reports.workflow.changes import ReportChange, announce
from reports.workflow.models import OPEN_STATUSES, Report, ReportEvent
from reports.workflow.routing import route

# Closing a report answers the resident: the text (and any photo of the fix) is what their status page shows.
ANSWERED_ACTIONS = ("resolve", "reject")


@dataclass(frozen=True)
class Transition:
    to: str
    sources: tuple[str, ...]
    needs_note: bool = False


TRANSITIONS = {
    "acknowledge": Transition("acknowledged", ("new",)),
    "start": Transition("in_progress", ("new", "acknowledged")),
    "resolve": Transition("resolved", ("new", "acknowledged", "in_progress")),
    "reject": Transition("rejected", OPEN_STATUSES, needs_note=True),
    "reopen": Transition("in_progress", ("resolved",), needs_note=True),
}


@dataclass(frozen=True)
class Step:
    """A checked workflow action: where it leads, its trimmed note and when it happens."""

    transition: Transition
    note: str
    at: datetime


def check_step(what: str, status: str, action: str, note: str | None, at: datetime | None,
               since: datetime) -> Step:
    """The rules every workflow (reports, alerts) shares: a known action, allowed from `status` (else 409),
    a reason where one is needed, and a time not before the record began."""
    step = TRANSITIONS.get(action)
    if step is None:
        raise Invalid(f"action must be one of {', '.join(TRANSITIONS)}", {"field": "action"})
    if status not in step.sources:
        raise Conflict(f"cannot {action} {what} that is {status}")
    note = (note or "").strip()
    if step.needs_note and not note:
        raise Invalid(f"a reason is required to {action}", {"field": "note"})
    at = at or datetime.now(UTC)
    if at < since:
        raise Invalid(f"a change cannot precede the {what.split()[-1]}")
    return Step(step, note, at)


def get_report(session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("no such report")
    return report


def _event(session: Session, report: Report, at: datetime, actor: str, action: str, old: str | None,
           note: str = "", details: dict | None = None) -> ReportEvent:
    event = ReportEvent(report_id=report.id, at=at, actor=actor, action=action, from_status=old,
                        to_status=report.status, note=note, details=details)
    session.add(event)
    announce(session, ReportChange(report, action, old, actor, note, at))
    return event


def _set_status(report: Report, status: str, at: datetime, note: str) -> None:
    report.status = status
    report.updated_at = at
    if status == "acknowledged" or (status == "in_progress" and report.acknowledged_at is None):
        report.acknowledged_at = report.acknowledged_at or at
    if status in ("resolved", "rejected"):
        report.closed_at = at
        report.resolution = note or None
    elif status in OPEN_STATUSES:
        report.closed_at = None


def transition(session: Session, report: Report, action: str, *, actor: str, note: str = "",
               at: datetime | None = None) -> Report:
    """Apply a workflow action; an illegal one is a 409, a missing reason (or answer to the resident) a 400."""
    if report.merged_into_id is not None and action in TRANSITIONS:
        raise Conflict("this report was merged; act on the main report")
    checked = check_step("a report", report.status, action, note, at, since=report.created_at)
    note, at = checked.note, checked.at
    if action in ANSWERED_ACTIONS and not note:
        raise Invalid(f"write the answer the resident will read to {action} the report",
                      {"field": "note", "reason": "answer_required"})
    old = report.status
    _set_status(report, checked.transition.to, at, note)
    _event(session, report, at, actor, action, old, note)
    # Merged duplicates follow their main report.
    for merged in session.scalars(select(Report).where(Report.merged_into_id == report.id)):
        previous = merged.status
        _set_status(merged, report.status, at, note)
        _event(session, merged, at, actor, f"follow_{action}", previous, details={"main": report.tracking_code})
    session.flush()
    return report


MAX_COMMENT = 2000


def comment(session: Session, report: Report, *, actor: str, text: str, at: datetime | None = None) -> Report:
    """An answer to the resident about their report, without a change of status (they are told of it)."""
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise Invalid("write the answer to the resident", {"field": "text"})
    if len(text) > MAX_COMMENT:
        raise Invalid(f"an answer is at most {MAX_COMMENT} characters", {"field": "text"})
    if report.merged_into_id is not None:
        raise Conflict("this report was merged; answer on the main report")
    at = at or datetime.now(UTC)
    report.updated_at = at
    _event(session, report, at, actor, "comment", report.status, text)
    session.flush()
    return report


def reassign(session: Session, report: Report, *, actor: str, reason: str, unit_code: str | None = None,
             area_code: str | None = None, at: datetime | None = None) -> Report:
    """Hand a report to another unit, or to the responsible unit of another area."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a reason is required to reassign", {"field": "reason"})
    if not unit_code and not area_code:
        raise Invalid("name a unit or an area", {"field": "unit"})
    if report.status not in OPEN_STATUSES:
        raise Conflict(f"cannot reassign a report that is {report.status}")
    at = at or datetime.now(UTC)
    details = {}
    if area_code:
        area = area_by_code(session, area_code)
        if area.valid_to is not None:
            raise Invalid(f"area {area_code} no longer exists", {"field": "area"})
        report.area_current_id = area.id
        details |= {"area": area.code, "area_name": area.name}
        if not unit_code:
            unit = route(session, report.category, ancestors(session, area))
            report.unit_id = unit.id if unit else None
    if unit_code:
        unit = unit_by_code(session, unit_code)
        if not unit.active:
            raise Invalid(f"unit {unit_code} is not active", {"field": "unit"})
        report.unit_id = unit.id
    session.flush()
    session.refresh(report)
    if report.unit is not None:
        details |= {"unit": report.unit.code, "unit_name": report.unit.name}
    report.updated_at = at
    _event(session, report, at, actor, "reassign", report.status, reason, details)
    session.flush()
    session.refresh(report)
    return report


def merge(session: Session, main: Report, duplicates: list[Report], *, actor: str,
          at: datetime | None = None) -> Report:
    """Merge duplicates into *main*: they take its status from now on."""
    if not duplicates:
        raise Invalid("name the duplicates to merge", {"field": "duplicates"})
    if main.merged_into_id is not None:
        raise Conflict("the main report is itself merged into another")
    at = at or datetime.now(UTC)
    for dup in duplicates:
        if dup.id == main.id:
            raise Invalid("a report cannot be merged into itself")
        if dup.merged_into_id is not None:
            raise Conflict(f"report {dup.tracking_code} is already merged")
        if session.scalar(select(Report.id).where(Report.merged_into_id == dup.id).limit(1)):
            raise Conflict(f"report {dup.tracking_code} has duplicates of its own; merge those first")
        previous = dup.status
        dup.merged_into_id = main.id
        _set_status(dup, main.status, at, main.resolution or "")
        _event(session, dup, at, actor, "merge", previous, details={"into": main.tracking_code})
    _event(session, main, at, actor, "absorb", main.status,
           details={"duplicates": [d.tracking_code for d in duplicates]})
    session.flush()
    return main


def move(session: Session, report: Report, lon: float, lat: float, *, actor: str, reason: str = "",
         at: datetime | None = None) -> Report:
    """Correct a report's point: its areas follow, the unit is re-routed if the ward changed."""
    chain = area_chain_for_point(session, lon, lat, on=(at or datetime.now(UTC)).date())
    if not chain:
        raise Invalid("this place is outside the city", {"field": "location", "reason": "outside_city"})
    at = at or datetime.now(UTC)
    old_area = report.area_current_id
    details = {"to": [round(lon, 7), round(lat, 7)], "area": chain[0].code, "area_name": chain[0].name}
    step = report_sql.step_between(session, report.id, lon, lat)
    if step is not None:  # how far, which way: "120 m to the north-east"
        details |= {"metres": round(step.metres, 1), "bearing": round(step.bearing, 1)}
    report.geom = from_shape(Point(lon, lat), srid=4326)
    report.area_filed_id = chain[0].id  # the old point was a mistake: correct where it was filed too
    report.area_current_id = chain[0].id
    report.outside_city = False
    if old_area != chain[0].id and report.status in OPEN_STATUSES:
        unit = route(session, report.category, chain)
        report.unit_id = unit.id if unit else None
        if unit is not None:
            details |= {"unit": unit.code, "unit_name": unit.name}
    report.updated_at = at
    _event(session, report, at, actor, "move", report.status, reason.strip(), details)
    session.flush()
    session.refresh(report)
    return report


def add_support(session: Session, report: Report, *, channel: str = "qr_web", at: datetime | None = None) -> Report:
    """Another resident sees the same open problem ("add your voice"): an entry in the history, no status change."""
    if report.status not in OPEN_STATUSES or report.merged_into_id is not None:
        raise Conflict("this report is closed; send a new one if the problem is back")
    _event(session, report, at or datetime.now(UTC), "anonymous", "support", report.status,
           details={"channel": channel})
    session.flush()
    return report


def follow_area_change(session: Session, retired_ids: set[int], new_areas: list[Area], effective: date) -> None:
    """After a merger or split: reports filed in retired areas move to the area now holding their point, or to
    the first new area when they have none (the areas' "area_changed" hook)."""
    for row in report_sql.reports_in_areas(session, retired_ids):
        report = session.get(Report, row.id)
        chain = area_sql.area_chain_ids(session, row.lon, row.lat, effective) if row.located else []
        report.area_current_id = chain[0] if chain else new_areas[0].id
