"""What a report's change tells the domains above: a named hook, so that the workflow never imports them.

Every change the workflow or the intake writes to a report's history is also announced through
``hooks("report_changed")`` in the same transaction: a domain that reacts (notifications writes its outbox rows
there) commits or rolls back with the change itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from gisserver.core.features import hooks
from reports.workflow.models import Report


@dataclass(frozen=True)
class ResidentContact:
    """How a resident who filed a report asked to hear back, with the consent line they agreed to."""

    email: str | None
    phone: str | None
    language: str  # "vi" or "en"
    consent: str  # the words shown next to the box the resident ticked


@dataclass(frozen=True)
class ReportChange:
    """One step in a report's history: created, acknowledge, resolve, reassign, merge, follow_resolve..."""

    report: Report
    action: str
    from_status: str | None
    actor: str
    note: str
    at: datetime
    contact: ResidentContact | None = None  # only when the report is filed by a resident who opted in


def announce(session: Session, change: ReportChange) -> None:
    """Hand the change to every feature plugged into "report_changed", inside the caller's transaction."""
    for hook in hooks("report_changed"):
        hook(session, change)
