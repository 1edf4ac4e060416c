"""The area side of the summaries: who may see which area, and which records count in which area.

A record carries the id of the area it was filed in (its "leaf"). A summary of area X maps every leaf
to X and to the child of X it lies under, either on today's areas (a retired area counts in what
replaced it) or on the areas of the time (the parent an area had on the record's day). The hierarchy
is a few hundred rows, so the mapping is computed here and handed to SQL as arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import NotFound

TIMEZONE = "Asia/Ho_Chi_Minh"  # the city's days; migration reports_0007 uses the same
TZ = ZoneInfo(TIMEZONE)
MODES = ("now", "then")
DIRECT = 0  # the target of records filed in X itself rather than in one of its children
EVER = date(1, 1, 1)
NEVER = date(9999, 12, 31)


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    valid_from: date
    valid_to: date | None

    @property
    def current(self) -> bool:
        return self.valid_to is None

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "level": self.level,
                "valid_from": self.valid_from.isoformat(),
                "valid_to": self.valid_to.isoformat() if self.valid_to else None}


@dataclass
class Hierarchy:
    """Every area, today's replacement of the retired ones, and the parents areas had before a change."""

    areas: dict[int, AreaRef]
    now_of: dict[int, int]  # retired area -> the area its records count in today
    former_parents: dict[int, list[tuple[date, int | None]]]  # area -> [(valid_until, parent)], sorted

    def by_code(self, code: str) -> AreaRef:
        for area in self.areas.values():
            if area.code == code:
                return area
        raise NotFound(f"no area with code {code!r}")

    def chain_now(self, area_id: int) -> list[int]:
        """Where a leaf's records count today: its current area, then that area's parents."""
        chain, seen = [], set()
        current = self.now_of.get(area_id, area_id)
        while current is not None and current not in seen:
            seen.add(current)
            chain.append(current)
            current = self.areas[current].parent_id
        return chain

    def parent_on(self, area_id: int, day: date) -> int | None:
        for valid_until, parent in self.former_parents.get(area_id, ()):
            if day < valid_until:
                return parent
        return self.areas[area_id].parent_id

    def chain_on(self, area_id: int, day: date) -> list[int]:
        """The area and the parents it had on *day*."""
        chain, current = [], area_id
        while current is not None and current not in chain:
            chain.append(current)
            current = self.parent_on(current, day)
        return chain

    def children_now(self, area: AreaRef) -> list[AreaRef]:
        return sorted((a for a in self.areas.values() if a.parent_id == area.id and a.current), key=lambda a: a.code)


_AREAS = text("SELECT id, code, name, level, parent_id, valid_from, valid_to FROM areas")
_REPLACED = text("""
SELECT old_area_id, summary_area_now(old_area_id) AS now_id FROM (SELECT DISTINCT old_area_id FROM area_change_links) o
""")
_FORMER = text("SELECT area_id, parent_id, valid_until FROM area_parent_history ORDER BY area_id, valid_until")


def load_hierarchy(session: Session) -> Hierarchy:
    areas = {r.id: AreaRef(r.id, r.code, r.name, r.level, r.parent_id, r.valid_from, r.valid_to)
             for r in session.execute(_AREAS)}
    now_of = {r.old_area_id: r.now_id for r in session.execute(_REPLACED)}
    former: dict[int, list] = {}
    for r in session.execute(_FORMER):
        former.setdefault(r.area_id, []).append((r.valid_until, r.parent_id))
    return Hierarchy(areas, now_of, former)


def visible_area_ids(hierarchy: Hierarchy, principal: Principal) -> set[int] | None:
    """Areas the caller may see (None: all). A leader sees the subtrees of the granted areas,
    today's and the retired areas whose records now count in them."""
    if "admin" in principal.roles:
        return None
    granted = set(principal.area_ids)
    return {a for a in hierarchy.areas if granted.intersection(hierarchy.chain_now(a))
            or granted.intersection(hierarchy.chain_on(a, date.today()))}


def area_in_scope(hierarchy: Hierarchy, visible: set[int] | None, code: str) -> AreaRef:
    """The area with this code, or 404 when it does not exist or lies outside the caller's areas."""
    area = hierarchy.by_code(code)
    if visible is not None and area.id not in visible:
        raise NotFound(f"no area with code {code!r}")
    return area


