"""HTTP API of the layer catalog: list, read (with styles), upload, replace data, update, delete, export; a
layer's history and restores."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, request, send_file
from werkzeug.utils import secure_filename

from gisserver.accounts.auth import actor_label, current_principal, is_staff, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound
from gisserver.core.http import db_session, int_arg, json_body, parse_json_text, readable_from_other_origins
from layers import catalog, editing, history, styles, table, uploads
from layers.archives import ArchiveLimits
from layers.catalog import layer_json
from layers.crs import served_crs
from layers.importing import ImportOptions, import_layer

bp = Blueprint("layers_api", __name__, url_prefix="/api/layers")


@bp.get("")
@open_to("everyone; internal layers listed only for staff")
@readable_from_other_origins
@on_replica
def list_layers():
    f = catalog.LayerFilter(category=request.args.get("category") or None, group=request.args.get("group") or None,
                            text=request.args.get("q") or None, include_internal=is_staff())
    return {"layers": [layer_json(layer) for layer in catalog.list_layers(db_session(), f)]}


@bp.get("/<name>")
@open_to("everyone; an internal layer is a 404 for non-staff")
@readable_from_other_origins
@on_replica
def get_layer(name: str):
    return layer_json(catalog.get_layer(db_session(), name, include_internal=is_staff()))


def _limits() -> ArchiveLimits:
    settings = current_app.config["SETTINGS"]
    return ArchiveLimits(max_files=settings.archive_max_files, max_total_bytes=settings.archive_max_mb * 1024**2)


def _import(name: str, replace: bool):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the file as multipart field 'file'", {"field": "file"})
    form = request.form
    style = parse_json_text(form["style"]) if form.get("style") else None
    options = ImportOptions(
        name=name, title=form.get("title") or None, category=form.get("category") or "other",
        group=form.get("group") or None, description=form.get("description") or "", layer=form.get("layer") or None,
        crs=form.get("crs") or None, province=form.get("province") or None,
        visibility=form.get("visibility") or "public", style=style, replace=replace, actor=actor_label(),
        limits=_limits(), source_name=secure_filename(upload.filename),
    )
    if replace:
        existing = catalog.get_layer(db_session(), name, include_internal=True)
        options.category, options.visibility = existing.category, existing.visibility
    suffix = Path(upload.filename).suffix.lower()
    with tempfile.TemporaryDirectory(prefix="gisserver-upload-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        session = db_session()
        result = import_layer(session, path, options)
        session.commit()
    layer = catalog.get_layer(session, name, include_internal=True)
    return {"import": result.as_dict(), "layer": layer_json(layer)}


@bp.post("")
@require_roles("planner")
@on_primary("writes a layer")
def upload_layer():
    return _import(request.form.get("name", ""), replace=False), 201


@bp.put("/<name>/data")
@require_roles("planner")
@on_primary("writes a layer's data")
def replace_data(name: str):
    return _import(name, replace=True)


@bp.patch("/<name>")
@require_roles("planner")
@on_primary("writes a layer")
def update_layer(name: str):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    layer = catalog.update_layer(session, catalog.get_layer(session, name, include_internal=True), body,
                                 actor=actor_label())
    session.commit()
    return layer_json(layer)


@bp.delete("/<name>")
@require_roles("planner")
@on_primary("writes a layer")
def delete_layer(name: str):
    session = db_session()
    catalog.delete_layer(session, catalog.get_layer(session, name, include_internal=True))
    session.commit()
    return "", 204


@bp.get("/<name>/export")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def export_layer(name: str):
    from layers.export import FORMATS, export_file

    fmt = request.args.get("format", "geojson")
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}", {"field": "format"})
    bbox = request.args.get("bbox")
    session = db_session()
    layer = catalog.get_layer(session, name, include_internal=is_staff())
    tmp = tempfile.TemporaryDirectory(prefix="gisserver-export-")
    try:
        export = export_file(session, layer, fmt, Path(tmp.name), bbox=bbox, area=request.args.get("area"),
                             crs=request.args.get("crs") or None, province=request.args.get("province") or None)
    except BaseException:
        tmp.cleanup()
        raise
    response = send_file(export.path, mimetype=FORMATS[fmt][1], as_attachment=True, download_name=export.path.name)
    if export.notes:
        # What the format could not keep (a Shapefile's 254-byte text, 10-character names), said to API clients as
        # well as in the archive's NOTES.txt; JSON with ASCII escapes, as header values are Latin-1.
        response.headers["X-Export-Notes"] = json.dumps(export.notes)
    response.call_on_close(tmp.cleanup)
    return response


# -- history: changes, a feature's versions, restores ---------------------------------------------------------


def _planner_layer(name: str):
    session = db_session()
    return session, catalog.get_layer(session, name, include_internal=True)


@bp.get("/<name>/changes")
@require_roles("planner")
@on_replica
def layer_changes(name: str):
    session, layer = _planner_layer(name)
    fid = request.args.get("fid")
    if fid is not None and not fid.isdigit():
        raise Invalid("fid must be a feature id", {"field": "fid"})
    limit = int_arg("limit", 100)
    if not 1 <= limit <= 1000:
        raise Invalid("limit must be from 1 to 1000", {"field": "limit"})
    rows = history.changes(session, layer, fid=int(fid) if fid else None, limit=limit,
                           before_id=int_arg("before", 0) or None)
    return {"layer": layer.name, "changes": [history.change_json(c) for c in rows]}


@bp.get("/<name>/features/<int:fid>/versions")
@require_roles("planner")
@on_replica
def feature_versions(name: str, fid: int):
    session, layer = _planner_layer(name)
    return history.versions(session, layer, fid)


def _restore_body() -> dict:
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    comment = body.get("comment", "")
    if not isinstance(comment, str) or len(comment) > 2000:
        raise Invalid("comment is a text of at most 2000 characters", {"field": "comment"})
    return body


@bp.post("/<name>/features/<int:fid>/restore")
@require_roles("planner")
@on_primary("writes a layer's features")
def restore_feature(name: str, fid: int):
    body = _restore_body()
    session, layer = _planner_layer(name)
    result = editing.restore_feature(session, layer, str(fid), body.get("version"), actor=actor_label(),
                                     comment=body.get("comment", ""))
    session.commit()
    return {"fid": fid, "change": history.change_json(result.change), "etag": result.etag}


@bp.post("/<name>/restore")
@require_roles("planner")
@on_primary("writes a layer's data")
def restore_layer(name: str):
    body = _restore_body()
    at = history.parse_instant(body.get("at") if isinstance(body.get("at"), str) else None, "at")
    if at is None:
        raise Invalid("at is required: the instant whose data to restore", {"field": "at"})
    session, layer = _planner_layer(name)
    change = history.restore_layer(session, layer, at, actor=actor_label(), comment=body.get("comment", ""))
    session.commit()
    return {"change": history.change_json(change), "layer": layer_json(layer)}


# -- the workspace's reads: the attribute table, values and class breaks for styles, style files ---------------


def _readable_layer(name: str):
    session = db_session()
    return session, catalog.get_layer(session, name, include_internal=is_staff())


@bp.get("/<name>/rows")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def layer_rows(name: str):
    session, layer = _readable_layer(name)
    order = request.args.get("order", "asc")
    if order not in ("asc", "desc"):
        raise Invalid("order is asc or desc", {"field": "order"})
    q = table.TableQuery(page=int_arg("page", 1), per_page=int_arg("per_page", 50),
                         sort=request.args.get("sort") or None, descending=order == "desc",
                         filters={k[len("where."):]: v for k, v in request.args.items()
                                  if k.startswith("where.") and v != ""})
    return table.rows(session, layer, q)


@bp.get("/<name>/values")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def attribute_values(name: str):
    session, layer = _readable_layer(name)
    attribute = request.args.get("attribute", "")
    return {"attribute": attribute, "values": table.distinct_values(session, layer, attribute)}


@bp.get("/<name>/breaks")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def class_breaks(name: str):
    session, layer = _readable_layer(name)
    attribute = request.args.get("attribute", "")
    method = request.args.get("method", "quantile")
    return {"attribute": attribute, "method": method,
            "breaks": table.class_breaks(session, layer, attribute, int_arg("classes", 5), method)}


@bp.get("/<name>/style.<fmt>")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def style_file(name: str, fmt: str):
    if fmt not in styles.FORMATS:
        raise NotFound(f"no style format {fmt!r}; use sld or qml")
    _, layer = _readable_layer(name)
    body, mimetype = styles.export(layer, fmt)
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{layer.name}.{fmt}"'
    return response


@bp.post("/<name>/check")
@require_roles("planner")
@on_primary("a POST: the editor's checks, in a transaction rolled back")
def check_feature(name: str):
    """What saving this feature would say, without saving it: the editor shows it while the planner draws."""
    session, layer = _planner_layer(name)
    body = json_body()
    partial = request.args.get("partial") == "true"
    edit = editing.edit_from_feature(body, partial=partial)
    crs = served_crs(request.headers.get("Content-Crs"), "Content-Crs")
    checks = [lambda: editing.check_properties(layer, edit.properties or {}, partial=partial)]
    if edit.geometry is not None:
        checks.append(lambda: editing.check_geometry(session, layer, edit.geometry, crs))
    problems = []
    for check in checks:
        try:
            check()
        except Invalid as exc:
            problems.append({"message": exc.message, "details": exc.details})
    session.rollback()
    return {"valid": not problems, "problems": problems}


# -- uploads in steps, for the workspace's upload page (progress, choices, report, then publish) ---------------

imports_bp = Blueprint("layer_imports", __name__, url_prefix="/api/layer-imports")


def _import_dir() -> Path:
    return current_app.config["SETTINGS"].data_dir / "imports"


def _progress_writer(import_id: int):
    """Progress written in a transaction of its own, so that a page polling the import sees it at once."""
    database = current_app.extensions["gisserver.db"]

    def write(step: str, detail: dict | None = None) -> None:
        with database.transaction() as session:
            uploads.record_step(session, import_id, step, detail)

    return write


def _own_import(session, import_id: int):
    """The caller's own import (an admin's: any); another planner's is a 404."""
    return uploads.get_import(session, import_id, current_principal())


