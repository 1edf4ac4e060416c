"""`gisserver cameras ...` and `gisserver hotspots ...`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.audit import cli_actor, set_context
from gisserver.exceptions import ServiceError


def _run(work):
    try:
        with current_app.extensions["gisserver.db"].transaction() as session:
            set_context(session, cli_actor)
            return work(session)
    except ServiceError as exc:
        lines = [exc.message] + [f"  row {r['row']}: {r['error']}" for r in (exc.details or {}).get("rows", [])]
        raise click.ClickException("\n".join(lines)) from exc


@click.group("cameras")
def cameras() -> None:
    """The camera registry."""


@cameras.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--crs", default=None, help="source CRS when the file has none")
@with_appcontext
def import_command(path, crs) -> None:
    """Create or update cameras from a CSV (lon/lat columns) or GeoJSON point file."""
    from layers.importing import read_vector_file
    from reports.cameras import import_cameras

    def work(session):
        return import_cameras(session, read_vector_file(Path(path), crs=crs).frame)

    result = _run(work)
    click.echo(f"{result.created} cameras created, {result.updated} updated")


@cameras.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="geojson")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_command(fmt, output) -> None:
    """Write the registry (without stream addresses) as CSV or GeoJSON."""
    from layers.export import spreadsheet_safe
    from reports.cameras import cameras_frame

    frame = _run(cameras_frame)
    if fmt == "csv":
        table = spreadsheet_safe(frame.drop(columns="geometry"))
        table.insert(2, "lon", frame.geometry.x.round(7))
        table.insert(3, "lat", frame.geometry.y.round(7))
        table.to_csv(output, index=False, encoding="utf-8-sig")
    else:
        frame.to_file(output, driver="GeoJSON")
    click.echo(f"wrote {len(frame)} cameras to {output}")


@cameras.command("list")
@with_appcontext
def list_command() -> None:
    from reports.cameras import health, list_cameras

    def work(session):
        for row in list_cameras(session):
            click.echo(f"{row.code}\t{health(row)}\t{row.area_code or '-'}\t{row.name}")

    _run(work)


@click.group("hotspots")
def hotspots() -> None:
    """Flood hotspots."""


@hotspots.command("list")
@with_appcontext
def hotspots_list() -> None:
    from reports.hotspots import list_hotspots, status_for

    def work(session):
        for hotspot, _lon, _lat in list_hotspots(session):
            click.echo(f"{hotspot.code}\t{status_for(hotspot, hotspot.last_level_cm)}\t"
                       f"{hotspot.last_level_cm if hotspot.last_level_cm is not None else '-'} cm\t{hotspot.name}")

    _run(work)
