"""Who may see and change what in reports/: one set of rules for every route, list, map, page and summary.

(The cameras' own rules, built on the same scopes, are in reports.cameras.access.)

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

from dataclasses import dataclass

from sqlalchemy import false, or_
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from reports.areas import sql as geo
from reports.workflow.models import Report


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


def area_or_unit_condition(scope: Scope, area_column, unit_condition):
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
    return area_or_unit_condition(scope, Report.area_current_id, Report.unit_id.in_)


def sees_reporter(principal: Principal | None, report: Report) -> bool:
    """The reporter's name and phone are for the unit the report is assigned to (and admins), nobody else:
    not leaders reading figures, not officers of other units sharing the area."""
    if principal is None:
        return False
    return principal.is_admin or (report.unit_id is not None and report.unit_id in principal.unit_ids)
