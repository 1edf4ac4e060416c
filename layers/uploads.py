"""Uploads in steps, for the workspace: a file is received, read into a staging table while its progress is written
for the page to show, reported (read, stored, repaired, dropped and why), and only then published as a new layer
or as a layer's new data, or discarded. A file holding several layers, or no coordinate system, stops at
"needs_choice" until the planner picks the layer, the CRS or the VN-2000 province zone.

Progress is written by the caller's *progress(step, detail)* in transactions of its own, so that a page polling
GET /api/layers/imports/<id> sees it while the upload request is still reading; the import's own row is committed
before each long step for the same reason (its row lock would hold the progress writer back). So an upload is
several transactions, and each leaves a consistent state: every change of the import's row (created, received,
reading, ready / needs_choice / failed, published, discarded) is an ORM write, audited in the transaction that
makes it; a failure while storing rolls the half-filled staging table back and marks the import failed; publishing
is one transaction, which leaves the staging table and the import as they were if it fails. Progress notes (the
step and its rows so far) and the staging table's rows are not audited: docs/history.md says why.

An import belongs to the person who created it: only they, and admins, may see, read, publish or discard it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import cast, func, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core import audit
from gisserver.core.exceptions import Conflict, Invalid, NotFound, PayloadTooLarge
from layers import storage
from layers.archives import ArchiveLimits
from layers.catalog import check_name, get_layer, layer_json
from layers.crs import PROVINCE_MERIDIANS
from layers.importing import ImportOptions, ImportResult, ReadData, describe, publish_staged
from layers.models import LayerImport
from layers.reading import file_kind, read_vector_file

STEPS = ("upload", "read", "store", "ready")
STALE_AFTER = timedelta(days=2)
PREVIEW_ROWS = 5
Progress = Callable[[str, dict | None], None]


def _no_progress(step: str, detail: dict | None = None) -> None:
    return None


def create_import(session: Session, file_name: str, *, replace: str | None, actor: str, directory: Path,
                  size: int | None = None, user_id: int | None = None) -> LayerImport:
    """An import waiting for its file, belonging to the person *user_id* (or, for a machine, to *actor*);
    *replace* names the layer whose data it will replace."""
    if not isinstance(file_name, str) or not file_name.strip():
        raise Invalid("file_name is required", {"field": "file_name"})
    file_kind(Path(file_name))  # an unsupported type is refused before the upload, not after it
    if replace is not None:
        replace = get_layer(session, replace, include_internal=True).name
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise Invalid("bytes must be the file's size", {"field": "bytes"})
    discard_stale(session, directory)
    imp = LayerImport(file_name=Path(file_name).name[:255], bytes=size, replace_layer=replace, created_by=actor,
                      created_by_user_id=user_id, status="created", step="upload", steps=[], options={}, report={})
    session.add(imp)
    session.flush()
    return imp


def belongs_to(imp: LayerImport, caller: Principal) -> bool:
    """Whether *caller* may see and act on the import: its creator (the same person, signed in or through one of
    their tokens; a machine by its actor label), or an admin."""
    if caller.is_admin:
        return True
    if imp.created_by_user_id is not None:
        return imp.created_by_user_id == caller.user_id
    return imp.created_by == caller.actor


def get_import(session: Session, import_id: int, caller: Principal) -> LayerImport:
    """The import, for its creator or an admin; another planner is told it does not exist (ids are sequential)."""
    imp = session.get(LayerImport, import_id)
    if imp is None or not belongs_to(imp, caller):
        raise NotFound(f"no import {import_id}")
    return imp


def file_path(directory: Path, imp: LayerImport) -> Path:
    return directory / str(imp.id) / ("upload" + Path(imp.file_name).suffix.lower())


def _open(imp: LayerImport) -> None:
    if imp.status in ("published", "discarded"):
        raise Conflict(f"import {imp.id} is {imp.status}", {"status": imp.status})


def receive(session: Session, imp: LayerImport, stream, directory: Path, max_bytes: int,
            progress: Progress = _no_progress) -> Path:
    """Store the uploaded file (replacing an earlier one of this import)."""
    _open(imp)
    target = file_path(directory, imp)
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with open(target, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise PayloadTooLarge(f"the file is larger than {max_bytes // 1024**2} MB")
            out.write(chunk)
    imp.bytes = written
    imp.updated_at = datetime.now(UTC)
    session.commit()
    progress("upload", {"bytes": written})
    return target


def record_step(session: Session, import_id: int, step: str, detail: dict | None) -> None:
    """Note a step of the import (its name, when, and e.g. rows stored so far) for the page polling it."""
    entry = {"step": step, "at": datetime.now(UTC).isoformat(), **({"detail": detail} if detail else {})}
    session.execute(update(LayerImport).where(LayerImport.id == import_id).values(
        step=step, steps=LayerImport.steps.op("||")(cast([entry], JSONB)), updated_at=func.now()))


def _drop_staged(session: Session, imp: LayerImport) -> None:
    if imp.staged_table:
        storage.drop_table(session.connection(), imp.staged_table)
        imp.staged_table = None


def read(session: Session, imp: LayerImport, directory: Path, *, layer: str | None = None, crs: str | None = None,
         province: str | None = None, limits: ArchiveLimits = ArchiveLimits(),  # noqa: B008
         progress: Progress = _no_progress) -> LayerImport:
    """Read the received file into the staging table layer_data.s<id>; commits as it goes (see the module)."""
    _open(imp)
    path = file_path(directory, imp)
    if not path.is_file():
        raise Conflict("the file has not been uploaded yet", {"status": imp.status})
    if crs and province:
        raise Invalid("give either a CRS or a province, not both")
    _drop_staged(session, imp)
    imp.status, imp.error, imp.report = "reading", None, {}
    imp.options = {k: v for k, v in {"layer": layer, "crs": crs, "province": province}.items() if v}
    imp.updated_at = datetime.now(UTC)
    session.commit()
    progress("read", None)
    try:
        found = read_vector_file(path, layer=layer, crs=crs, province=province, limits=limits)
        data = describe(found, imp.file_name)
    except Invalid as exc:
        return _stopped(session, imp, exc, progress)
    staged = storage.build_table(f"s{imp.id}", data.geometry_type, data.attributes)
    progress("store", {"rows": 0, "of": data.count})
    try:
        storage.create_and_load(session.connection(), staged, found.frame, data.attributes,
                                progress=lambda rows: progress("store", {"rows": rows, "of": data.count}))
    except DataError as exc:  # a value PostgreSQL refuses: the file's fault, said like any other
        reason = str(exc.orig).splitlines()[0] if exc.orig else "a value cannot be stored"
        return _stopped(session, imp, Invalid(f"the file cannot be stored: {reason}"), progress)
    except Exception:
        # Anything else is ours: the half-filled staging table goes with the rollback, the import says it failed
        # (instead of "reading" for ever), and the error goes on to the error handler.
        _stopped(session, imp, Invalid("the file could not be stored (a server error, logged); read it again"),
                 progress)
        raise
    preview = found.frame.drop(columns=found.frame.geometry.name).head(PREVIEW_ROWS)
    imp.staged_table = staged.name
    imp.status = "ready"
    imp.report = {
        "counts": data.counts, "geometry_type": data.geometry_type, "source_crs": data.source_crs,
        "source_layer": found.source_layer, "attributes": [{"name": a["name"], "type": a["type"]}
                                                           for a in data.attributes],
        "extent": data.extent, "count": data.count,
        "preview": [{k: _plain(v) for k, v in row.items()} for row in preview.to_dict("records")],
    }
    session.commit()
    progress("ready", None)
    session.refresh(imp)  # with the steps the progress writer added
    return imp


def _plain(value):
    if value is None or (isinstance(value, float) and value != value):  # noqa: PLR0124 - NaN
        return None
    return value.isoformat() if hasattr(value, "isoformat") else value if isinstance(value, int | float | str |
                                                                                       bool) else str(value)


def _stopped(session: Session, imp: LayerImport, exc: Invalid, progress: Progress) -> LayerImport:
    """A file that needs the planner's choice (which layer, which CRS), or cannot be imported: say why."""
    session.rollback()
    details = exc.details if isinstance(exc.details, dict) else {}
    if "layers" in details:
        imp.status, imp.report = "needs_choice", {"choice": "layer", "layers": details["layers"]}
    elif details.get("reason") == "no_crs":
        imp.status, imp.report = "needs_choice", {"choice": "crs", "provinces": sorted(PROVINCE_MERIDIANS)}
    else:
        imp.status = "failed"
    imp.error = {"message": exc.message, "details": details}
    session.commit()
    progress(imp.status, None)
    session.refresh(imp)
    return imp


