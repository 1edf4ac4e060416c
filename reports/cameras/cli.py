"""`gisserver cameras ...`, `gisserver hotspots ...` and `gisserver alert-types ...`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.core.commands import run_in_transaction


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
    from reports.cameras.service import import_cameras

    def work(session):
        return import_cameras(session, read_vector_file(Path(path), crs=crs).frame)

    result = run_in_transaction(work)
    click.echo(f"{result.created} cameras created, {result.updated} updated")


@cameras.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="geojson")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
def export_command(fmt, output) -> None:
    """Write the registry (without stream addresses) as CSV or GeoJSON."""
    from reports.cameras.service import write_cameras

    count = run_in_transaction(lambda s: write_cameras(s, fmt, output))
    click.echo(f"wrote {count} cameras to {output}")


@cameras.command("list")
@with_appcontext
def list_command() -> None:
    from reports.cameras.service import health, list_cameras, offline_window

    window = offline_window(current_app.config["SETTINGS"].camera_offline_minutes)

    def work(session):
        for row in list_cameras(session):
            click.echo(f"{row.code}\t{health(row, window=window)}\t{row.area_code or '-'}\t{row.name}")

    run_in_transaction(work)


def _capabilities(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip() for c in (value or "").split(",") if c.strip())


@cameras.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--direction", type=float, default=None, help="degrees clockwise from north (none for a dome)")
@click.option("--fov", type=float, default=90.0, show_default=True, help="field of view in degrees; 360 = dome")
@click.option("--range-m", type=float, default=60.0, show_default=True)
@click.option("--owner-unit", default=None)
@click.option("--ai", "ai_capabilities", default=None, help="comma-separated alert types, e.g. flood,traffic")
@click.option("--stream-url", default=None)
@with_appcontext
def add_command(code, name, lon, lat, direction, fov, range_m, owner_unit, ai_capabilities, stream_url) -> None:
    """Register a camera; its area and view cone are computed."""
    from reports.cameras.service import CameraInput, add_camera

    data = CameraInput(code, name, lon, lat, direction, fov, range_m, owner_unit, "active",
                       _capabilities(ai_capabilities), stream_url)
    run_in_transaction(lambda s: add_camera(s, data))
    click.echo(f"added camera {code}")


@cameras.command("set")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--lon", type=float, default=None)
@click.option("--lat", type=float, default=None)
@click.option("--direction", type=float, default=None)
@click.option("--fov", type=float, default=None)
@click.option("--range-m", type=float, default=None)
@click.option("--owner-unit", default=None)
@click.option("--state", type=click.Choice(["active", "maintenance"]), default=None)
@click.option("--ai", "ai_capabilities", default=None, help="comma-separated alert types ('' for none)")
@click.option("--stream-url", default=None)
@with_appcontext
def set_command(code, **options) -> None:
    """Change a camera's fields (only those given)."""
    from reports.cameras.service import get_camera, update_camera

    changes = {k: v for k, v in options.items() if v is not None}
    if "ai_capabilities" in changes:
        changes["ai_capabilities"] = list(_capabilities(changes["ai_capabilities"]))
    if not changes:
        raise click.UsageError("give at least one field to change")
    run_in_transaction(lambda s: update_camera(s, get_camera(s, code), changes))
    click.echo(f"changed camera {code}: {', '.join(sorted(changes))}")


@cameras.command("delete")
@click.argument("code")
@with_appcontext
def delete_command(code) -> None:
    """Remove a camera (refused for one that has raised alerts: set it to maintenance instead)."""
    from reports.cameras.service import delete_camera, get_camera

    run_in_transaction(lambda s: delete_camera(s, get_camera(s, code)))
    click.echo(f"deleted camera {code}")


@click.group("hotspots")
def hotspots() -> None:
    """Flood hotspots."""


