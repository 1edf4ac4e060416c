"""Filing a report with its photos, shared by the JSON API and the QR web form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from reports.intake.submit import DuplicatePolicy, ReportInput, submit_report
from reports.workflow.models import Report
from reports.workflow.photos import ProcessedPhoto, save_photos


@dataclass
class Filed:
    report: Report
    created: bool
    written: list[Path] = field(default_factory=list)


def file_report(session: Session, data: ReportInput, photos: list[ProcessedPhoto], photo_dir: Path, *,
                actor: str, staff: bool, duplicates: DuplicatePolicy | None = None,
                admit: Callable[[str | None], None] | None = None, filed_by: str | None = None) -> Filed:
    """Submit the report and store its photos; the caller commits with commit_filed()."""
    if data.lon is None and data.lat is None:
        located = next((p.gps for p in photos if p.gps), None)
        if located:
            data.lon, data.lat = located  # the phone knew where the picture was taken
    report, created = submit_report(session, data, actor=actor, staff=staff,
                                    duplicates=duplicates or DuplicatePolicy(), admit=admit, filed_by=filed_by)
    filed = Filed(report, created)
    if created and photos:
        filed.written = save_photos(session, report.id, photos, photo_dir, report.created_at)
    return filed


def commit_filed(session: Session, filed: Filed) -> None:
    """Commit, or remove the photo files again when the commit fails: nothing half-stored stays."""
    try:
        session.commit()
    except BaseException:
        session.rollback()
        for path in filed.written:
            path.unlink(missing_ok=True)
        raise
