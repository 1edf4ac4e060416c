"""`gisserver db replica add|list|remove|delay` and `gisserver db promote`: replicas of the private cluster."""

from __future__ import annotations

import click

from gisserver.core.cluster import ClusterError, private_cluster
from gisserver.core.cluster_replicas import Replicas
from gisserver.core.config import Settings


def _replicas() -> Replicas:
    settings = Settings.from_env()
    if settings.database_url:
        raise click.ClickException("GISSERVER_DATABASE_URL is set: replicas are made of the private cluster only; "
                                   "for another server follow docs/scaling.md (pg_basebackup -R)")
    return Replicas(private_cluster(settings))


@click.group("replica")
def replica() -> None:
    """Streaming replicas of the private cluster, on this machine."""


@replica.command("add")
@click.argument("name")
@click.option("--port", type=int, help="its port [default: the first free one after the primary's]")
@click.option("--apply-delay-ms", type=int, default=0, show_default=True,
              help="replay WAL this much later (drills and tests of read-your-writes)")
def replica_add(name: str, port: int | None, apply_delay_ms: int) -> None:
    """Copy the running primary into a new replica NAME (pg_basebackup, own slot, port and folder) and start it."""
    replicas = _replicas()
    try:
        made = replicas.add(name, port, apply_delay_ms)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"replica {name} streaming on 127.0.0.1:{made.port}, data in {made.data_dir}")
    click.echo(f"read from it: GISSERVER_DATABASE_REPLICA_URLS={made.url(hide_password=True)} "
               f"(password in {made.secrets_path})")


@replica.command("list")
def replica_list() -> None:
    """Each replica: port, state, role and replay lag."""
    found = _replicas().list()
    if not found:
        click.echo("no replicas")
        return
    for info in found:
        state = "running" if info.running else "stopped"
        lag = f", lag {info.lag_seconds:.3f}s" if info.lag_seconds is not None else ""
        receiver = f", {info.receiver}" if info.receiver else (", not connected to its primary"
                                                               if info.running and info.role == "standby" else "")
        click.echo(f"{info.name}: 127.0.0.1:{info.port} {state}, {info.role}{lag}{receiver}; {info.url}")


@replica.command("remove")
@click.argument("name")
def replica_remove(name: str) -> None:
    """Stop replica NAME, drop its replication slot on the primary and delete its folder."""
    try:
        steps = _replicas().remove(name)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    for step in steps:
        click.echo(step)


@replica.command("delay")
@click.argument("name")
@click.argument("milliseconds", type=int)
def replica_delay(name: str, milliseconds: int) -> None:
    """Make replica NAME replay WAL MILLISECONDS late (0 to stop): a drill for lag and read-your-writes."""
    try:
        _replicas().set_apply_delay(name, milliseconds)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name} replays {milliseconds} ms late")


@click.command("promote")
@click.argument("name")
@click.option("--force", is_flag=True, help="promote even though the primary still answers (it must be going away)")
def promote(name: str, force: bool) -> None:
    """Make replica NAME the primary, after the primary is lost."""
    replicas = _replicas()
    try:
        made = replicas.promote(name, force=force)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{name} is the primary now, on 127.0.0.1:{made.port} (data in {made.data_dir})")
    click.echo("Point the app servers at it: through PgBouncer, change its [databases] entry to this port and "
               "RELOAD it (scripts/cluster.sh promote does); without one, start them with")
    click.echo(f"  GISSERVER_PG_DIR={made.data_dir} GISSERVER_PG_PORT={made.port}")
    click.echo(f"or GISSERVER_DATABASE_URL={made.url(hide_password=True)} (password in {made.secrets_path}).")
    click.echo(f"The old primary's folder {replicas.primary.data_dir} will not start again; rebuild replicas from "
               "the new primary (gisserver db replica add, with the settings above).")