@hotspots.command("list")
@with_appcontext
def hotspots_list() -> None:
    from reports.cameras.hotspots import list_hotspots, status_for

    def work(session):
        for hotspot, _lon, _lat in list_hotspots(session):
            click.echo(f"{hotspot.code}\t{status_for(hotspot, hotspot.last_level_cm)}\t"
                       f"{hotspot.last_level_cm if hotspot.last_level_cm is not None else '-'} cm\t{hotspot.name}")

    run_in_transaction(work)


@hotspots.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--lon", type=float, required=True)
@click.option("--lat", type=float, required=True)
@click.option("--watch", "watch_cm", type=float, required=True, help="water level (cm) from which to watch")
@click.option("--warning", "warning_cm", type=float, required=True)
@click.option("--danger", "danger_cm", type=float, required=True)
@click.option("--camera", "cameras", multiple=True, help="a camera watching the place (repeat)")
@with_appcontext
def hotspots_add(code, name, lon, lat, watch_cm, warning_cm, danger_cm, cameras) -> None:
    """Add a flood hotspot with its thresholds and cameras."""
    from reports.cameras.hotspots import HotspotInput, add_hotspot

    data = HotspotInput(code, name, lon, lat, watch_cm, warning_cm, danger_cm, tuple(cameras))
    run_in_transaction(lambda s: add_hotspot(s, data))
    click.echo(f"added hotspot {code}")


@hotspots.command("set")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--watch", "watch_cm", type=float, default=None)
@click.option("--warning", "warning_cm", type=float, default=None)
@click.option("--danger", "danger_cm", type=float, default=None)
@click.option("--camera", "cameras", multiple=True, help="the cameras watching it (replaces the list)")
@click.option("--no-cameras", is_flag=True, help="unlink every camera")
@with_appcontext
def hotspots_set(code, name, watch_cm, warning_cm, danger_cm, cameras, no_cameras) -> None:
    """Change a hotspot's name, thresholds or cameras."""
    from reports.cameras.hotspots import get_hotspot, update_hotspot

    changes = {k: v for k, v in (("name", name), ("watch_cm", watch_cm), ("warning_cm", warning_cm),
                                 ("danger_cm", danger_cm)) if v is not None}
    if cameras or no_cameras:
        changes["cameras"] = list(cameras)
    if not changes:
        raise click.UsageError("give at least one field to change")
    run_in_transaction(lambda s: update_hotspot(s, get_hotspot(s, code), changes))
    click.echo(f"changed hotspot {code}: {', '.join(sorted(changes))}")


@click.group("alert-types")
def alert_types() -> None:
    """AI alert types: who is told of each detection and by when."""


@alert_types.command("list")
@with_appcontext
def alert_types_list() -> None:
    from reports.cameras.alert_types import list_alert_types

    def work(session):
        for t in list_alert_types(session, include_inactive=True):
            flag = "" if t.active else " (inactive)"
            click.echo(f"{t.code}\t{','.join(t.unit_types)}\t{t.deadline_hours:g} h\t"
                       f"{','.join(t.report_categories) or '-'}\t{t.name_vi}{flag}")

    run_in_transaction(work)


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
    from reports.cameras.alert_types import AlertTypeSpec, save_alert_type

    spec = AlertTypeSpec(code, name_vi, name_en, tuple(unit_types), deadline_hours, tuple(report_categories))
    run_in_transaction(lambda s: save_alert_type(s, spec, active=not inactive))
    click.echo(f"saved alert type {code}")


@alert_types.command("defaults")
@with_appcontext
def alert_types_defaults() -> None:
    """Add the default alert types that are missing."""
    from reports.cameras.alert_types import ensure_default_alert_types

    click.echo(f"{run_in_transaction(ensure_default_alert_types)} alert types added")


@click.command("pulse")
@with_appcontext
def pulse() -> None:
    """Send the demo cameras' heartbeats (the demo has no real devices); the broken ones stay silent."""
    from reports.cameras.demo import pulse_demo_cameras

    with current_app.extensions["gisserver.db"].transaction() as session:
        click.echo(f"{pulse_demo_cameras(session)} demo cameras reported in")
