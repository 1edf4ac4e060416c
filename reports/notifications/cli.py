"""`gisserver worker` and `gisserver notifications ...`: the delivery worker, dead letters, duty contacts, webhook
subscribers, the scheduled checks on demand, and a VAPID key pair for Web Push."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gisserver.core.commands import command_database, run_in_transaction


def _runtime_parts():
    from gisserver.core.config import Settings
    from reports.notifications.config import NotificationSettings
    from reports.notifications.tokens import signing_key

    database, _owned = command_database()
    return database, NotificationSettings.from_env(), signing_key(Settings.from_env())


@click.command("worker")
@click.option("--concurrency", default=8, show_default=True, help="jobs run at once (threads for sending)")
@click.option("--stall-seconds", default=30.0, show_default=True,
              help="a worker silent this long is dead: its jobs are queued again")
@click.option("--until-empty", is_flag=True, help="stop when the queues are empty")
@with_appcontext
def worker(concurrency: int, stall_seconds: float, until_empty: bool) -> None:
    """Deliver notifications and run the scheduled checks (procrastinate worker; stop with Ctrl-C or SIGTERM)."""
    from flask import current_app

    from reports.notifications.channels.templating import TemplateRefused
    from reports.notifications.worker import WorkerOptions, run

    database, settings, key = _runtime_parts()
    options = WorkerOptions(concurrency=concurrency, stall_seconds=stall_seconds,
                            heartbeat_seconds=max(1.0, stall_seconds / 6), wait=not until_empty)
    try:
        # procrastinate LISTENs for new jobs and locks them in sessions of its own: the primary directly, never
        # through a transaction-mode pooler.
        run(database.own_session_url("the worker's LISTEN and job locks"), settings, key, options,
            app=current_app._get_current_object())
    except (TemplateRefused, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("notifications")
def notifications() -> None:
    """Dead letters, duty contacts, webhook subscribers and scheduled checks."""


@notifications.command("failed")
@click.option("--limit", default=200, show_default=True)
@with_appcontext
def failed_command(limit: int) -> None:
    """List deliveries that used up their attempts (the dead letters)."""
    from reports.notifications.admin import failed

    rows = run_in_transaction(lambda s: failed(s, limit))
    if not rows:
        click.echo("no failed deliveries")
    for row in rows:
        click.echo(f"{row.id}\t{row.kind}\t{row.subject}\t{row.channel}\t{row.recipient}\t{row.attempts} "
                   f"attempt(s)\t{row.last_error}")


@notifications.command("retry")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="retry every failed delivery")
@with_appcontext
def retry_command(delivery_ids: tuple[int, ...], every: bool) -> None:
    """Queue failed deliveries again (name their ids, or --all)."""
    from reports.notifications.admin import retry

    if not delivery_ids and not every:
        raise click.UsageError("name delivery ids or give --all")
    count = run_in_transaction(lambda s: retry(s, list(delivery_ids) or None))
    click.echo(f"{count} deliveries queued again")


@notifications.command("check")
@with_appcontext
def check_command() -> None:
    """Run the scheduled checks once now (the worker runs them every minute)."""
    from reports.notifications.checks import run_checks
    from reports.notifications.config import NotificationSettings

    found = run_in_transaction(lambda s: run_checks(s, NotificationSettings.from_env()))
    for name, count in found.items():
        click.echo(f"{name}: {count}")


@notifications.command("contact-add")
@click.argument("unit")
@click.argument("channel", type=click.Choice(["email", "sms", "chat", "webhook"]))
@click.argument("address")
@click.option("--language", default="vi", type=click.Choice(["vi", "en"]))
@click.option("--hours", default=None, help="on duty HH:MM-HH:MM (city time); default always")
@click.option("--allow-private", is_flag=True, help="a webhook may reach a loopback/private address (an internal "
              "system)")
@with_appcontext
def contact_add(unit, channel, address, language, hours, allow_private) -> None:
    """Give a unit a duty contact; a webhook's signing secret is printed once (again: a new secret)."""
    from reports.notifications.admin import add_duty_contact

    contact = run_in_transaction(lambda s: add_duty_contact(s, unit, channel, address, language=language,
                                                            hours=hours, allow_private=allow_private))
    click.echo(f"contact {contact.id} of {unit}: {channel} {contact.address}")
    if contact.secret:
        click.echo(f"secret: {contact.secret}")


@notifications.command("contact-remove")
@click.argument("contact_id", type=int)
@with_appcontext
def contact_remove(contact_id: int) -> None:
    """Remove a duty contact (its id from `notifications contacts`)."""
    from reports.notifications.admin import remove_duty_contact

    run_in_transaction(lambda s: remove_duty_contact(s, contact_id))
    click.echo(f"contact {contact_id} removed")


@notifications.command("contacts")
@with_appcontext
def contacts_list() -> None:
    """Every unit's duty contacts."""
    from sqlalchemy import select

    from reports.areas.models import Unit
    from reports.notifications.models import DutyContact

    def work(session):
        return session.execute(select(DutyContact, Unit.code).join(Unit).order_by(Unit.code, DutyContact.id)).all()

    for contact, code in run_in_transaction(work):
        hours = f"{contact.on_duty_from:%H:%M}-{contact.on_duty_to:%H:%M}" if contact.on_duty_from else "always"
        click.echo(f"{contact.id}\t{code}\t{contact.channel}\t{contact.address}\t{contact.language}\t{hours}")


@notifications.command("webhook-add")
@click.argument("name")
@click.argument("url")
@click.option("--kind", "kinds", multiple=True, help="event kinds to send (default all)")
@click.option("--allow-private", is_flag=True, help="allow a loopback/private address (an internal system)")
@with_appcontext
def webhook_add(name, url, kinds, allow_private) -> None:
    """Add a webhook subscriber; prints its signing secret once."""
    from reports.notifications.admin import add_webhook

    subscriber, secret = run_in_transaction(lambda s: add_webhook(s, name, url, kinds=list(kinds),
                                                                  allow_private=allow_private))
    click.echo(f"webhook {subscriber.name} -> {subscriber.url}\nsecret: {secret}")


@notifications.command("webhook-remove")
@click.argument("name")
@with_appcontext
def webhook_remove(name) -> None:
    """Remove a webhook subscriber; its pending deliveries are dropped."""
    from reports.notifications.admin import remove_webhook

    run_in_transaction(lambda s: remove_webhook(s, name))
    click.echo(f"webhook {name} removed")


@notifications.command("vapid-keys")
def vapid_keys() -> None:
    """Print a new VAPID key pair for GISSERVER_VAPID_PRIVATE_KEY / GISSERVER_VAPID_PUBLIC_KEY."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from py_vapid import Vapid01

    vapid = Vapid01()
    vapid.generate_keys()
    private = vapid.private_key.private_numbers().private_value.to_bytes(32, "big")
    public = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                           serialization.PublicFormat.UncompressedPoint)
    click.echo("GISSERVER_VAPID_PRIVATE_KEY=" + base64.urlsafe_b64encode(private).decode().rstrip("="))
    click.echo("GISSERVER_VAPID_PUBLIC_KEY=" + base64.urlsafe_b64encode(public).decode().rstrip("="))
