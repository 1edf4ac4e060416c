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
from reports.workflow import sql as report_sql
from reports.workflow.models import Category, RoutingRule


def route(session: Session, category: Category, chain: list[Area]) -> Unit | None:
    """The unit responsible for a report of *category* in the area *chain* (deepest first).

    The rule is report_sql.ROUTE, which intake also asks beside the area chain, in the statement that files a report.
    """
    unit_id = report_sql.routed_unit_id(session, category.id, category.unit_type, [a.id for a in chain],
                                        FALLBACK_UNIT_TYPE)
    return session.get(Unit, unit_id) if unit_id is not None else None


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
