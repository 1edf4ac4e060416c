"""`gisserver layers ...`: import, list, show, update, delete and export layers."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext

from gisserver.core.audit import cli_actor
from gisserver.core.commands import command_database, run_in_transaction
from layers.models import CATEGORIES


@click.group("layers")
def layers() -> None:
    """Map layers: import planning files, manage the catalog, export."""


@layers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", required=True, help="short name used in URLs, e.g. quy-hoach-su-dung-dat")
@click.option("--title", default=None)
@click.option("--category", type=click.Choice(CATEGORIES), default="other", show_default=True)
@click.option("--group", default=None, help="planning project or group")
@click.option("--description", default="")
@click.option("--layer", default=None, help="layer inside a GeoPackage or KML")
@click.option("--crs", default=None, help="source CRS if the file has none: EPSG:3405, vn2000:107.75, a PROJ string")
@click.option("--province", default=None, help="VN-2000 TM-3 zone of a province, e.g. hue, da-nang")
@click.option("--visibility", type=click.Choice(["public", "internal"]), default="public", show_default=True)
@click.option("--style", default=None, help='JSON, e.g. {"fill": "#1f78b4"}')
@click.option("--replace", is_flag=True, help="give an existing layer this new data")
def import_command(path, name, title, category, group, description, layer, crs, province, visibility, style,
                   replace) -> None:
    """Import PATH (GeoJSON, zipped Shapefile, GeoPackage, KML/KMZ, CSV) as a layer."""
    from layers.importing import ImportOptions, import_layer

    try:
        style_value = json.loads(style) if style else None
    except json.JSONDecodeError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint="--style") from None
    options = ImportOptions(name=name, title=title, category=category, group=group, description=description,
                            layer=layer, crs=crs, province=province, visibility=visibility, style=style_value,
                            replace=replace, actor=cli_actor()["actor"])
    database, own = command_database()
    try:
        result = run_in_transaction(lambda s: import_layer(s, Path(path), options), database)
    finally:
        if own:
            database.dispose()
    c = result.counts
    click.echo(f"{'replaced' if result.replaced else 'imported'} layer {result.name} (v{result.data_version}, "
               f"{result.geometry_type}, from {result.source_crs}) in {result.seconds:.1f} s")
    click.echo(f"read {c['read']}, stored {c['stored']}, repaired {c['repaired']}, dropped {c['dropped']}")
    for reason, count in c["dropped_reasons"].items():
        click.echo(f"  dropped {count}: {reason}")


@layers.command("list")
@click.option("--category", type=click.Choice(CATEGORIES), default=None)
@click.option("--group", default=None, help="planning project or group")
@click.option("--search", default=None, help="text in the name, title, description or group")
@with_appcontext
def list_command(category, group, search) -> None:
    """List the catalog."""
    from layers.catalog import LayerFilter, list_layers

    def work(session):
        f = LayerFilter(category=category, group=group, text=search, include_internal=True)
        for layer in list_layers(session, f):
            click.echo(f"{layer.name}\t{layer.category}\t{layer.geometry_type}\t{layer.feature_count}\t"
                       f"{layer.visibility}\t{layer.title}")

    run_in_transaction(work)


@layers.command("show")
@click.argument("name")
@with_appcontext
def show_command(name) -> None:
    """Show one layer as JSON."""
    from layers.catalog import get_layer, layer_json

    shown = run_in_transaction(lambda s: layer_json(get_layer(s, name, include_internal=True)))
    click.echo(json.dumps(shown, ensure_ascii=False, indent=2, default=str))


@layers.command("update")
@click.argument("name")
@click.option("--title")
@click.option("--description")
@click.option("--category", type=click.Choice(CATEGORIES))
@click.option("--group")
@click.option("--visibility", type=click.Choice(["public", "internal"]))
@click.option("--style", help="JSON style")
@with_appcontext
def update_command(name, **values) -> None:
    """Change a layer's title, category, group, style or visibility."""
    from layers.catalog import get_layer, update_layer

    changes = {k: v for k, v in values.items() if v is not None}
    if "style" in changes:
        changes["style"] = json.loads(changes["style"])
    run_in_transaction(lambda s: update_layer(s, get_layer(s, name, include_internal=True), changes,
                                              actor=cli_actor()["actor"]))
    click.echo(f"updated {name}")


@layers.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="do not ask")
@with_appcontext
def delete_command(name, yes) -> None:
    """Delete a layer and its data."""
    from layers.catalog import delete_layer, get_layer

    if not yes:
        click.confirm(f"delete layer {name} and its data?", abort=True)
    run_in_transaction(lambda s: delete_layer(s, get_layer(s, name, include_internal=True)))
    click.echo(f"deleted {name}")


