"""`gisserver demo load`: the demo city, built step by step through the project's own services.

Each feature owns its part of the demo (its manifest's demo steps); the loader only orders them and runs each
in its own transaction. Every step is idempotent, so an interrupted load can simply be run again; a marker in
app_meta records a finished load.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gisserver.accounts.demo import DEMO_PASSWORD
from gisserver.core import features
from gisserver.core.audit import set_context
from gisserver.core.db import Database
from gisserver.core.meta import get_meta, set_meta
from gisserver.demo.geography import DemoGeography, build_geography

MARKER = "demo_city"
# Left out with DemoOptions(layers=False): the planning layers and the gazetteer built from one of them.
LAYER_STEPS = frozenset({"layers", "gazetteer"})


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
    dossiers_per_ward_day: float = 3.0


@dataclass(frozen=True)
class DemoContext:
    """What every demo step is given besides its session."""

    options: DemoOptions
    geography: DemoGeography
    end: datetime  # the hour the demo's history runs up to


@dataclass
class DemoSummary:
    already_loaded: bool = False
    steps: dict[str, str] = field(default_factory=dict)


HISTORY_REPLAY = "history_replay"  # session.info key: the changes in this session are history, not news


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
    context = DemoContext(
        options=options,
        geography=build_geography(options.seed, groups_per_ward=options.groups_per_ward),
        end=datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
    )
    skipped = set() if options.layers else LAYER_STEPS
    for step in features.demo_steps(skip=skipped):
        with db.transaction() as session:
            set_context(session, _demo_actor)
            # The demo replays months of history: features that react to changes as news (notifications, the
            # live map) read this and stay quiet.
            session.info[HISTORY_REPLAY] = True
            result = features.load(step.run)(session, context)
        summary.steps[step.name] = result
        echo(f"{step.name}: {result}")
    with db.transaction() as session:
        set_meta(session, MARKER, {"seed": options.seed, "loaded_at": datetime.now(UTC).isoformat()})
    echo(f"demo users (password {DEMO_PASSWORD!r}): admin, planner, leader, ward-leader, officer")
    return summary
