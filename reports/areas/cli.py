"""`gisserver areas ...`, `gisserver categories ...`, `gisserver units ...`: the reports' reference data."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.audit import cli_actor, set_context
from gisserver.exceptions import ServiceError


def _transaction():
    return current_app.extensions["gisserver.db"].transaction()


def _run(work):
    try:
        with _transaction() as session:
            set_context(session, cli_actor)
            return work(session)
    except ServiceError as exc:
        details = f" {exc.details}" if exc.details else ""
        raise click.ClickException(exc.message + details) from exc


@click.group("areas")
def areas() -> None:
    """Administrative areas: city, wards/communes, residential groups."""


@areas.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--level", type=click.Choice(["city", "ward", "group"]), required=True)
@click.option("--code-col", default="code", show_default=True)
@click.option("--name-col", default="name", show_default=True)
@click.option("--parent-col", default=None, help="column with the parent area's code")
@click.option("--valid-from", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--layer", default=None, help="layer name inside a GeoPackage")
@click.option("--crs", default=None, help="source CRS when the file has none, e.g. EPSG:3405")
@click.option("--strict", is_flag=True, help="refuse boundaries with gaps or overlaps")
@with_appcontext
def import_command(path, level, code_col, name_col, parent_col, valid_from, layer, crs, strict) -> None:
    """Create or update the areas of one level from a boundary file."""
    from reports.areas import import_areas

    result = _run(lambda s: import_areas(
        s, path, level=level, code_col=code_col, name_col=name_col, parent_code_col=parent_col,
        valid_from=valid_from.date() if valid_from else None, refuse_problems=strict, layer=layer, crs=crs,
    ))
    click.echo(f"{result.created} created, {result.updated} updated ({level})")
    for problem in result.problems:
        click.echo(f"warning: {problem['kind']} {' / '.join(problem['areas'])}: {problem['m2']:.0f} m²")


@areas.command("list")
@click.option("--level", type=click.Choice(["city", "ward", "group"]), default=None)
@click.option("--parent", default=None, help="parent area code")
@with_appcontext
def list_command(level, parent) -> None:
    """List current areas."""
    from reports.areas import list_areas

    def work(session):
        for area in list_areas(session, level=level, parent_code=parent):
            click.echo(f"{area.code}\t{area.level}\t{area.name}")

    _run(work)


@areas.command("change")
@click.argument("kind", type=click.Choice(["merge", "split", "rename"]))
@click.option("--date", "effective", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--old", "old_codes", multiple=True, required=True)
@click.option("--new", "new_codes", multiple=True, required=True)
@click.option("--note", default="")
@with_appcontext
def change_command(kind, effective, old_codes, new_codes, note) -> None:
    """Record a merger/split/rename: old areas retire, reports' current area follows."""
    from reports.areas import record_area_change

    _run(lambda s: record_area_change(s, kind, effective.date(), list(old_codes), list(new_codes), note))
    click.echo(f"{kind} on {effective.date()}: {', '.join(old_codes)} -> {', '.join(new_codes)}")


@click.group("categories")
def categories() -> None:
    """Report categories."""


@categories.command("list")
@with_appcontext
def categories_list() -> None:
    from reports.categories import list_categories

    def work(session):
        for c in list_categories(session, include_inactive=True):
            flag = "" if c.active else " (inactive)"
            click.echo(f"{c.code}\t{c.domain}\t{c.unit_type}\t{c.deadline_hours} h\t{c.name_vi}{flag}")

    _run(work)


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
    from reports.categories import CategorySpec, save_category

    spec = CategorySpec(code, name_vi, name_en, domain, unit_type, deadline_hours)
    _run(lambda s: save_category(s, spec, active=not inactive))
    click.echo(f"saved category {code}")


@categories.command("defaults")
@with_appcontext
def categories_defaults() -> None:
    """Add the default categories that are missing."""
    from reports.categories import ensure_default_categories

    click.echo(f"{_run(ensure_default_categories)} categories added")


@click.group("units")
def units() -> None:
    """Responsible units."""


@units.command("provision")
@with_appcontext
def units_provision() -> None:
    """Create the police and People's Committee of every ward, and the city's central units."""
    from reports.units import provision_ward_units

    click.echo(f"{_run(provision_ward_units)} units created")


@units.command("list")
@click.option("--type", "unit_type", default=None)
@with_appcontext
def units_list(unit_type) -> None:
    from reports.units import list_units

    def work(session):
        for u in list_units(session, unit_type=unit_type):
            click.echo(f"{u.code}\t{u.unit_type}\t{u.phone or '-'}\t{u.name}")

    _run(work)


