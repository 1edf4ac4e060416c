"""Who may see and change what in reports/: one set of rules for every route, list, map, page and summary.

People work on what their grants cover: an area grants its whole subtree, a unit its queue; admins work on
everything. Leaders read, officers also write. Machine tokens carry scopes naming exactly what they may
write: ``camera:<code>`` (one camera's heartbeats and events), ``hotspot:<code>`` (one gauge's readings),
``readings:write`` (an integration feeding every gauge).

Views and services ask here rather than testing roles or ids themselves, so that a rule changes in one place.
Reports outside the caller's scope are "not found" (their existence is not disclosed); cameras and hotspots
are public facts, so writing one outside the scope is "forbidden".

Why no PostgreSQL row-level security behind this: what is scoped is not which report rows may be read (the
public side of every report is read anonymously through Open311 and the status page, and duplicate checks
and alert links look across ward borders inside scoped requests) but which columns (the staff view, the
reporter's contact) and which writes. And the app connects as the owner of its tables, which RLS exempts
unless forced, and forcing it would need a bypass for the CLI, the demo loader and pg_dump that fails open
whenever a request forgets to set its scope. The backstop is instead tests/test_access_matrix.py: every
route of the app, every kind of caller, every answer searched for what the caller may not see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import false, or_
from sqlalchemy.orm import Session

from gisserver.users import Principal
from reports import geo
from reports.camera_models import Alert, Camera, Hotspot
from reports.models import Report

READINGS_SCOPE = "readings:write"


@dataclass(frozen=True)
class Scope:
    """What a principal's grants cover, with area grants expanded to their subtrees."""

    everything: bool
    area_ids: frozenset[int]
    unit_ids: frozenset[int]

    def covers(self, *, area_id: int | None = None, unit_id: int | None = None) -> bool:
        return self.everything or (area_id is not None and area_id in self.area_ids) or (
            unit_id is not None and unit_id in self.unit_ids)


def scope_of(session: Session, principal: Principal | None) -> Scope:
    """The caller's scope; anonymous callers and machine tokens cover nothing."""
    if principal is None:
        return Scope(False, frozenset(), frozenset())
    if principal.is_admin:
        return Scope(True, frozenset(), frozenset())
    return Scope(False, frozenset(geo.area_subtree_ids(session, principal.area_ids)), principal.unit_ids)


def _condition(scope: Scope, area_column, unit_condition):
    if scope.everything:
        return None
    conditions = []
    if scope.unit_ids:
        conditions.append(unit_condition(sorted(scope.unit_ids)))
    if scope.area_ids:
        conditions.append(area_column.in_(sorted(scope.area_ids)))
    return or_(*conditions) if conditions else false()


def report_condition(scope: Scope):
    """SQL condition on reports for a scope, or None when it covers everything."""
    return _condition(scope, Report.area_current_id, Report.unit_id.in_)


def alert_condition(scope: Scope):
    """SQL condition on alerts (routed to several units, placed in one area), or None for everything."""
    return _condition(scope, Alert.area_id, Alert.unit_ids.overlap)


def sees_reporter(principal: Principal | None, report: Report) -> bool:
    """The reporter's name and phone are for the unit the report is assigned to (and admins), nobody else:
    not leaders reading figures, not officers of other units sharing the area."""
    if principal is None:
        return False
    return principal.is_admin or (report.unit_id is not None and report.unit_id in principal.unit_ids)


def camera_manager(session: Session, principal: Principal | None) -> Callable[[Camera], bool]:
    """Whether the caller may change a camera: officers those of their areas or units, admins any.

    Returns a test, so that an import of many cameras works out the caller's scope once.
    """
    if principal is None or not principal.has_role("officer"):
        return lambda camera: False
    scope = scope_of(session, principal)
    return lambda camera: scope.covers(area_id=camera.area_id, unit_id=camera.owner_unit_id)


def may_manage_camera(session: Session, principal: Principal | None, camera: Camera) -> bool:
    return camera_manager(session, principal)(camera)


def may_act_for_camera(session: Session, principal: Principal | None, camera: Camera) -> bool:
    """A camera's own token, or staff who manage it, may send its heartbeats and AI events."""
    if principal is None:
        return False
    return f"camera:{camera.code}" in principal.scopes or may_manage_camera(session, principal, camera)


def may_write_readings(session: Session, principal: Principal | None, hotspot: Hotspot) -> bool:
    """A gauge's own token (hotspot:<code>), a gauge integration (readings:write), or an officer of the area."""
    if principal is None:
        return False
    if READINGS_SCOPE in principal.scopes or f"hotspot:{hotspot.code}" in principal.scopes:
        return True
    return principal.has_role("officer") and scope_of(session, principal).covers(area_id=hotspot.area_id)
