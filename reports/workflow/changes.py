"""What a report's change tells the domains above: a named hook, so that the workflow never imports them.

Every change the workflow or the intake writes to a report's history is also announced through
``hooks("report_changed")`` in the same transaction: a domain that reacts (notifications writes its outbox rows
there) commits or rolls back with the change itself.

Filing is the busiest write of a flood day, so a domain may also write its rows of a new report in the very
statement that stores the report (the ``report_filing`` hook answers with a FilingPart): one round trip fewer
per filing. The change it then announces names that domain in *written_by*, so the domain does not write twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, FromClause
from sqlalchemy.sql.selectable import CTE

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
    written_by: tuple[str, ...] = ()  # the features whose rows of this change the filing statement wrote


@dataclass(frozen=True)
class FilingPart:
    """A domain's rows of a new report, written by the statement that stores the report (workflow/sql.py).

    *build* is given that statement's CTE of the new report (the columns sql.WRITTEN_COLUMNS of its row) and answers
    with the CTEs to add at the statement's top level (PostgreSQL runs a data-modifying CTE only there) and the
    columns to add to its one row; a SELECT CTE runs only when one of those columns reads it. *build* is a
    module-level function whose SQL never varies: the statement is built once per set of parts. Every value is read
    from the report's row or is one of *params*, whose names the part prefixes with its own to stay apart from the
    others'; keep them few and the SQL short, as psycopg parses a statement of more than 50 parameters or 4096 bytes
    again on every run (tests/reports/intake/test_statement_count.py checks). *written* is handed the added columns'
    values.
    """

    feature: str
    build: Callable[[FromClause], tuple[list[CTE], list[ColumnElement]]]
    params: Mapping[str, Any] = field(default_factory=dict, compare=False)
    written: Callable[[Session, Sequence], None] | None = field(default=None, compare=False)


def filing_parts(session: Session, change: ReportChange) -> list[FilingPart]:
    """What the features plugged into "report_filing" write with a new report (*change*, before it is stored)."""
    return [part for hook in hooks("report_filing") if (part := hook(session, change)) is not None]


def announce(session: Session, change: ReportChange) -> None:
    """Hand the change to every feature plugged into "report_changed", inside the caller's transaction."""
    for hook in hooks("report_changed"):
        hook(session, change)
