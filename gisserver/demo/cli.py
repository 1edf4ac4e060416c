"""`gisserver demo load`: a Hue-like demo city for trying the platform."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.core import features
from gisserver.core.exceptions import ServiceError


@click.group("demo")
def demo() -> None:
    """Demo data."""


@demo.command("load")
@click.option("--seed", default=2025, show_default=True, help="the same seed gives the same city")
@click.option("--days", default=365, show_default=True, help="days of citizen report history")
@click.option("--reports-per-day", default=12.0, show_default=True)
@click.option("--small", is_flag=True, help="a small city (fewer groups, cameras and reports) for quick trials")
@with_appcontext
def load(seed: int, days: int, reports_per_day: float, small: bool) -> None:
    """Load the demo city (does nothing when it is already loaded)."""
    from gisserver.demo.loader import DemoOptions, load_demo

    options = DemoOptions(seed=seed, days=days, reports_per_day=reports_per_day)
    if small:
        options = DemoOptions(seed=seed, days=min(days, 30), reports_per_day=min(reports_per_day, 4.0),
                              groups_per_ward=(2, 3), cameras=80, ai_cameras=27, hotspots=50, hotspot_days=10,
                              ai_event_days=3)
    try:
        load_demo(current_app.extensions["gisserver.db"], options, echo=click.echo)
    except ServiceError as exc:
        raise click.ClickException(exc.message) from exc


def add_feature_commands() -> None:
    """Sub-commands of `gisserver demo` that features contribute (the cameras' stand-in heartbeats)."""
    for reference in features.references("demo_commands"):
        demo.add_command(features.load(reference))
