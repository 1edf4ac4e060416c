"""`gisserver categories ...` and `gisserver routing ...`: what reports are about and who handles them."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gisserver.core.commands import run_in_transaction


@click.group("categories")
def categories() -> None:
    """Report categories."""


@categories.command("list")
@with_appcontext
def categories_list() -> None:
    from reports.workflow.categories import list_categories

    def work(session):
        for c in list_categories(session, include_inactive=True):
            flag = "" if c.active else " (inactive)"
            click.echo(f"{c.code}\t{c.domain}\t{c.unit_type}\t{c.deadline_hours} h\t{c.name_vi}{flag}")

    run_in_transaction(work)


@categories.command("set")
@click.argument("code")
@click.option("--name-vi", required=True)
@click.option("--name-en", required=True)
@click.option("--domain", type=click.Choice(["security_order", "socio_economic"]), required=True)
@click.option("--unit-type", required=True)
@click.option("--deadline-hours", type=int, required=True)
@click.option("--inactive", is_flag=True)
@with_appcontext
def categories_set(code, name_vi, name_en, domain, unit_type, deadline_hours, inactive) -> None:
    """Create or change a category."""
    from reports.workflow.categories import CategorySpec, save_category

    spec = CategorySpec(code, name_vi, name_en, domain, unit_type, deadline_hours)
    run_in_transaction(lambda s: save_category(s, spec, active=not inactive))
    click.echo(f"saved category {code}")


@categories.command("defaults")
@with_appcontext
def categories_defaults() -> None:
    """Add the default categories that are missing."""
    from reports.workflow.categories import ensure_default_categories

    click.echo(f"{run_in_transaction(ensure_default_categories)} categories added")


@click.group("routing")
def routing() -> None:
    """Routing rules: which unit gets a category's reports, or a type's AI alerts, in an area."""


@routing.command("list")
@with_appcontext
def routing_list() -> None:
    """List the rules (they override the default: the unit of the category's type serving the area)."""
    from reports.areas.models import Area, Unit
    from reports.workflow.models import Category
    from reports.workflow.routing import list_rules

    def work(session):
        for rule in list_rules(session):
            category = session.get(Category, rule.category_id).code if rule.category_id else None
            subject = f"alert:{rule.alert_type}" if rule.alert_type else (category or "*")
            area = session.get(Area, rule.area_id).code if rule.area_id else "*"
            click.echo(f"{rule.id}\t{subject}\t{area}\t-> {session.get(Unit, rule.unit_id).code}\t{rule.note}")

    run_in_transaction(work)


@routing.command("add")
@click.option("--unit", "unit_code", required=True, help="the unit that receives them")
@click.option("--category", default=None, help="a report category (default: every category)")
@click.option("--alert-type", default=None, help="an AI alert type instead of a report category")
@click.option("--area", "area_code", default=None, help="an area code (default: anywhere)")
@click.option("--note", default="")
@with_appcontext
def routing_add(unit_code, category, alert_type, area_code, note) -> None:
    """Add a rule, e.g. --category dat_dai_xay_dung --area HUE-01 --unit HUE-XD."""
    from reports.areas.service import area_by_code
    from reports.areas.units import unit_by_code
    from reports.workflow.categories import category_by_code
    from reports.workflow.routing import add_rule

    def work(session):
        return add_rule(
            session, unit=unit_by_code(session, unit_code),
            category=category_by_code(session, category) if category else None,
            alert_type=alert_type,
            area=area_by_code(session, area_code) if area_code else None, note=note,
        ).id

    click.echo(f"added routing rule {run_in_transaction(work)}")


@routing.command("remove")
@click.argument("rule_id", type=int)
@with_appcontext
def routing_remove(rule_id) -> None:
    from reports.workflow.routing import remove_rule

    run_in_transaction(lambda s: remove_rule(s, rule_id))
    click.echo(f"removed routing rule {rule_id}")
