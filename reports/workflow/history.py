"""A report's history as people read it: who acted (a person's name and unit, "a resident by QR code"), and what the
system did as data, whatever the entry's age (older entries kept that in English notes, read back here).

reports.workflow.labels turns these entries into sentences in the reader's language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User, UserGrant
from reports.areas.models import Area, Unit
from reports.workflow.models import Report, ReportEvent

PERSON_PREFIXES = ("user:", "token:")
UNIT_PREFIX = "unit:"  # an action recorded for a unit as a whole (imports, the demo's other wards)
# Entries written before the facts were kept as data said them in English: read them back.
_LEGACY = {
    "channel": re.compile(r"^channel (?P<channel>\w+)$"),
    "follows": re.compile(r"^follows (?P<main>[A-Z0-9]+)$"),
    "merged": re.compile(r"^merged into (?P<into>[A-Z0-9]+)$"),
    "moved": re.compile(r"^moved to (?P<lon>-?[\d.]+), (?P<lat>-?[\d.]+)$"),
}


@dataclass(frozen=True)
class Actor:
    """Who made an entry: a staff member (name, unit), a resident (by the channel they used) or the system."""

    kind: str  # "staff", "resident" or "system"
    name: str | None = None
    unit: str | None = None
    channel: str | None = None


def _legacy(event: ReportEvent) -> tuple[str, dict]:
    note, details = event.note or "", dict(event.details or {})
    if details:
        return note, details
    if event.action == "created" and (m := _LEGACY["channel"].match(note)):
        return "", {"channel": m["channel"]}
    if event.action.startswith("follow_") and (m := _LEGACY["follows"].match(note)):
        return "", {"main": m["main"]}
    if event.action == "merge" and (m := _LEGACY["merged"].match(note)):
        return "", {"into": m["into"]}
    if event.action == "absorb" and note:
        return "", {"duplicates": [code.strip() for code in note.split(",") if code.strip()]}
    if event.action == "move" and (m := _LEGACY["moved"].match(note)):
        return "", {"to": [float(m["lon"]), float(m["lat"])]}
    return note, details


def _people(session: Session, usernames: set[str], report: Report) -> dict[str, Actor]:
    """Staff by username: display name, and the unit they act for (the report's own, if theirs)."""
    if not usernames:
        return {}
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(usernames)))}
    grants = session.execute(select(UserGrant.user_id, UserGrant.unit_id, UserGrant.area_id)
                             .where(UserGrant.user_id.in_([u.id for u in users.values()]))).all()
    unit_ids = {g.unit_id for g in grants if g.unit_id}
    area_ids = {g.area_id for g in grants if g.area_id}
    units = {u.id: u.name for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    areas = {a.id: a.name for a in session.scalars(select(Area).where(Area.id.in_(area_ids)))} if area_ids else {}
    found = {}
    for username, user in users.items():
        mine = sorted((g for g in grants if g.user_id == user.id), key=lambda g: (g.unit_id is None, g.unit_id or 0,
                                                                                   g.area_id or 0))
        own = [g.unit_id for g in mine if g.unit_id]
        if report.unit_id in own:
            where = units.get(report.unit_id)
        elif own:
            where = units.get(own[0])
        else:
            where = next((areas[g.area_id] for g in mine if g.area_id in areas), None)
        found[username] = Actor("staff", user.display_name or user.username, where)
    return found


def actor_of(label: str, people: dict[str, Actor], channel: str | None) -> Actor:
    """An entry's actor label ("user:officer", "unit:HUE-01-CA", "anonymous", "cli:demo-loader") as a person, a
    unit or a resident."""
    for prefix in PERSON_PREFIXES:
        if label.startswith(prefix):
            name = label.removeprefix(prefix)
            return people.get(name, Actor("staff", name))
    if label.startswith(UNIT_PREFIX):
        return people.get(label, Actor("staff", None, label.removeprefix(UNIT_PREFIX)))
    if label == "anonymous":
        return Actor("resident", channel=channel)
    return Actor("system")


def entries(session: Session, report: Report, events: list[ReportEvent]) -> list[dict]:
    """The history entries with their actors resolved and their facts as data."""
    usernames = {e.actor.split(":", 1)[1] for e in events if e.actor.startswith(PERSON_PREFIXES)}
    people = _people(session, usernames, report)
    unit_codes = {e.actor.removeprefix(UNIT_PREFIX) for e in events if e.actor.startswith(UNIT_PREFIX)}
    if unit_codes:
        for unit in session.scalars(select(Unit).where(Unit.code.in_(unit_codes))):
            people[UNIT_PREFIX + unit.code] = Actor("staff", None, unit.name)
    found = []
    for event in events:
        note, details = _legacy(event)
        channel = report.channel if event.action == "created" else details.get("channel")
        found.append({"at": event.at, "action": event.action, "from": event.from_status, "to": event.to_status,
                      "note": note, "details": details, "actor": actor_of(event.actor, people, channel)})
    return found
