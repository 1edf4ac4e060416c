"""`gisserver dossiers import FILE` and `gisserver summaries rebuild`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.core.audit import cli_actor, set_context
from gisserver.core.exceptions import ServiceError


@click.group("dossiers")
def dossiers() -> None:
    """Administrative dossiers from the one-stop shops."""


@dossiers.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_command(path: str) -> None:
    """Load a CSV or XLSX export of dossiers: every row or none (re-importing a dossier id updates it)."""
    from reports.summaries.dossiers import import_dossiers

    try:
        with current_app.extensions["gisserver.db"].transaction() as session:
            set_context(session, cli_actor)
            result = import_dossiers(session, Path(path).read_bytes(), path)
    except ServiceError as exc:
        for error in exc.details.get("errors", []) if isinstance(exc.details, dict) else []:
            click.echo(f"row {error['row']}, {error['column']}: {error['message']} ({error['value']!r})", err=True)
        raise click.ClickException(exc.message) from exc
    click.echo(f"{result.rows} dossiers: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged")


@click.group("summaries")
def summaries() -> None:
    """Leaders' summaries."""


@summaries.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Recompute the daily rollups from the records (they are kept up to date on every write anyway)."""
    from reports.summaries.figures import rebuild_rollups

    with current_app.extensions["gisserver.db"].transaction() as session:
        rebuild_rollups(session)
    click.echo("rollups rebuilt")