PUBLISH_FIELDS = {"name", "title", "category", "group", "description", "visibility", "style", "comment"}


def publish(session: Session, imp: LayerImport, choices: dict, *, actor: str) -> ImportResult:
    """The staged data becomes a new layer (named in *choices*) or the replaced layer's data."""
    _open(imp)
    if imp.status != "ready" or not imp.staged_table:
        raise Conflict("the file has not been read yet, or needs a choice first", {"status": imp.status})
    if not isinstance(choices, dict) or set(choices) - PUBLISH_FIELDS:
        raise Invalid(f"publish takes {', '.join(sorted(PUBLISH_FIELDS))}", {"fields": sorted(PUBLISH_FIELDS)})
    report = imp.report
    options = ImportOptions(name="", actor=actor, comment=str(choices.get("comment") or "")[:2000],
                            source_name=imp.file_name)
    if imp.replace_layer:
        existing = get_layer(session, imp.replace_layer, include_internal=True)
        options.name, options.replace = existing.name, True
        options.category, options.visibility = existing.category, existing.visibility
    else:
        options.name = check_name(choices.get("name", ""))
        options.category = choices.get("category") or "other"
        options.visibility = choices.get("visibility") or "public"
        options.group = choices.get("group") or None
        options.description = str(choices.get("description") or "")
    if choices.get("title"):
        options.title = str(choices["title"])[:500]
    if choices.get("style") is not None:
        options.style = choices["style"]
    data = ReadData(geometry_type=report["geometry_type"], attributes=_staged_attributes(report),
                    extent=report["extent"], count=report["count"], source_crs=report["source_crs"],
                    counts=report["counts"], source_file=imp.file_name)
    result = publish_staged(session, imp.staged_table, data, options)
    imp.status, imp.staged_table, imp.published_layer, imp.step = "published", None, result.name, "published"
    session.flush()
    return result


