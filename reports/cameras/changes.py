"""What alerts and gauges tell the domains above, through named hooks (never an import upwards).

``hooks("alert_changed")`` hears every step of an alert's history (raised, acknowledged, resolved...);
``hooks("hotspot_level_changed")`` hears a gauge whose level moved to another band (normal, watch, warning,
danger). Both run inside the transaction of the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gisserver.core.features import hooks
from reports.cameras.models import Alert, Hotspot


@dataclass(frozen=True)
class AlertChange:
    alert: Alert
    action: str
    from_status: str | None
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True)
class HotspotCrossing:
    hotspot: Hotspot
    from_level: str
    to_level: str
    level_cm: float
    at: datetime


def announce_alert(session: Session, change: AlertChange) -> None:
    for hook in hooks("alert_changed"):
        hook(session, change)


def announce_crossing(session: Session, crossing: HotspotCrossing) -> None:
    for hook in hooks("hotspot_level_changed"):
        hook(session, crossing)
