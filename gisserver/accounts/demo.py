"""Demo users, one per role, with known passwords printed by the loader (never use in production)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash

from gisserver.accounts.models import User
from gisserver.accounts.users import create_user, grant

DEMO_PASSWORD = "demo-password-2025"  # noqa: S105 - published on purpose; production mode refuses it
DEMO_USERNAMES = ("admin", "planner", "leader", "ward-leader", "officer")


@dataclass(frozen=True)
class DemoUser:
    username: str
    roles: tuple[str, ...]
    description: str


def create_demo_users(session: Session, *, city_area_id: int, ward_area_id: int, ward_unit_ids: list[int]):
    """admin, planner, a city leader, a ward leader and a ward officer working its units' queues."""
    made = []
    # Display names are people's names: history entries and pages name who acted by them.
    specs = [
        ("admin", ("admin",), "administrator", "Quản trị hệ thống", {}),
        ("planner", ("planner",), "planner: manages layers", "Lê Thị Quy Hoạch", {}),
        ("leader", ("leader",), "city leader: sees the whole city", "Trần Văn Lãnh", {"areas": [city_area_id]}),
        ("ward-leader", ("leader",), "ward leader: sees one ward", "Phạm Thị Phường", {"areas": [ward_area_id]}),
        ("officer", ("officer",), "ward officer: works the ward's police and committee queues", "Nguyễn Văn An",
         {"areas": [ward_area_id], "units": ward_unit_ids}),
    ]
    for username, roles, description, display_name, grants in specs:
        user = create_user(session, username, DEMO_PASSWORD, roles, display_name=display_name)
        for area_id in grants.get("areas", []):
            grant(session, user, area_id=area_id)
        for unit_id in grants.get("units", []):
            grant(session, user, unit_id=unit_id)
        made.append(DemoUser(username, roles, description))
    return made


def active_demo_users(session: Session) -> list[str]:
    """Demo users that can still sign in with the demo password (what production mode refuses to run with)."""
    users = session.scalars(select(User).where(User.username.in_(DEMO_USERNAMES), User.active.is_(True)))
    return sorted(user.username for user in users if check_password_hash(user.password_hash, DEMO_PASSWORD))
