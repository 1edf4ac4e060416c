"""HTTP API of cameras and flood hotspots."""

from __future__ import annotations

import base64
import binascii
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Blueprint, current_app, request, url_for

from gisserver.accounts.auth import actor_label, current_principal, is_staff, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Forbidden, Invalid, PayloadTooLarge, Unauthorized
from gisserver.core.http import bool_arg, datetime_arg, db_session, finite_float, json_body
from reports.cameras import access
from reports.cameras import alerts as alert_service
from reports.cameras import hotspots as hotspot_service
from reports.cameras import service as camera_service
from reports.cameras.models import Alert
from reports.workflow import photos as photo_service
from reports.workflow import queries

bp = Blueprint("cameras", __name__, url_prefix="/api")


def _offline_window() -> timedelta:
    return camera_service.offline_window(current_app.config["SETTINGS"].camera_offline_minutes)


def _camera_json(row, staff: bool, window: timedelta) -> dict:
    body = {
        "code": row.code, "name": row.name, "lon": round(row.lon, 7), "lat": round(row.lat, 7),
        "direction": row.direction, "fov": row.fov, "range_m": row.range_m,
        "area": {"code": row.area_code, "name": row.area_name} if row.area_code else None,
        "health": camera_service.health(row, window=window), "ai_capabilities": list(row.ai_capabilities),
        "last_seen_at": row.last_seen_at.isoformat() if row.last_seen_at else None,
    }
    if staff:
        body["stream_url"] = row.stream_url  # never in public output
    return body




@bp.get("/cameras")
@open_to("everyone; stream URLs only for staff")
@on_replica
def list_cameras():
    rows = camera_service.list_cameras(db_session(), area_code=request.args.get("area") or None, ai=bool_arg("ai"))
    staff, window = is_staff(), _offline_window()
    items = [_camera_json(r, staff, window) for r in rows]
    health = request.args.get("health")
    if health:
        items = [c for c in items if c["health"] == health]
    return {"cameras": items, "total": len(items)}


@bp.get("/cameras.geojson")
@open_to("everyone; stream URLs only for staff")
@on_replica
def cameras_geojson():
    from layers.export import parse_bbox

    text = camera_service.cameras_geojson(db_session(), coverage=request.args.get("geometry") == "coverage",
                                          bbox=parse_bbox(request.args.get("bbox")), window=_offline_window())
    return current_app.response_class(text, mimetype="application/geo+json")


@bp.get("/cameras/seeing")
@open_to("everyone; stream URLs only for staff")
@on_replica
def cameras_seeing():
    lon, lat = finite_float(request.args.get("lon"), "lon"), finite_float(request.args.get("lat"), "lat")
    rows = camera_service.cameras_seeing_point(db_session(), lon, lat)
    return {"cameras": [{"code": r.code, "name": r.name, "distance_m": round(r.distance_m, 1)} for r in rows]}


@bp.get("/reports/<int:report_id>/cameras")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def cameras_seeing_report(report_id: int):
    """The cameras that see a report's place, nearest first (for the report's page)."""
    session = db_session()
    report = queries.visible_report(session, current_principal(), report_id)
    rows = camera_service.cameras_seeing_report(session, report.id)
    return {"cameras": [{"code": r.code, "name": r.name, "distance_m": round(r.distance_m, 1)} for r in rows]}


