"""Who handles a report: routing rules first, then the unit of the category's type serving the area.

The rules also hold AI alert types (reports.cameras.routing reads those).
"""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from reports.areas.models import Area, Unit
from reports.areas.units import FALLBACK_UNIT_TYPE
from reports.workflow.models import Category, RoutingRule


def route(session: Session, category: Category, chain: list[Area]) -> Unit | None:
    """The unit responsible for a report of *category* in the area *chain* (deepest first)."""
    area_ids = [a.id for a in chain]
    depth = {area_id: i for i, area_id in enumerate(area_ids)}
    # An explicit rule wins: the deepest area first, then a category-specific rule over a catch-all.
    rules = session.execute(
        select(RoutingRule, Unit)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .where(Unit.active.is_(True), RoutingRule.alert_type.is_(None))
        .where((RoutingRule.category_id == category.id) | RoutingRule.category_id.is_(None))
        .where(RoutingRule.area_id.in_(area_ids) | RoutingRule.area_id.is_(None))
    ).all()
    if rules:
        rules.sort(key=lambda r: (depth.get(r[0].area_id, len(area_ids)), r[0].category_id is None, r[0].id))
        return rules[0][1]
    if area_ids:
        order = case({area_id: i for i, area_id in enumerate(area_ids)}, value=Unit.area_id)
        unit = session.scalars(
            select(Unit)
            .where(Unit.active.is_(True), Unit.unit_type == category.unit_type, Unit.area_id.in_(area_ids))
            .order_by(order, Unit.id)
        ).first()
        if unit is not None:
            return unit
    return session.scalars(
        select(Unit).where(Unit.active.is_(True), Unit.unit_type == FALLBACK_UNIT_TYPE).order_by(Unit.id)
    ).first()


def add_rule(session: Session, *, unit: Unit, category: Category | None = None, area: Area | None = None,
             alert_type: str | None = None, note: str = "") -> RoutingRule:
    """Send reports of a category (or all), or AI alerts of a type (its code), in an area (or anywhere) to a unit."""
    if category is not None and alert_type is not None:
        raise Invalid("a rule is for a report category or an alert type, not both")
    rule = RoutingRule(unit_id=unit.id, category_id=category.id if category else None,
                       area_id=area.id if area else None, alert_type=alert_type, note=note)
    try:
        with session.begin_nested():  # the alert types are the cameras' table: the foreign key checks the code
            session.add(rule)
            session.flush()
    except IntegrityError:
        raise NotFound(f"no alert type {alert_type!r}", {"field": "alert_type"}) from None
    return rule


def unit_for_type(session: Session, unit_type: str, chain: list[Area]) -> Unit | None:
    """The active unit of *unit_type* serving the deepest area of *chain* (a ward's police, the city's fire unit)."""
    area_ids = [a.id for a in chain]
    if not area_ids:
        return None
    order = case({area_id: i for i, area_id in enumerate(area_ids)}, value=Unit.area_id)
    return session.scalars(
        select(Unit).where(Unit.active.is_(True), Unit.unit_type == unit_type, Unit.area_id.in_(area_ids))
        .order_by(order, Unit.id)
    ).first()


def list_rules(session: Session) -> list[RoutingRule]:
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.id)))


def remove_rule(session: Session, rule_id: int) -> None:
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"no routing rule {rule_id}")
    session.delete(rule)
    session.flush()
