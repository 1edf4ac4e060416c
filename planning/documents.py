"""Project documents: only real PDFs, checked like report photos before anything is stored.

A photo is re-encoded so that nothing hidden survives; a planning decision must stay the document that was signed,
so a PDF is not rewritten but refused when it carries anything a reader could run or open: scripts, launch
actions, attached files, rich media or XFA forms. Encrypted files are refused too (they cannot be checked).
Stored under <data_dir>/documents; the database row points at the file.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Conflict, Invalid, NotFound, PayloadTooLarge
from planning.models import Project, ProjectDocument

log = logging.getLogger(__name__)
MAX_PAGES = 2000
# Keys and action types that make a PDF do something when opened or clicked, rather than show pages.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/XFA", "/Launch"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute", "/Rendition"}


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int
    max_count: int  # per project


@dataclass
class CheckedPdf:
    data: bytes
    pages: int


def _active_content(reader: PdfReader) -> str | None:
    """The first active thing found in any object of the file (object streams included), or None."""
    seen: set[int] = set()
    stack: list = [reader.trailer]
    for number in range(1, (reader.trailer.get("/Size") or 0)):
        try:
            stack.append(reader.get_object(number))
        except Exception:  # noqa: BLE001, S112 - a missing or broken object only means one fewer to look at
            continue
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            try:
                item = item.get_object()
            except Exception:  # noqa: BLE001, S112 - as above
                continue
        if isinstance(item, DictionaryObject):
            for key, value in item.items():
                if key in ACTIVE_KEYS:
                    return key.lstrip("/")
                if key == "/S" and isinstance(value, NameObject) and value in ACTIVE_ACTIONS:
                    return f"{value.lstrip('/')} action"
                stack.append(value)
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return None


def check_pdf(raw: bytes, *, max_bytes: int, name: str = "document") -> CheckedPdf:
    """A PDF that can be stored, or a 400/413 saying why not."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"{name} is larger than {max_bytes // (1024 * 1024)} MB", {"field": "file"})
    if not raw.lstrip(b"\r\n\t ")[:5] == b"%PDF-":
        raise Invalid(f"{name} is not a PDF", {"field": "file", "reason": "not_pdf"})
    try:
        reader = PdfReader(io.BytesIO(raw), strict=False)
        if reader.is_encrypted:
            raise Invalid(f"{name} is encrypted; upload it without a password", {"field": "file",
                                                                                   "reason": "encrypted"})
        pages = len(reader.pages)
        active = _active_content(reader)
    except Invalid:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        raise Invalid(f"{name} is not a readable PDF: {str(exc)[:200]}", {"field": "file", "reason": "unreadable"}) \
            from None
    if pages == 0:
        raise Invalid(f"{name} has no page", {"field": "file", "reason": "empty"})
    if pages > MAX_PAGES:
        raise Invalid(f"{name} has more than {MAX_PAGES} pages", {"field": "file", "reason": "too_many_pages"})
    if active:
        raise Invalid(f"{name} carries active content ({active}); save it as a plain PDF (e.g. PDF/A) and upload "
                      "again", {"field": "file", "reason": "active_content", "found": active})
    return CheckedPdf(data=raw, pages=pages)


def clean_file_name(name: str) -> str:
    stem = re.sub(r"[^\w.\- ]+", "_", Path(name or "document.pdf").name, flags=re.UNICODE).strip(" ._") or "document"
    stem = stem[:150]
    return stem if stem.lower().endswith(".pdf") else stem + ".pdf"


def add_document(session: Session, project: Project, raw: bytes, *, title: str | None, file_name: str,
                 directory: Path, limits: DocumentLimits, actor: str, at: datetime) -> tuple[ProjectDocument, Path]:
    """Check and store a PDF; returns its row and the written file (for the caller to remove if the commit fails)."""
    count = session.scalar(select(func.count()).where(ProjectDocument.project_id == project.id))
    if count >= limits.max_count:
        raise Conflict(f"a project holds at most {limits.max_count} documents", {"field": "file"})
    checked = check_pdf(raw, max_bytes=limits.max_bytes)
    title = (title or "").strip() or Path(clean_file_name(file_name)).stem
    if len(title) > 500:
        raise Invalid("title is at most 500 characters", {"field": "title"})
    relative = Path(f"{at:%Y/%m}") / f"{uuid.uuid4().hex}.pdf"
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(checked.data)
    document = ProjectDocument(project_id=project.id, title=title, file_name=clean_file_name(file_name),
                               path=str(relative), bytes=len(checked.data), pages=checked.pages,
                               sha256=hashlib.sha256(checked.data).hexdigest(), uploaded_by=actor)
    session.add(document)
    session.flush()
    return document, target


def get_document(session: Session, project: Project, document_id: int) -> ProjectDocument:
    document = session.get(ProjectDocument, document_id)
    if document is None or document.project_id != project.id:
        raise NotFound("no such document")
    return document


def document_file(session: Session, project: Project, document_id: int,
                  directory: Path) -> tuple[ProjectDocument, Path]:
    document = get_document(session, project, document_id)
    path = (directory / document.path).resolve()
    if directory.resolve() not in path.parents or not path.is_file():
        raise NotFound("the document's file is missing")
    return document, path


def remove_files(directory: Path, paths: list[str]) -> None:
    """Remove stored files (after the rows are gone for good)."""
    for relative in paths:
        path = (directory / relative).resolve()
        if directory.resolve() in path.parents:
            path.unlink(missing_ok=True)
