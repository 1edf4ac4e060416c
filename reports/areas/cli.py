"""`gisserver areas ...`, `gisserver units ...`, `gisserver gazetteer ...`: areas, units and addresses."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gisserver.core.commands import run_in_transaction


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
    from reports.areas.service import import_areas

    result = run_in_transaction(lambda s: import_areas(
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
    from reports.areas.service import list_areas

    def work(session):
        for area in list_areas(session, level=level, parent_code=parent):
            click.echo(f"{area.code}\t{area.level}\t{area.name}")

    run_in_transaction(work)


@areas.command("change")
@click.argument("kind", type=click.Choice(["merge", "split", "rename"]))
@click.option("--date", "effective", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--old", "old_codes", multiple=True, required=True)
@click.option("--new", "new_codes", multiple=True, required=True)
@click.option("--note", default="")
@with_appcontext
def change_command(kind, effective, old_codes, new_codes, note) -> None:
    """Record a merger/split/rename: old areas retire, reports' current area follows."""
    from reports.areas.service import record_area_change

    run_in_transaction(lambda s: record_area_change(s, kind, effective.date(), list(old_codes), list(new_codes), note))
    click.echo(f"{kind} on {effective.date()}: {', '.join(old_codes)} -> {', '.join(new_codes)}")


@click.group("units")
def units() -> None:
    """Responsible units."""


@units.command("provision")
@with_appcontext
def units_provision() -> None:
    """Create the police and People's Committee of every ward, and the city's central units."""
    from reports.areas.units import provision_ward_units

    click.echo(f"{run_in_transaction(provision_ward_units)} units created")


@units.command("list")
@click.option("--type", "unit_type", default=None)
@with_appcontext
def units_list(unit_type) -> None:
    from reports.areas.units import list_units

    def work(session):
        for u in list_units(session, unit_type=unit_type):
            click.echo(f"{u.code}\t{u.unit_type}\t{u.phone or '-'}\t{u.name}")

    run_in_transaction(work)


@click.group("gazetteer")
def gazetteer() -> None:
    """Address search data."""


@gazetteer.command("build")
@click.option("--layer", "layer_name", required=True, help="the address layer (points, or street lines)")
@click.option("--field", "fields", multiple=True, required=True, help="attributes that make the label, in order")
@with_appcontext
def gazetteer_build(layer_name, fields) -> None:
    """Rebuild the gazetteer from a layer, e.g. --layer dia-chi --field so_nha --field ten_duong --field phuong."""
    from reports.areas.gazetteer import build_gazetteer

    built = run_in_transaction(lambda s: build_gazetteer(s, layer_name, list(fields)))
    click.echo(f"{built} addresses in the gazetteer")