def _staged_attributes(report: dict) -> list[dict]:
    # The staging table's columns are a0..aN in the file's order, as storage.infer_attributes names them.
    return [{"name": a["name"], "column": f"a{i}", "type": a["type"]} for i, a in enumerate(report["attributes"])]


def discard(session: Session, imp: LayerImport, directory: Path) -> None:
    """Forget an import: its staging table and its file."""
    if imp.status == "published":
        raise Conflict("a published import cannot be discarded; the layer's history keeps it", {"status": imp.status})
    _drop_staged(session, imp)
    imp.status = "discarded"
    session.flush()
    shutil.rmtree(directory / str(imp.id), ignore_errors=True)


def remove_file(directory: Path, imp: LayerImport) -> None:
    """The uploaded file, once its data is published (the data table now holds it)."""
    shutil.rmtree(directory / str(imp.id), ignore_errors=True)


def discard_stale(session: Session, directory: Path) -> int:
    """Imports left unpublished for STALE_AFTER are discarded (their staging tables dropped, their files removed)."""
    cutoff = datetime.now(UTC) - STALE_AFTER
    stale = list(session.scalars(select(LayerImport).where(
        LayerImport.status.notin_(("published", "discarded")), LayerImport.updated_at < cutoff)))
    for imp in stale:
        discard(session, imp, directory)
        # The update above is audited under whoever's request swept it; this says it was the sweep.
        audit.record(session, "discard_stale_import", "layer_imports", str(imp.id),
                     {"created_by": imp.created_by, "unpublished_since": imp.updated_at, "after": str(STALE_AFTER)})
    return len(stale)


def import_json(imp: LayerImport, layer=None) -> dict:
    body = {"id": imp.id, "status": imp.status, "step": imp.step, "steps": imp.steps, "file_name": imp.file_name,
            "bytes": imp.bytes, "replace": imp.replace_layer, "options": imp.options, "report": imp.report,
            "error": imp.error, "published_layer": imp.published_layer,
            "created_by": imp.created_by, "created_at": imp.created_at.isoformat() if imp.created_at else None}
    if layer is not None:
        body["layer"] = layer_json(layer)
    return body
