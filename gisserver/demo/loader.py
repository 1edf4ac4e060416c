"""`gisserver demo load`: the demo city, built step by step through the project's own services.

Every step is idempotent and runs in its own transaction, so an interrupted load can simply be run
again; a marker in app_meta records a finished load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select

from gisserver.audit import set_context
from gisserver.db import Database
from gisserver.demo.geography import CENTER, CITY_CODE, PERFUME_RIVER, build_geography
from gisserver.demo.users import DEMO_PASSWORD, create_demo_users
from gisserver.meta import get_meta, set_meta

MARKER = "demo_city"


@dataclass
class DemoOptions:
    seed: int = 2025
    days: int = 365
    reports_per_day: float = 12.0
    groups_per_ward: tuple[int, int] = (6, 14)
    cameras: int = 650
    ai_cameras: int = 27
    hotspots: int = 50
    hotspot_days: int = 120
    ai_event_days: int = 30
    layers: bool = True


@dataclass
class DemoSummary:
    already_loaded: bool = False
    steps: dict[str, str] = field(default_factory=dict)


def _demo_actor() -> dict:
    return {"actor": "cli:demo-loader", "remote_addr": None, "request_id": None}


def load_demo(db: Database, options: DemoOptions | None = None, echo: Callable[[str], None] = print) -> DemoSummary:
    """Load the demo city unless it is already there."""
    options = options or DemoOptions()
    summary = DemoSummary()
    with db.transaction() as session:
        marker = get_meta(session, MARKER)
    if marker:
        summary.already_loaded = True
        echo(f"demo city already loaded on {marker.get('loaded_at')} (seed {marker.get('seed')})")
        return summary
    geography = build_geography(options.seed, groups_per_ward=options.groups_per_ward)
    steps: list[tuple[str, Callable]] = [
        ("areas", lambda s: _areas(s, geography)),
        ("units", _units),
        ("users", _users),
    ]
    if options.layers:
        steps.append(("layers", lambda s: _layers(s, options, geography)))
    steps += [
        ("cameras", lambda s: _cameras(s, options)),
        ("hotspots", lambda s: _hotspots(s, options)),
        ("reports", lambda s: _reports(s, options)),
        ("ai_events", lambda s: _ai_events(s, options)),  # after the reports, so alerts link to them
    ]
    for name, step in steps:
        with db.transaction() as session:
            set_context(session, _demo_actor)
            result = step(session)
        summary.steps[name] = result
        echo(f"{name}: {result}")
    with db.transaction() as session:
        set_meta(session, MARKER, {"seed": options.seed, "loaded_at": datetime.now(UTC).isoformat()})
    echo(f"demo users (password {DEMO_PASSWORD!r}): admin, planner, leader, ward-leader, officer")
    return summary


def _areas(session, geography) -> str:
    from reports.areas import import_areas
    from reports.models import Area

    if session.scalar(select(Area.id).where(Area.code == CITY_CODE)):
        return "already there"
    import_areas(session, geography.city, level="city")
    wards = import_areas(session, geography.wards, level="ward", parent_code_col="parent_code")
    groups = import_areas(session, geography.groups, level="group", parent_code_col="parent_code")
    problems = len(wards.problems) + len(groups.problems)
    return f"1 city, {wards.created} wards/communes, {groups.created} residential groups ({problems} boundary problems)"


def _units(session) -> str:
    from reports.alert_types import ensure_default_alert_types
    from reports.categories import ensure_default_categories
    from reports.units import provision_ward_units

    categories = ensure_default_categories(session)
    ensure_default_alert_types(session)
    wards = iter(range(1, 1000))
    # Each ward police station has its own duty line, printed on the residents' keychains.
    units = provision_ward_units(session, phone_for=lambda ward: f"0234 3{500 + next(wards):03d} 113")
    return f"{categories} categories, {units} units"


def _users(session) -> str:
    from gisserver.users import User
    from reports.areas import area_by_code
    from reports.units import unit_by_code

    if session.scalar(select(User.id).where(User.username == "admin")):
        return "already there"
    ward = area_by_code(session, f"{CITY_CODE}-01")
    made = create_demo_users(
        session,
        city_area_id=area_by_code(session, CITY_CODE).id,
        ward_area_id=ward.id,
        ward_unit_ids=[unit_by_code(session, f"{ward.code}-CA").id, unit_by_code(session, f"{ward.code}-UB").id],
    )
    return f"{len(made)} users"


def _layers(session, options, geography) -> str:
    from gisserver.demo.layers import load_demo_layers

    return load_demo_layers(session, seed=options.seed, geography=geography)


def _cameras(session, options) -> str:
    from reports.demo_cameras import load_demo_cameras

    return load_demo_cameras(session, seed=options.seed, count=options.cameras, ai_count=options.ai_cameras,
                             centre=CENTER)


def _hotspots(session, options) -> str:
    from reports.demo_cameras import load_demo_hotspots

    return load_demo_hotspots(session, seed=options.seed, count=options.hotspots, river=PERFUME_RIVER,
                              days=options.hotspot_days)


def _ai_events(session, options) -> str:
    from reports.demo_cameras import load_demo_ai_events

    return load_demo_ai_events(session, seed=options.seed, days=options.ai_event_days)


def _reports(session, options) -> str:
    from reports.demo import load_demo_reports
    from reports.models import Report

    if session.scalar(select(func.count()).select_from(Report)):
        return "already there"
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    result = load_demo_reports(session, seed=options.seed, end=end, days=options.days,
                               per_day=options.reports_per_day, urban_centre=CENTER)
    return f"{result.created} reports ({result.open} open, {result.overdue_open} of them overdue)"