@click.group("gazetteer")
def gazetteer() -> None:
    """Address search data."""


@gazetteer.command("build")
@click.option("--layer", "layer_name", required=True, help="the address layer (points, or street lines)")
@click.option("--field", "fields", multiple=True, required=True, help="attributes that make the label, in order")
@with_appcontext
def gazetteer_build(layer_name, fields) -> None:
    """Rebuild the gazetteer from a layer, e.g. --layer dia-chi --field so_nha --field ten_duong --field phuong."""
    from reports.gazetteer import build_gazetteer

    click.echo(f"{_run(lambda s: build_gazetteer(s, layer_name, list(fields)))} addresses in the gazetteer")


@click.group("routing")
def routing() -> None:
    """Routing rules: which unit gets a category's reports, or a type's AI alerts, in an area."""


@routing.command("list")
@with_appcontext
def routing_list() -> None:
    """List the rules (they override the default: the unit of the category's type serving the area)."""
    from reports.models import Area, Category, Unit
    from reports.routing import list_rules

    def work(session):
        for rule in list_rules(session):
            category = session.get(Category, rule.category_id).code if rule.category_id else None
            subject = f"alert:{rule.alert_type}" if rule.alert_type else (category or "*")
            area = session.get(Area, rule.area_id).code if rule.area_id else "*"
            click.echo(f"{rule.id}\t{subject}\t{area}\t-> {session.get(Unit, rule.unit_id).code}\t{rule.note}")

    _run(work)


@routing.command("add")
@click.option("--unit", "unit_code", required=True, help="the unit that receives them")
@click.option("--category", default=None, help="a report category (default: every category)")
@click.option("--alert-type", default=None, help="an AI alert type instead of a report category")
@click.option("--area", "area_code", default=None, help="an area code (default: anywhere)")
@click.option("--note", default="")
@with_appcontext
def routing_add(unit_code, category, alert_type, area_code, note) -> None:
    """Add a rule, e.g. --category dat_dai_xay_dung --area HUE-01 --unit HUE-XD."""
    from reports.alert_types import alert_type_by_code
    from reports.areas import area_by_code
    from reports.categories import category_by_code
    from reports.routing import add_rule
    from reports.units import unit_by_code

    def work(session):
        return add_rule(
            session, unit=unit_by_code(session, unit_code),
            category=category_by_code(session, category) if category else None,
            alert_type=alert_type_by_code(session, alert_type) if alert_type else None,
            area=area_by_code(session, area_code) if area_code else None, note=note,
        ).id

    click.echo(f"added routing rule {_run(work)}")


@routing.command("remove")
@click.argument("rule_id", type=int)
@with_appcontext
def routing_remove(rule_id) -> None:
    from reports.routing import remove_rule

    _run(lambda s: remove_rule(s, rule_id))
    click.echo(f"removed routing rule {rule_id}")


@click.group("alert-types")
def alert_types() -> None:
    """AI alert types: who is told of each detection and by when."""


@alert_types.command("list")
@with_appcontext
def alert_types_list() -> None:
    from reports.alert_types import list_alert_types

    def work(session):
        for t in list_alert_types(session, include_inactive=True):
            flag = "" if t.active else " (inactive)"
            click.echo(f"{t.code}\t{','.join(t.unit_types)}\t{t.deadline_hours:g} h\t"
                       f"{','.join(t.report_categories) or '-'}\t{t.name_vi}{flag}")

    _run(work)


@alert_types.command("set")
@click.argument("code")
@click.option("--name-vi", required=True)
@click.option("--name-en", required=True)
@click.option("--unit-type", "unit_types", multiple=True, required=True, help="repeat; the first one leads")
@click.option("--deadline-hours", type=float, required=True)
@click.option("--report-category", "report_categories", multiple=True, help="citizen reports about the same thing")
@click.option("--inactive", is_flag=True)
@with_appcontext
def alert_types_set(code, name_vi, name_en, unit_types, deadline_hours, report_categories, inactive) -> None:
    """Create or change an alert type."""
    from reports.alert_types import AlertTypeSpec, save_alert_type

    spec = AlertTypeSpec(code, name_vi, name_en, tuple(unit_types), deadline_hours, tuple(report_categories))
    _run(lambda s: save_alert_type(s, spec, active=not inactive))
    click.echo(f"saved alert type {code}")


@alert_types.command("defaults")
@with_appcontext
def alert_types_defaults() -> None:
    """Add the default alert types that are missing."""
    from reports.alert_types import ensure_default_alert_types

    click.echo(f"{_run(ensure_default_alert_types)} alert types added")
