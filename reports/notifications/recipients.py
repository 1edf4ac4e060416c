"""Who is told what: a unit's duty contacts in their hours, staff by their profiles and quiet hours, the resident
who asked to hear back, webhook subscribers, and push subscriptions.

Each function returns Targets; fanout.py turns them into deliveries. Quiet hours and duty hours give a time to
send at (never skipped): urgent events ignore quiet hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User, UserGrant
from reports.areas.models import Area
from reports.areas.service import ancestors
from reports.notifications.models import (
    DutyContact,
    NotificationProfile,
    PushSubscription,
)

CITY_TIME = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Target:
    channel: str
    recipient: str
    kind: str  # unit, user, resident, subscriber
    language: str = "vi"
    not_before: datetime | None = None
    ref_id: int | None = None  # the contact, subscriber or subscription row
    # A webhook's signing secret and whether it may reach a private address, read with it (fanout.write_deliveries)
    secret: str | None = None
    allow_private: bool = False


# The statements fanning out every event runs, built once (the worker fans out a hundred events a second on a
# flood day; building a statement costs more than running it) and over the tables, not the ORM classes: the rows
# are read, never changed, and plain rows skip the ORM's work for each.
_contacts, _profiles, _users = DutyContact.__table__, NotificationProfile.__table__, User.__table__
_UNIT_CONTACTS = select(_contacts).where(_contacts.c.unit_id.in_(bindparam("unit_ids", expanding=True)),
                                         _contacts.c.active).order_by(_contacts.c.unit_id, _contacts.c.id)
_PROFILES = select(_profiles).join(_users, _users.c.id == _profiles.c.user_id) \
    .where(_profiles.c.user_id.in_(bindparam("user_ids", expanding=True)), _users.c.active)
_UNIT_USERS = select(UserGrant.__table__.c.user_id) \
    .where(UserGrant.__table__.c.unit_id.in_(bindparam("unit_ids", expanding=True)))


def _in_window(start: time | None, end: time | None, at: time) -> bool:
    if start is None or end is None or start == end:
        return True
    return start <= at < end if start < end else (at >= start or at < end)


def next_window_start(start: time, now: datetime) -> datetime:
    local = now.astimezone(CITY_TIME)
    candidate = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def contact_rows(found: list[dict] | None) -> list[SimpleNamespace]:
    """Duty contacts read as JSON (fanout.load_event reads those of an event's units with it), as rows again."""
    return [SimpleNamespace(**{**row, **{key: time.fromisoformat(row[key]) if row[key] else None
                                         for key in ("on_duty_from", "on_duty_to")}}) for row in found or []]


def unit_contacts(session: Session, unit_ids: list[int], now: datetime, urgent: bool,
                  rows: list | None = None) -> list[Target]:
    """The units' contacts on duty now; a unit with nobody on duty gets the first of its contacts at the start of
    the next duty window (or at once, when urgent). *rows*: the units' active contacts, when read already."""
    targets: list[Target] = []
    local = now.astimezone(CITY_TIME).time()
    if rows is None:
        rows = session.execute(_UNIT_CONTACTS, {"unit_ids": unit_ids}).all() if unit_ids else []
    by_unit: dict[int, list] = {}
    for row in rows:
        by_unit.setdefault(row.unit_id, []).append(row)
    for contacts in by_unit.values():
        on_duty = [c for c in contacts if _in_window(c.on_duty_from, c.on_duty_to, local)]
        if on_duty or urgent:
            chosen = on_duty or contacts
            targets += [_contact_target(c) for c in chosen]
        else:
            first = min(contacts, key=lambda c: next_window_start(c.on_duty_from, now))
            targets.append(_contact_target(first, next_window_start(first.on_duty_from, now)))
    return targets


def _contact_target(contact, not_before: datetime | None = None) -> Target:
    webhook = contact.channel == "webhook"
    return Target(contact.channel, contact.address, "unit", contact.language, not_before, ref_id=contact.id,
                  secret=contact.secret if webhook else None, allow_private=webhook and contact.allow_private)


def _profile_targets(session: Session, user_ids: set[int], now: datetime, urgent: bool,
                     digest: bool = False) -> list[Target]:
    targets: list[Target] = []
    if not user_ids:
        return targets
    profiles = session.execute(_PROFILES, {"user_ids": sorted(user_ids)})
    local = now.astimezone(CITY_TIME).time()
    for profile in profiles:
        if digest and not profile.digest:
            continue
        quiet = profile.quiet_from is not None and _in_window(profile.quiet_from, profile.quiet_to, local)
        not_before = next_window_start(profile.quiet_to, now) if quiet and not urgent else None
        for channel in profile.channels:
            if channel == "email" and profile.email:
                targets.append(Target("email", profile.email, "user", profile.language, not_before))
            elif channel == "sms" and profile.phone:
                targets.append(Target("sms", profile.phone, "user", profile.language, not_before))
            elif channel == "push" and not digest:
                for sub in session.scalars(select(PushSubscription).where(PushSubscription.user_id == profile.user_id)):
                    targets.append(Target("push", sub.endpoint, "user", profile.language, not_before, ref_id=sub.id))
    return targets


def unit_users(session: Session, unit_ids: list[int], now: datetime, urgent: bool,
               user_ids: list[int] | None = None) -> list[Target]:
    """Staff granted one of the units, through the channels they chose. *user_ids*: those granted, when read
    already."""
    if user_ids is not None:
        users = set(user_ids)
    else:
        users = set(session.scalars(_UNIT_USERS, {"unit_ids": unit_ids})) if unit_ids else set()
    return _profile_targets(session, users, now, urgent)


def area_leaders(session: Session, area_ids: list[int], now: datetime, urgent: bool, *,
                 digest: bool = False) -> list[Target]:
    """Leaders granted exactly one of these areas (a ward's leaders, the city's leaders)."""
    if not area_ids:
        return []
    users = set(session.scalars(
        select(UserGrant.user_id).join(User, User.id == UserGrant.user_id)
        .where(UserGrant.area_id.in_(area_ids), User.roles.any("leader"))))
    return _profile_targets(session, users, now, urgent, digest=digest)


def area_staff(session: Session, area_id: int | None, now: datetime, urgent: bool) -> list[Target]:
    """Officers and leaders whose granted areas hold *area_id* (a hotspot, a camera)."""
    if area_id is None:
        return []
    chain = [a.id for a in ancestors(session, session.get(Area, area_id))]
    users = set(session.scalars(select(UserGrant.user_id).where(UserGrant.area_id.in_(chain))))
    return _profile_targets(session, users, now, urgent)


def direct(session: Session, to: dict) -> list[Target]:
    """The person an event names (outbox.record_direct): their email from their notification choices, whatever
    channels they chose for the city's events (they asked for this message itself); none without an email or an
    active account."""
    profile = session.scalar(select(NotificationProfile).join(User, User.id == NotificationProfile.user_id)
                             .where(NotificationProfile.user_id == to.get("user_id"), User.active))
    if profile is None or not profile.email or to.get("channel") != "email":
        return []
    return [Target("email", profile.email, "user", profile.language)]


def resident_targets(contact: dict | None) -> list[Target]:
    """The resident's channels, from their contact row (a mapping; None: nobody asked to hear back)."""
    if contact is None:
        return []
    targets = []
    if contact["email"]:
        targets.append(Target("email", contact["email"], "resident", contact["language"], ref_id=contact["id"]))
    if contact["phone"]:
        targets.append(Target("sms", contact["phone"], "resident", contact["language"], ref_id=contact["id"]))
    return targets


def subscriber_targets(rows: list[dict], kind: str) -> list[Target]:
    """The active webhook subscribers (mappings) that take events of *kind*."""
    return [Target("webhook", s["url"], "subscriber", "en", ref_id=s["id"], secret=s["secret"],
                   allow_private=s["allow_private"]) for s in rows if not s["kinds"] or kind in s["kinds"]]