@layers.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["geojson", "gpkg", "shp", "csv"]), default="geojson")
@click.option("--bbox", default=None, help="minx,miny,maxx,maxy")
@click.option("--area", "area_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="GeoJSON file with the area (polygons in WGS84) whose features to export, e.g. a ward")
@click.option("--crs", default=None, help="CRS of the file: EPSG:3405, vn2000:107.75, a PROJ string (default WGS 84)")
@click.option("--province", default=None, help="write in the VN-2000 TM-3 zone of a province, e.g. hue")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_command(name, fmt, bbox, area_file, crs, province, output) -> None:
    """Export a layer (or what of it meets a bbox/area) to a file."""
    from layers.catalog import get_layer
    from layers.export import export_file

    area = Path(area_file).read_text(encoding="utf-8") if area_file else None
    with tempfile.TemporaryDirectory() as tmp:
        export = run_in_transaction(lambda s: export_file(s, get_layer(s, name, include_internal=True), fmt,
                                                          Path(tmp), bbox=bbox, area=area, crs=crs,
                                                          province=province))
        shutil.move(export.path, output)
    click.echo(f"wrote {output}")
    for note in export.notes:
        click.echo(f"  note: {note}")


@layers.group("history")
def history_group() -> None:
    """A layer's past: its changes, what keeping them costs, restores, pruning."""


@history_group.command("log")
@click.argument("name")
@click.option("--fid", type=int, default=None, help="only the changes of this feature")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@with_appcontext
def history_log(name, fid, limit) -> None:
    """The changes of layer NAME, newest first: id, instant, who, what, which feature, why."""
    from layers import history
    from layers.catalog import get_layer

    def work(session):
        for c in history.changes(session, get_layer(session, name, include_internal=True), fid=fid, limit=limit):
            click.echo(f"{c.id}\t{c.at.isoformat(timespec='seconds')}\t{c.actor}\t{c.kind}\t{c.fid or ''}\t"
                       f"{c.comment}")

    run_in_transaction(work)


@history_group.command("size")
@with_appcontext
def history_size() -> None:
    """Disk used by each layer's present data and by its past (history tables and replaced data)."""
    from layers import history

    def work(session):
        click.echo("layer\tcurrent MB\tpast MB\tearlier states\treplaced tables")
        for s in history.sizes(session):
            click.echo(f"{s.layer}\t{s.current_bytes / 1e6:.1f}\t{s.history_bytes / 1e6:.1f}\t{s.history_rows}\t"
                       f"{s.past_tables}")

    run_in_transaction(work)


def _instant(value: str, option: str):
    from gisserver.core.exceptions import Invalid
    from layers.history import parse_instant

    try:
        return parse_instant(value, option)
    except Invalid as exc:
        raise click.BadParameter(exc.message, param_hint=option) from None


@history_group.command("restore")
@click.argument("name")
@click.option("--at", "at_text", required=True, help="the instant whose data to make current, e.g. 2025-07-01")
@click.option("--comment", default="", help="why, for the history")
@with_appcontext
def history_restore(name, at_text, comment) -> None:
    """Make layer NAME's data as it was at an instant its current data (a new change; nothing is lost)."""
    from layers import history
    from layers.catalog import get_layer

    at = _instant(at_text, "--at")
    change = run_in_transaction(lambda s: history.restore_layer(s, get_layer(s, name, include_internal=True), at,
                                                                actor=cli_actor()["actor"], comment=comment).id)
    click.echo(f"restored {name} to {at.isoformat()} (change {change})")


@history_group.command("prune")
@click.option("--before", "before_text", required=True, help="forget states that ended before this instant")
@click.option("--layer", "name", default=None, help="only this layer")
@click.option("--yes", is_flag=True, help="do not ask")
@with_appcontext
def history_prune(before_text, name, yes) -> None:
    """Forget feature states and replaced data that ended before an instant (the changes log stays)."""
    from layers import history
    from layers.catalog import get_layer

    before = _instant(before_text, "--before")
    if not yes:
        click.confirm(f"forget the history before {before.isoformat()}? It cannot be restored afterwards", abort=True)
    summary = run_in_transaction(lambda s: history.prune(
        s, before, layer=get_layer(s, name, include_internal=True) if name else None))
    click.echo(f"dropped {summary['tables_dropped']} replaced table(s), deleted {summary['states_deleted']} "
               "earlier state(s)")