@imports_bp.post("")
@require_roles("planner")
@on_primary("writes an upload")
def create_import():
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object {file_name, bytes, replace}")
    session = db_session()
    imp = uploads.create_import(session, body.get("file_name"), replace=body.get("replace") or None,
                                actor=actor_label(), directory=_import_dir(), size=body.get("bytes"),
                                user_id=current_principal().user_id)
    session.commit()
    return uploads.import_json(imp), 201


@imports_bp.get("/<int:import_id>")
@require_roles("planner")
@on_primary("polled while another request commits the upload's progress: the primary has each step at once")
def get_import(import_id: int):
    return uploads.import_json(_own_import(db_session(), import_id))


def _read_options(body: dict) -> dict:
    options = {}
    for key in ("layer", "crs", "province"):
        value = body.get(key)
        if value not in (None, ""):
            if not isinstance(value, str) or len(value) > 2000:
                raise Invalid(f"{key} must be a short text", {"field": key})
            options[key] = value
    return options


@imports_bp.put("/<int:import_id>/file")
@require_roles("planner")
@on_primary("writes the upload and commits its progress")
def upload_import_file(import_id: int):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the file as multipart field 'file'", {"field": "file"})
    session = db_session()
    imp = _own_import(session, import_id)
    progress = _progress_writer(import_id)
    settings = current_app.config["SETTINGS"]
    uploads.receive(session, imp, upload.stream, _import_dir(), settings.max_upload_mb * 1024**2, progress)
    uploads.read(session, imp, _import_dir(), limits=_limits(), progress=progress,
                 **_read_options(request.form.to_dict()))
    return uploads.import_json(imp)


@imports_bp.post("/<int:import_id>/read")
@require_roles("planner")
@on_primary("writes the upload's report and commits its progress")
def reread_import(import_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object {layer, crs, province}")
    session = db_session()
    imp = _own_import(session, import_id)
    uploads.read(session, imp, _import_dir(), limits=_limits(), progress=_progress_writer(import_id),
                 **_read_options(body))
    return uploads.import_json(imp)


@imports_bp.post("/<int:import_id>/publish")
@require_roles("planner")
@on_primary("writes a layer")
def publish_import(import_id: int):
    session = db_session()
    imp = _own_import(session, import_id)
    result = uploads.publish(session, imp, json_body(), actor=actor_label())
    session.commit()
    uploads.remove_file(_import_dir(), imp)
    layer = catalog.get_layer(session, result.name, include_internal=True)
    return uploads.import_json(imp, layer), 200 if result.replaced else 201


@imports_bp.delete("/<int:import_id>")
@require_roles("planner")
@on_primary("writes an upload")
def discard_import(import_id: int):
    session = db_session()
    uploads.discard(session, _own_import(session, import_id), _import_dir())
    session.commit()
    return "", 204
