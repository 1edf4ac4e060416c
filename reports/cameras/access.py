"""Who may change cameras and gauges and see alerts: the scope rules of reports.workflow.access, applied to them.

Machine tokens carry scopes naming exactly what they may write: ``camera:<code>`` (one camera's heartbeats and
events), ``hotspot:<code>`` (one gauge's readings), ``readings:write`` (an integration feeding every gauge).
Cameras and hotspots are public facts, so writing one outside the scope is "forbidden", not "not found".
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from reports.cameras.models import Alert, Camera, Hotspot
from reports.workflow.access import Scope, area_or_unit_condition, scope_of

READINGS_SCOPE = "readings:write"


def alert_condition(scope: Scope):
    """SQL condition on alerts (routed to several units, placed in one area), or None for everything."""
    return area_or_unit_condition(scope, Alert.area_id, Alert.unit_ids.overlap)


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
