"""The `gisserver` command: database lifecycle, migrations, demo data and the production server."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup, ScriptInfo, with_appcontext

from gisserver.core import cluster_commands, features
from gisserver.core.cluster import ClusterError, private_cluster
from gisserver.core.cluster_replicas import Replicas
from gisserver.core.commands import DATABASE_WITHOUT_APP
from gisserver.core.config import Settings
from gisserver.core.db import NoDirectConnection


def create_app():
    """The web app, built only for the commands that need it: importing it (every blueprint, folium, ...) costs a
    command that works on the database alone more than half a second."""
    from gisserver.app import create_app as build

    return build()


class CommandGroup(FlaskGroup):
    """The `gisserver` command, whose feature command groups are imported when one is asked for: `gisserver layers
    import` imports the layers' commands (and what they use), not every feature's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pending: list[str] | None = None

    def _next(self) -> click.Command | None:
        if self._pending is None:
            self._pending = ["gisserver.demo.cli:demo", *features.references("commands")]
        if not self._pending:
            return None
        reference = self._pending.pop(0)
        command = features.load(reference)
        if reference == "gisserver.demo.cli:demo":
            from gisserver.demo.cli import add_feature_commands

            add_feature_commands()
        self.add_command(command)
        return command

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        found = click.Group.get_command(self, ctx, name)
        while found is None and (command := self._next()) is not None:
            found = command if command.name == name else None
        return found or super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        while self._next() is not None:
            pass
        return super().list_commands(ctx)


@click.group(cls=CommandGroup, create_app=create_app, add_default_commands=True, add_version_option=False)
@click.pass_context
def main(ctx: click.Context) -> None:
    """gisserver: GIS layers and citizen reports for city and ward governments."""
    info = ctx.ensure_object(ScriptInfo)
    # Run as the `gisserver` command (not with an app handed in by a test): commands that need only the database
    # may open it without building the web app.
    info.data.setdefault(DATABASE_WITHOUT_APP, info.create_app is create_app)


# -- database ---------------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Run and migrate the database."""


@db.command("up")
def db_up() -> None:
    """Initialise and start the private PostGIS cluster and its replicas (a no-op when they already run)."""
    settings = Settings.from_env()
    if settings.database_url:
        click.echo("GISSERVER_DATABASE_URL is set: the private cluster is not used.")
        return
    cluster = private_cluster(settings)
    try:
        steps = cluster.up()
        if not cluster.is_standby:
            cluster.apply_role_settings(settings.db_statement_timeout_ms)
        steps += Replicas(cluster).up()
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    for step in steps:
        click.echo(step)
    status = cluster.status()
    click.echo(f"PostGIS running (pid {status.pid}) on 127.0.0.1:{status.port}, data in {status.data_dir}")


@db.command("down")
def db_down() -> None:
    """Stop the private PostGIS cluster and its replicas."""
    settings = Settings.from_env()
    if settings.database_url:
        click.echo("GISSERVER_DATABASE_URL is set: the private cluster is not used.")
        return
    cluster = private_cluster(settings)
    try:
        for step in Replicas(cluster).down():
            click.echo(step)
        stopped = cluster.down()
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("stopped" if stopped else "not running")


db.add_command(cluster_commands.replica)
db.add_command(cluster_commands.promote)


@db.command("status")
def db_status() -> None:
    """Say which database is used and whether the private cluster runs."""
    settings = Settings.from_env()
    if settings.database_url:
        from sqlalchemy.engine import make_url

        click.echo(f"database: {make_url(settings.database_url).render_as_string(hide_password=True)}")
        click.echo("private cluster: not used (GISSERVER_DATABASE_URL is set)")
        return
    status = private_cluster(settings).status()
    click.echo(f"data folder: {status.data_dir} ({'initialised' if status.initialized else 'not initialised'})")
    click.echo(f"address: 127.0.0.1:{status.port}")
    click.echo(f"state: {'running, pid ' + str(status.pid) if status.running else 'stopped'}")
    if status.url:
        click.echo(f"database: {status.url}")
    if not status.running:
        sys.exit(3)


@db.command("migrate")
@with_appcontext
def db_migrate() -> None:
    """Apply every pending schema migration."""
    from gisserver.migrate import upgrade

    # Through a transaction-mode pooler the migration lock (a session's advisory lock) would be lost.
    upgrade(direct_url(current_app.extensions["gisserver.db"], "migrations"))
    click.echo("database schema is up to date")


def direct_url(database, what: str) -> str:
    """The primary's URL for work that needs a session of its own (migrations, backups)."""
    try:
        return database.own_session_url(what)
    except NoDirectConnection as exc:
        raise click.ClickException(str(exc)) from exc


# -- server -----------------------------------------------------------------------------------


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    default=lambda: 2 * (os.cpu_count() or 1) + 1,
    type=int,
    help="gunicorn worker processes [default: 2 x cores + 1]",
)
@click.option("--threads", default=4, show_default=True, type=int)
@click.option("--keep-alive", "keep_alive", default=30, show_default=True, type=int,
              help="seconds an idle client connection stays open")
def serve(host: str, port: int, workers: int, threads: int, keep_alive: int) -> None:
    """Serve the app with gunicorn (the production server)."""
    # Each open live map (Server-Sent Events) holds one of a worker's threads: half of them at most, so that
    # ordinary requests always find a thread (GISSERVER_LIVE_MAX_STREAMS overrides; README "Live map").
    os.environ.setdefault("GISSERVER_LIVE_MAX_STREAMS", str(max(1, threads // 2)))
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--timeout",
        "60",
        "--graceful-timeout",
        "20",
        # A worker is replaced after this many requests (a guard against slow leaks). Its replacement imports the
        # app again, about 3 s of CPU: at 5,000 a busy map server spent ~6% of its CPU on re-imports.
        "--max-requests",
        "50000",
        "--max-requests-jitter",
        "5000",
        # gunicorn's 2 s default closes connections that browsers and API clients are about to reuse: the
        # request they send at that moment meets a reset. gthread workers park idle connections in a poller,
        # so holding them longer costs no thread.
        "--keep-alive",
        str(keep_alive),
        "gisserver.app:create_app()",
    ]
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter and fixed gunicorn arguments


# -- feature command groups ---------------------------------------------------------------------
# Each feature package names its click groups in its manifest (gisserver.core.features); CommandGroup imports
# them when they are asked for.


# -- backups ------------------------------------------------------------------------------------


@main.command("backup")
@click.argument("archive", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup(archive: str) -> None:
    """Write the database (pg_dump custom format) and the stored files into ARCHIVE (a tar)."""
    from gisserver.backup import create_backup
    from gisserver.core.exceptions import ServiceError

    settings = current_app.config["SETTINGS"]
    try:
        result = create_backup(
            direct_url(current_app.extensions["gisserver.db"], "backups"), settings.data_dir, archive,
            settings.pg_bindir,
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"wrote {result.path}: {sum(result.tables.values())} rows in {len(result.tables)} tables, {result.files} files"
    )


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--replace", is_flag=True, help="overwrite a database that already holds data")
@with_appcontext
def restore(archive: str, replace: bool) -> None:
    """Restore a backup made by `gisserver backup` into the configured database."""
    from gisserver.backup import restore_backup
    from gisserver.core.exceptions import ServiceError

    settings = current_app.config["SETTINGS"]
    try:
        manifest = restore_backup(
            direct_url(current_app.extensions["gisserver.db"], "restores"),
            settings.data_dir,
            archive,
            replace=replace,
            bindir=settings.pg_bindir,
        )
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"restored the backup of {manifest['created_at']}")