def breadcrumb(hierarchy: Hierarchy, area: AreaRef, visible: set[int] | None) -> list[AreaRef]:
    """The visible parents of an area, from the top down, ending with the area itself."""
    chain = hierarchy.chain_on(area.id, area.valid_to - timedelta(days=1)) if area.valid_to else \
        hierarchy.chain_now(area.id)
    return [hierarchy.areas[a] for a in reversed(chain) if visible is None or a in visible]


def default_area(hierarchy: Hierarchy, principal: Principal) -> AreaRef | None:
    """Where a leader starts: the top current area granted (the city for admins)."""
    candidates = [hierarchy.areas[a] for a in (principal.area_ids if "admin" not in principal.roles
                                                else hierarchy.areas) if a in hierarchy.areas]
    candidates = [a for a in candidates if a.current]
    order = {"city": 0, "ward": 1, "group": 2}
    return min(candidates, key=lambda a: (order.get(a.level, 3), a.code), default=None)


@dataclass
class Mapping:
    """leaf[i] counts in X, under its child target[i], for record days in [start[i], stop[i]);
    target DIRECT means in X itself, under none of its children."""

    area: AreaRef
    children: list[AreaRef]
    leaf: list[int]
    target: list[int]
    start: list[date]
    stop: list[date]

    def params(self, prefix: str = "m") -> dict:
        return {f"{prefix}_leaf": self.leaf, f"{prefix}_target": self.target, f"{prefix}_start": self.start,
                f"{prefix}_stop": self.stop}

    def restricted(self, target_id: int) -> Mapping:
        """Only the leaves under one child (or DIRECT); the area itself keeps them all."""
        if target_id == self.area.id:
            return self
        keep = [i for i, t in enumerate(self.target) if t == target_id]
        return Mapping(self.area, self.children, [self.leaf[i] for i in keep], [self.target[i] for i in keep],
                       [self.start[i] for i in keep], [self.stop[i] for i in keep])


def _child_under(chain: list[int], area_id: int) -> int | None:
    """The child of *area_id* in a leaf's chain, DIRECT when the leaf is the area, None when outside it."""
    if area_id not in chain:
        return None
    position = chain.index(area_id)
    return chain[position - 1] if position > 0 else DIRECT


def mapping(hierarchy: Hierarchy, area: AreaRef, mode: str, date_from: date, date_to: date) -> Mapping:
    """Which leaves count in *area* and in which of its children, for records of [date_from, date_to]."""
    leaf, target, start, stop = [], [], [], []
    children: dict[int, AreaRef] = {}

    def emit(leaf_id, child, s, e):
        leaf.append(leaf_id)
        target.append(child)
        start.append(s)
        stop.append(e)
        if child != DIRECT:
            children[child] = hierarchy.areas[child]

    if mode == "now":
        for leaf_id in hierarchy.areas:
            child = _child_under(hierarchy.chain_now(leaf_id), area.id)
            if child is not None:
                emit(leaf_id, child, EVER, NEVER)
        for child in hierarchy.children_now(area):
            children.setdefault(child.id, child)
    else:
        # The hierarchy only changes on the dates former parents end: within those, it is fixed.
        cuts = sorted({until for rows in hierarchy.former_parents.values() for until, _ in rows
                       if date_from < until <= date_to})
        bounds = [date_from, *cuts, date_to + timedelta(days=1)]
        for s, e in zip(bounds, bounds[1:], strict=False):
            for leaf_id in hierarchy.areas:
                child = _child_under(hierarchy.chain_on(leaf_id, s), area.id)
                if child is not None:
                    emit(leaf_id, child, EVER if s == date_from else s, NEVER if e > date_to else e)
        # Only the children that existed at some time in the period.
        children = {k: a for k, a in children.items()
                    if a.valid_from <= date_to and (a.valid_to is None or a.valid_to > date_from)}
    ordered = sorted(children.values(), key=lambda a: (a.valid_to is not None, a.code))
    return Mapping(area, ordered, leaf, target, start, stop)
