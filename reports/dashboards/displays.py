"""Wall screens: a display token opens some dashboards read-only, for as long as it is not revoked.

The token is made by a leader for dashboards they may see. A display sees each dashboard as its owner sees it at
that moment (their areas, re-read on every request: an owner who loses a grant, the leader role or their account
takes it from the wall too), but as a machine, not a person: internal layers stay off walls, as they stay off
every machine's answers. Only the token's SHA-256 is stored; the secret is shown once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from gisserver.accounts.users import Principal, principal_for_user
from gisserver.core.exceptions import Invalid, NotFound
from reports.dashboards.evaluate import Viewer
from reports.dashboards.models import Dashboard, DashboardDisplay
from reports.dashboards.service import get_dashboard, may_view, owner_of

PREFIX = "gsd_"  # not "gs_": a display token is never a bearer token of the API
MAX_DASHBOARDS = 12
REFRESH = (15, 3600)  # seconds between two refreshes of a panel's figures
ROTATE = (10, 3600)  # seconds each dashboard stays on screen when a display shows several


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _seconds(value, name: str, bounds: tuple[int, int], default: int) -> int:
    if value is None:
        return default
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{name} must be a whole number of seconds from {low} to {high}", {"field": name})
    return value


def create_display(session: Session, principal: Principal, body) -> tuple[DashboardDisplay, str]:
    """A display for dashboards the caller may see; returns the row and the secret (shown once)."""
    if not isinstance(body, dict) or set(body) - {"name", "dashboards", "refresh_seconds", "rotate_seconds"}:
        raise Invalid('send {"name": ..., "dashboards": [ids], "refresh_seconds": n, "rotate_seconds": n}')
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise Invalid("name must be text of 1 to 100 characters", {"field": "name"})
    ids = body.get("dashboards")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_DASHBOARDS or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids):
        raise Invalid(f"dashboards is a list of 1 to {MAX_DASHBOARDS} dashboard ids", {"field": "dashboards"})
    ids = list(dict.fromkeys(ids))
    for dashboard_id in ids:
        get_dashboard(session, principal, dashboard_id)  # 404 for one the caller may not see
    secret = PREFIX + secrets.token_urlsafe(32)
    display = DashboardDisplay(name=name.strip(), token_hash=_hash(secret), owner_id=owner_of(session, principal),
                               dashboard_ids=ids,
                               refresh_seconds=_seconds(body.get("refresh_seconds"), "refresh_seconds", REFRESH, 60),
                               rotate_seconds=_seconds(body.get("rotate_seconds"), "rotate_seconds", ROTATE, 30))
    session.add(display)
    session.flush()
    return display, secret


def list_displays(session: Session, principal: Principal) -> list[DashboardDisplay]:
    query = select(DashboardDisplay).where(DashboardDisplay.revoked_at.is_(None)).order_by(DashboardDisplay.id)
    if not principal.is_admin:
        query = query.where(DashboardDisplay.owner_id == owner_of(session, principal))
    return list(session.scalars(query))


def revoke_display(session: Session, principal: Principal, display_id: int) -> None:
    display = session.get(DashboardDisplay, display_id)
    if display is None or display.revoked_at is not None or (
            not principal.is_admin and display.owner_id != owner_of(session, principal)):
        raise NotFound(f"no display {display_id}")
    display.revoked_at = datetime.now(UTC)
    session.flush()


def display_json(display: DashboardDisplay) -> dict:
    return {"id": display.id, "name": display.name, "dashboards": display.dashboard_ids,
            "refresh_seconds": display.refresh_seconds, "rotate_seconds": display.rotate_seconds,
            "created_at": display.created_at.isoformat() if display.created_at else None}


@dataclass
class Wall:
    display: DashboardDisplay
    viewer: Viewer
    dashboards: list[Dashboard]


def wall_for(session: Session, secret: str | None, *, english: bool = False) -> Wall | None:
    """What a display token opens now, or None when the token is unknown or revoked, or its owner may no longer
    open dashboards (an inactive account, no leader role)."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    display = session.scalar(select(DashboardDisplay).where(DashboardDisplay.token_hash == _hash(secret)))
    if display is None or display.revoked_at is not None:
        return None
    owner = session.get(User, display.owner_id)
    if owner is None or not owner.active:
        return None
    principal = principal_for_user(session, owner)
    if not principal.has_role("leader"):
        return None
    dashboards = [d for d in (session.get(Dashboard, i) for i in display.dashboard_ids)
                  if d is not None and may_view(session, principal, d, owner_id=owner.id)]
    return Wall(display, Viewer(principal, display=True, english=english), dashboards)
