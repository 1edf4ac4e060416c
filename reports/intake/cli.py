"""`gisserver keychains sheet WARD`: the printable QR keychain cards of a ward, as the keychains page makes them."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from gisserver.core.commands import command_error, run_in_transaction
from gisserver.core.config import Settings
from gisserver.core.exceptions import ServiceError


@click.group("keychains")
def keychains() -> None:
    """QR keychain cards for residents."""


@keychains.command("sheet")
@click.argument("ward")
@click.option("--copies", default=10, show_default=True, help="cards on the sheet (two per row)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="the PDF to write [keychains-WARD.pdf]")
@with_appcontext
def sheet_command(ward: str, copies: int, output: str | None) -> None:
    """Write the keychain sheet of WARD; the codes point at GISSERVER_PUBLIC_URL (refused while it is unset)."""
    from flask import current_app

    from reports.intake.keychains import keychain_info, keychain_sheet, public_base

    settings: Settings = current_app.config["SETTINGS"]
    try:
        base = public_base(settings.public_url)
    except ServiceError as exc:
        raise command_error(exc) from exc
    info = run_in_transaction(lambda session: keychain_info(session, ward, base))
    try:
        pdf = keychain_sheet(info, copies=copies)
    except ServiceError as exc:
        raise command_error(exc) from exc
    target = Path(output or f"keychains-{info.ward_code}.pdf")
    target.write_bytes(pdf)
    click.echo(f"{target}: {copies} cards for {info.ward_name}, codes {', '.join(info.links.values())}")
