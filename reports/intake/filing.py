"""Filing a report with its photos, shared by the JSON API and the QR web form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from reports.intake.submit import DuplicatePolicy, ReportInput, submit
from reports.workflow import queries
from reports.workflow.models import Report, ReportEvent
from reports.workflow.photos import ProcessedPhoto, save_photos


@dataclass
class Filed:
    report: Report
    created: bool
    written: list[Path] = field(default_factory=list)
    event: ReportEvent | None = None  # the first event, when this filing created the report
    areas: list = field(default_factory=list)  # where it landed (Submitted.areas)


def file_report(session: Session, data: ReportInput, photos: list[ProcessedPhoto], photo_dir: Path, *,
                actor: str, staff: bool, duplicates: DuplicatePolicy | None = None,
                admit: Callable[[str | None], None] | None = None, filed_by: str | None = None) -> Filed:
    """Submit the report and store its photos; the caller commits with commit_filed()."""
    if data.lon is None and data.lat is None:
        located = next((p.gps for p in photos if p.gps), None)
        if located:
            data.lon, data.lat = located  # the phone knew where the picture was taken
    submitted = submit(session, data, actor=actor, staff=staff, duplicates=duplicates or DuplicatePolicy(),
                       admit=admit, filed_by=filed_by)
    filed = Filed(submitted.report, submitted.created, event=submitted.event, areas=submitted.areas)
    if filed.created and photos:
        filed.written = save_photos(session, filed.report.id, photos, photo_dir, filed.report.created_at)
    return filed


def public_answer(session: Session, filed: Filed) -> dict:
    """The report's public view, for the answer to the filing: a report just created has its one event, no
    supporters and the photos just stored, none of which is read back."""
    if not filed.created:
        return queries.public_view(session, filed.report)
    return queries.public_view(session, filed.report, events=[filed.event], supporters_count=0,
                               photos=None if filed.written else [])


def commit_filed(session: Session, filed: Filed) -> None:
    """Commit, or remove the photo files again when the commit fails: nothing half-stored stays."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        for path in filed.written:
            path.unlink(missing_ok=True)
        raise
