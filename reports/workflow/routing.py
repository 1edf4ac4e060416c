"""Who handles a report or an alert: routing rules first, then the unit of the right type serving the area."""

from __future__ import annotations

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from gisserver.exceptions import Invalid, NotFound
from reports.camera_models import AlertType
from reports.models import Area, Category, RoutingRule, Unit
from reports.units import FALLBACK_UNIT_TYPE


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


def route_alert(session: Session, alert_type: AlertType, chain: list[Area]) -> list[Unit]:
    """The units told of an alert of *alert_type* in the area *chain* (deepest first), the leading one first.

    For each unit type the alert type names, a rule for this alert type with a unit of that type wins
    (deepest area first, then a city-wide rule); otherwise the unit of that type serving the area. A rule
    whose unit is of another type adds that unit. Nobody found: the city operations centre.
    """
    area_ids = [a.id for a in chain]
    depth = {area_id: i for i, area_id in enumerate(area_ids)}
    rules = session.execute(
        select(RoutingRule, Unit).join(Unit, Unit.id == RoutingRule.unit_id)
        .where(Unit.active.is_(True), RoutingRule.alert_type == alert_type.code)
        .where(RoutingRule.area_id.in_(area_ids) | RoutingRule.area_id.is_(None))
    ).all()
    rules.sort(key=lambda r: (depth.get(r[0].area_id, len(area_ids)), r[0].id))
    by_type: dict[str, Unit] = {}
    for _, unit in rules:
        by_type.setdefault(unit.unit_type, unit)
    units = []
    for unit_type in list(alert_type.unit_types) + [t for t in by_type if t not in alert_type.unit_types]:
        unit = by_type.get(unit_type) or unit_for_type(session, unit_type, chain)
        if unit is not None and unit not in units:
            units.append(unit)
    if not units:
        fallback = unit_for_type(session, FALLBACK_UNIT_TYPE, chain) or session.scalars(
            select(Unit).where(Unit.active.is_(True), Unit.unit_type == FALLBACK_UNIT_TYPE).order_by(Unit.id)).first()
        units = [fallback] if fallback else []
    return units


def add_rule(session: Session, *, unit: Unit, category: Category | None = None, area: Area | None = None,
             alert_type: AlertType | None = None, note: str = "") -> RoutingRule:
    """Send reports of a category (or all), or alerts of a type, in an area (or anywhere) to a given unit."""
    if category is not None and alert_type is not None:
        raise Invalid("a rule is for a report category or an alert type, not both")
    rule = RoutingRule(unit_id=unit.id, category_id=category.id if category else None,
                       area_id=area.id if area else None, alert_type=alert_type.code if alert_type else None,
                       note=note)
    session.add(rule)
    session.flush()
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