@bp.get("/cameras/export")
@require_roles("officer", "leader", "planner")
@on_replica
def export_cameras():
    """The registry as a CSV or GeoJSON file (no stream addresses) that imports again."""
    fmt = request.args.get("format", "geojson")
    if fmt not in camera_service.EXPORT_FORMATS:
        raise Invalid(f"format must be one of {', '.join(camera_service.EXPORT_FORMATS)}", {"field": "format"})
    mimetype, suffix = camera_service.EXPORT_FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="gisserver-cameras-") as tmp:
        path = Path(tmp) / f"cameras{suffix}"
        camera_service.write_cameras(db_session(), fmt, path)
        data = path.read_bytes()
    return current_app.response_class(data, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="cameras{suffix}"'})


@bp.post("/cameras/import")
@require_roles("officer")
@on_primary("writes cameras")
def import_cameras():
    """Create or update cameras from an uploaded CSV (lon/lat) or GeoJSON point file; all rows or none."""
    from layers.importing import read_vector_file

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the file as multipart field 'file'", {"field": "file"})
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        raise Invalid("send a .csv or .geojson file", {"field": "file"})
    session = db_session()
    with tempfile.TemporaryDirectory(prefix="gisserver-cameras-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        upload.save(path)
        frame = read_vector_file(path, crs=request.form.get("crs") or None).frame
    result = camera_service.import_cameras(session, frame, writer=current_principal())
    session.commit()
    return {"created": result.created, "updated": result.updated}


@bp.get("/cameras/<code>")
@open_to("everyone; stream URLs only for staff")
@on_replica
def get_camera(code: str):
    session = db_session()
    camera_service.get_camera(session, code)
    row = next(r for r in camera_service.list_cameras(session) if r.code == code)
    return _camera_json(row, is_staff(), _offline_window())


def _camera_input(body: dict) -> camera_service.CameraInput:
    try:
        return camera_service.CameraInput(
            code=str(body.get("code") or ""), name=str(body.get("name") or ""), lon=body.get("lon"),
            lat=body.get("lat"), direction=body.get("direction"), fov=body.get("fov", 90.0),
            range_m=body.get("range_m", 60.0), owner_unit=body.get("owner_unit"), state=body.get("state", "active"),
            ai_capabilities=tuple(body.get("ai_capabilities") or ()), stream_url=body.get("stream_url"),
        )
    except TypeError:
        raise Invalid("ai_capabilities must be a list") from None


def _check_manages(camera) -> None:
    if not access.may_manage_camera(db_session(), current_principal(), camera):
        raise Forbidden("this camera is outside your areas and units")


@bp.post("/cameras")
@require_roles("officer")
@on_primary("writes cameras")
def add_camera():
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    camera = camera_service.add_camera(session, _camera_input(body))
    _check_manages(camera)  # where it stands (or who owns it) is known only once it is placed
    session.commit()
    return get_camera(camera.code), 201


@bp.patch("/cameras/<code>")
@require_roles("officer")
@on_primary("writes cameras")
def update_camera(code: str):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    camera = camera_service.get_camera(session, code)
    _check_manages(camera)
    camera_service.update_camera(session, camera, body)
    _check_manages(camera)  # nor may it be moved or handed out of the caller's scope
    session.commit()
    return get_camera(code)


@bp.delete("/cameras/<code>")
@require_roles("admin")
@on_primary("writes cameras")
def delete_camera(code: str):
    session = db_session()
    camera_service.delete_camera(session, camera_service.get_camera(session, code))
    session.commit()
    return "", 204


def _camera_speaking(code: str):
    """The camera, when the caller is its own token (scope camera:<code>) or staff managing it."""
    principal = current_principal()
    if principal is None:
        raise Unauthorized("send the camera's token")
    camera = camera_service.get_camera(db_session(), code)
    if not access.may_act_for_camera(db_session(), principal, camera):
        raise Forbidden("this token may not act for that camera")
    return camera


@bp.post("/cameras/<code>/heartbeat")
@open_to("devices; the view checks the token against the camera it speaks for")
@on_primary("writes the camera's last heartbeat")
def camera_heartbeat(code: str):
    session = db_session()
    camera_service.heartbeat(session, _camera_speaking(code))
    session.commit()
    return {"ok": True}


def _hotspot_json(hotspot, lon, lat, cameras: list[str]) -> dict:
    return {
        "code": hotspot.code, "name": hotspot.name, "lon": round(lon, 7), "lat": round(lat, 7),
        "cameras": cameras, "page": url_for("cameras_pages.hotspot_page", code=hotspot.code),
        "thresholds_cm": {"watch": hotspot.watch_cm, "warning": hotspot.warning_cm, "danger": hotspot.danger_cm},
        "level_cm": hotspot.last_level_cm,
        "reading_at": hotspot.last_reading_at.isoformat() if hotspot.last_reading_at else None,
        "status": hotspot_service.status_for(hotspot, hotspot.last_level_cm),
    }


@bp.get("/hotspots")
@open_to("everyone; public flood levels")
@on_replica
def list_hotspots():
    session = db_session()
    cameras = hotspot_service.camera_codes_by_hotspot(session)
    return {"hotspots": [_hotspot_json(h, lon, lat, cameras.get(h.id, []))
                         for h, lon, lat in hotspot_service.list_hotspots(session)]}


@bp.post("/hotspots/readings")
@open_to("devices; the service checks the token against each gauge's hotspot")
@on_primary("writes readings")
def post_readings():
    principal = current_principal()
    if principal is None:
        raise Unauthorized("send the gauge's token")
    body = json_body()
    items = body.get("readings") if isinstance(body, dict) else body
    session = db_session()
    result = hotspot_service.record_readings(session, items, writer=principal)
    session.commit()
    return {"stored": result.stored, "duplicates": result.duplicates}, 201 if result.stored else 200


@bp.get("/hotspots/<code>/readings")
@open_to("everyone; public flood levels")
@on_replica
def hotspot_readings(code: str):
    """A hotspot's level history (default: the last 30 days), with its thresholds, for charts."""
    session = db_session()
    hotspot = hotspot_service.get_hotspot(session, code)
    rows = hotspot_service.readings(session, hotspot, datetime_arg("from"), datetime_arg("to"))
    ((_, lon, lat),) = hotspot_service.list_hotspots(session, code)
    cameras = hotspot_service.camera_codes_by_hotspot(session, [hotspot.id]).get(hotspot.id, [])
    return {"hotspot": code, **_hotspot_json(hotspot, lon, lat, cameras),
            "readings": [{"at": r.at.isoformat(), "level_cm": r.level_cm,
                          "status": hotspot_service.status_for(hotspot, r.level_cm)} for r in rows]}


def _snapshot() -> photo_service.ProcessedPhoto | None:
    """A snapshot as a multipart file or base64 in the JSON body: a real image under the size cap."""
    max_bytes = current_app.config["SETTINGS"].photo_max_mb * 1024 * 1024
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("snapshot")
        if upload is None:
            return None
        raw = upload.stream.read(max_bytes + 1)
    else:
        encoded = (request.get_json(silent=True) or {}).get("snapshot")
        if not encoded:
            return None
        if not isinstance(encoded, str) or len(encoded) > (max_bytes * 4) // 3 + 8:
            raise PayloadTooLarge("the snapshot is too large")
        try:
            raw = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid("snapshot must be base64", {"field": "snapshot"}) from None
    return photo_service.process_photo(raw, max_bytes=max_bytes, name="snapshot")


def _event_input() -> alert_service.EventInput:
    if request.mimetype == "multipart/form-data":
        form = request.form
        lon, lat = form.get("lon"), form.get("lat")
        return alert_service.EventInput(
            type=form.get("type", ""), confidence=finite_float(form.get("confidence"), "confidence"),
            at=form.get("at"), lon=finite_float(lon, "lon") if lon else None,
            lat=finite_float(lat, "lat") if lat else None)
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    return alert_service.EventInput(type=str(body.get("type") or ""), confidence=body.get("confidence"),
                                    at=body.get("at"), lon=body.get("lon"), lat=body.get("lat"))


@bp.post("/cameras/<code>/events")
@open_to("devices; the view checks the token against the camera it speaks for")
@on_primary("writes events and alerts")
def camera_event(code: str):
    session = db_session()
    camera = _camera_speaking(code)
    data = _event_input()
    snapshot = _snapshot()  # checked before anything is stored
    written = None
    try:
        path = None
        if snapshot is not None:
            now = datetime.now(UTC)
            relative = f"{now:%Y/%m}/{uuid.uuid4().hex}.jpg"
            written = current_app.config["SETTINGS"].data_dir / "snapshots" / relative
            written.parent.mkdir(parents=True, exist_ok=True)
            written.write_bytes(snapshot.data)
            path = relative
        window = timedelta(minutes=current_app.config["SETTINGS"].alert_dedup_minutes)
        result = alert_service.record_event(session, camera, data, snapshot_path=path, dedup_window=window,
                                            actor=actor_label())
        session.commit()
    except BaseException:
        session.rollback()
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    return {"alert": alert_service.alert_view(session, result.alert), "new_alert": result.new_alert}, 201


@bp.get("/alerts")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def list_alerts():
    session = db_session()
    statuses = [s for s in request.args.get("status", "").split(",") if s]
    alerts = alert_service.alerts_for(session, current_principal(), statuses=statuses,
                                      alert_type=request.args.get("type") or None)
    return {"alerts": [alert_service.alert_view(session, a) for a in alerts]}


def _visible_alert(alert_id: int) -> Alert:
    return alert_service.visible_alert(db_session(), current_principal(), alert_id)


@bp.get("/alerts/<int:alert_id>")
@require_roles("officer", "leader")
@on_primary("officers' working set: few callers, and they act on what they see")
def get_alert(alert_id: int):
    return alert_service.alert_view(db_session(), _visible_alert(alert_id), with_history=True)


@bp.post("/alerts/<int:alert_id>/transition")
@require_roles("officer")
@on_primary("writes the alert")
def transition_alert(alert_id: int):
    body = json_body()
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    session = db_session()
    alert = _visible_alert(alert_id)
    alert_service.transition_alert(session, alert, str(body.get("action") or ""), actor=actor_label(),
                                   note=str(body.get("note") or ""))
    session.commit()
    return alert_service.alert_view(db_session(), alert, with_history=True)
