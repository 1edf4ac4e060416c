"""Who is told of an AI alert: the routing rules for its type, then the units of the types it names."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.areas.models import Area, Unit
from reports.areas.units import FALLBACK_UNIT_TYPE
from reports.cameras.models import AlertType
from reports.workflow.models import RoutingRule
from reports.workflow.routing import unit_for_type


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
