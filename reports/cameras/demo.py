"""Demo cameras (with view cones), flood hotspots and a rainy-season reading history, made through the services."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import ServiceError
from gisserver.core.meta import get_meta, set_meta
from gisserver.demo.geography import CENTER, PERFUME_RIVER
from reports.areas.models import Area
from reports.cameras.alert_types import ensure_default_alert_types
from reports.cameras.hotspots import HotspotInput, add_hotspot, record_readings
from reports.cameras.models import AiEvent, Camera, Hotspot
from reports.cameras.service import CameraInput, add_camera, cameras_seeing_point, heartbeat

AI_KINDS = (("traffic",), ("flood",), ("fire", "straw_burning"), ("traffic", "encroachment"), ("flood", "crowd"))
STREETS = ("Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Điện Biên Phủ", "Lê Duẩn", "Bà Triệu",
           "Nguyễn Tri Phương", "Đống Đa", "Phan Đình Phùng", "Trường Chinh", "Tố Hữu", "Võ Văn Kiệt", "An Dương Vương")
OFFLINE_MARKER = "demo_offline_cameras"
# What a resident writes when they see what an AI camera also saw (the alert then links to the report).
SEEN_BY_RESIDENTS = {
    "fire": "Thấy khói và lửa gần đường, đề nghị kiểm tra gấp",
    "straw_burning": "Có người đốt rơm rạ, khói bay vào khu dân cư",
    "flood": "Nước ngập lên mặt đường, xe máy đi lại khó khăn",
    "traffic": "Xe đỗ sai quy định và đi ngược chiều ở ngã tư",
    "encroachment": "Hàng quán lấn chiếm vỉa hè, người đi bộ phải xuống lòng đường",
    "crowd": "Đám đông tụ tập gây mất trật tự",
}


def _wards(session: Session):
    rows = session.execute(select(Area.code, Area.geom).where(Area.level == "ward", Area.valid_to.is_(None))
                           .order_by(Area.code))
    return [(code, to_shape(geom)) for code, geom in rows]


def _point(rng, polygon, centre=None, spread=None):
    minx, miny, maxx, maxy = polygon.bounds
    prepared = shapely.prepared.prep(polygon)
    while True:
        if centre is not None:
            x, y = rng.normal(centre[0], spread), rng.normal(centre[1], spread)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(shapely.Point(x, y)):
            return round(float(x), 6), round(float(y), 6)


def load_demo_cameras(session: Session, *, seed: int, count: int = 650, ai_count: int = 27,
                      centre=(107.585, 16.463), now: datetime | None = None) -> str:
    """*count* cameras, denser in the centre; *ai_count* of them with AI; a few offline or in maintenance."""
    if session.scalar(select(Camera.id).limit(1)):
        return "already there"
    rng = np.random.default_rng(seed + 1)
    now = now or datetime.now(UTC)
    wards = _wards(session)
    centre_point = shapely.Point(centre)
    weights = np.array([1 / (0.02 + poly.centroid.distance(centre_point)) ** 1.5 for _, poly in wards])
    weights /= weights.sum()
    ai_slots = set(rng.choice(count, size=min(ai_count, count), replace=False).tolist())
    offline = []
    for i in range(count):
        ward_code, polygon = wards[rng.choice(len(wards), p=weights)]
        c = polygon.centroid
        lon, lat = _point(rng, polygon, (c.x, c.y), max(polygon.bounds[2] - polygon.bounds[0], 0.01) / 5)
        dome = rng.random() < 0.1
        ai = i in ai_slots
        code = f"CAM-{i + 1:04d}"
        camera = add_camera(session, CameraInput(
            code=code,
            name=f"Camera {'AI ' if ai else ''}{rng.choice(STREETS)} - {ward_code}",
            lon=lon, lat=lat,
            direction=None if dome else float(rng.integers(0, 360)),
            fov=360.0 if dome else float(rng.choice([60, 75, 90, 110])),
            range_m=float(rng.integers(40, 121)) if not ai else float(rng.integers(80, 201)),
            owner_unit=f"{ward_code}-CA",
            state="maintenance" if rng.random() < 0.02 else "active",
            ai_capabilities=AI_KINDS[i % len(AI_KINDS)] if ai else (),
            stream_url=f"rtsp://10.20.{i // 250}.{i % 250 + 1}:554/stream1",
        ))
        if rng.random() < 0.07:
            heartbeat(session, camera, now - timedelta(hours=float(rng.uniform(1, 96))))
            offline.append(code)
        else:
            heartbeat(session, camera, now)
    set_meta(session, OFFLINE_MARKER, {"codes": offline})
    return f"{count} cameras ({len(ai_slots)} with AI, {len(offline)} offline)"


def pulse_demo_cameras(session: Session, now: datetime | None = None) -> int:
    """Stand in for the demo cameras' own heartbeats: healthy ones report now, the broken ones stay silent."""
    silent = set((get_meta(session, OFFLINE_MARKER) or {}).get("codes", []))
    cameras = session.scalars(select(Camera).where(Camera.state == "active"))
    alive = [c for c in cameras if c.code not in silent]
    for camera in alive:
        camera.last_seen_at = now or datetime.now(UTC)
    session.flush()
    return len(alive)


def load_demo_hotspots(session: Session, *, seed: int, river, count: int = 50, days: int = 120,
                       now: datetime | None = None) -> str:
    """Flood hotspots near the *river* (a line) with a reading every 3 hours over the last *days*, with flood events."""
    if session.scalar(select(Hotspot.id).limit(1)):
        return "already there"
    rng = np.random.default_rng(seed + 2)
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    city = to_shape(session.scalar(select(Area.geom).where(Area.level == "city", Area.valid_to.is_(None))))
    zone = river.buffer(0.03).intersection(city)
    cameras = list(session.execute(select(Camera.code).where(Camera.ai_capabilities.any("flood"))).scalars())
    hotspots = []
    for i in range(count):
        lon, lat = _point(rng, zone)
        watch = float(rng.integers(10, 21))
        # A flood AI camera where there is one, and the ordinary cameras that happen to look at the place.
        own = [cameras[i]] if i < len(cameras) else []
        watching = [r.code for r in cameras_seeing_point(session, lon, lat)[:2]]
        hotspot = add_hotspot(session, HotspotInput(
            code=f"NGAP-{i + 1:03d}", name=f"Điểm ngập {rng.choice(STREETS)} {i + 1}", lon=lon, lat=lat,
            watch_cm=watch, warning_cm=watch + float(rng.integers(15, 25)),
            danger_cm=watch + float(rng.integers(35, 55)),
            camera_codes=tuple(dict.fromkeys(own + watching)),
        ))
        depth = 1.0 / (0.003 + river.distance(shapely.Point(lon, lat)))  # nearer the river floods deeper
        hotspots.append((hotspot.code, depth))
    # Flood events of the season, shared by all hotspots (one storm floods the whole city).
    steps = days * 8
    times = [now - timedelta(hours=3 * (steps - k)) for k in range(1, steps + 1)]
    events = sorted(rng.choice(np.arange(steps // 6, steps - 8), size=5, replace=False).tolist())
    base = np.zeros(steps)
    for start in events:
        peak, length = rng.uniform(0.6, 1.4), int(rng.integers(8, 24))
        shape = np.sin(np.linspace(0, np.pi, length)) * peak
        base[start:start + length] = np.maximum(base[start:start + length], shape[: steps - start])
    batch = []
    for code, depth in hotspots:
        scale = min(depth, 120) * rng.uniform(0.5, 0.9)
        levels = np.clip(base * scale + rng.normal(0, 1.5, steps), 0, None)
        batch += [{"hotspot": code, "at": t.isoformat(), "level_cm": round(float(v), 1)}
                  for t, v in zip(times, levels, strict=True)]
    stored = 0
    for start in range(0, len(batch), 1000):
        stored += record_readings(session, batch[start:start + 1000], now=now).stored
    return f"{count} hotspots, {stored} readings over {days} days ({len(events)} flood events)"


def load_demo_ai_events(session: Session, *, seed: int, days: int = 30, now: datetime | None = None) -> str:
    """A month of AI detections from the AI cameras, most of them handled, through the alert service."""
    from reports.cameras.alerts import EventInput, record_event, transition_alert

    if session.scalar(select(AiEvent.id).limit(1)):
        return "already there"
    rng = np.random.default_rng(seed + 4)
    now = now or datetime.now(UTC)
    cameras = list(session.scalars(select(Camera).where(func.cardinality(Camera.ai_capabilities) > 0)
                                   .order_by(Camera.code)))
    events = []
    for camera in cameras:
        for kind in camera.ai_capabilities:
            rate = {"traffic": 1.2, "flood": 0.3, "fire": 0.05, "straw_burning": 0.15}.get(kind, 0.3)
            for day in range(days):
                for _ in range(rng.poisson(rate)):
                    start = now - timedelta(days=days - day, hours=float(rng.uniform(0, 24)))
                    # A detection usually comes as a burst of a few frames a minute or two apart.
                    for k in range(int(rng.integers(1, 5))):
                        events.append((start + timedelta(minutes=2 * k), camera, kind, float(rng.uniform(0.6, 0.99))))
    events.sort(key=lambda e: (e[0], e[1].code))
    residents = _residents_who_saw_it(session, rng, events, now)
    alerts = {}
    for at, camera, kind, confidence in events:
        result = record_event(session, camera, EventInput(kind, round(confidence, 2), at), now=now)
        alerts[result.alert.id] = result.alert
    handled = 0
    for alert in alerts.values():
        age = now - alert.last_at
        if age > timedelta(hours=6) or rng.random() < 0.5:
            transition_alert(session, alert, "acknowledge", actor="user:officer",
                             at=alert.last_at + timedelta(minutes=10))
            if rng.random() < 0.12:
                transition_alert(session, alert, "reject", actor="user:officer", note="Báo động nhầm",
                                 at=alert.last_at + timedelta(hours=1))
            else:
                done = alert.last_at + timedelta(hours=float(rng.uniform(0.3, 6)))
                transition_alert(session, alert, "resolve", actor="user:officer", at=done)
                _resolve_linked_report(session, alert, done)
            handled += 1
    linked = sum(1 for alert in alerts.values() if alert.linked_report_id)
    return (f"{len(events)} AI events -> {len(alerts)} alerts ({handled} handled, {linked} linked to "
            f"{residents} residents' reports)")


def _residents_who_saw_it(session: Session, rng, events, now: datetime) -> int:
    """For some detections of the last days, a resident nearby filed a report a little before the camera
    fired: the alert service links the two, as it would in the city."""
    from reports.cameras.alert_types import alert_type_by_code
    from reports.intake.submit import ReportInput, submit_report

    filed, seen = 0, set()
    for at, camera, kind, _ in events:
        categories = alert_type_by_code(session, kind).report_categories
        if (camera.code, kind) in seen or now - at > timedelta(days=3) or not categories or rng.random() > 0.35:
            continue
        seen.add((camera.code, kind))
        lon, lat = _in_view(rng, camera)
        before = at - timedelta(minutes=float(rng.uniform(10, 60)))
        try:
            submit_report(session, ReportInput(category=categories[0],
                                               description=SEEN_BY_RESIDENTS.get(kind, kind), lon=lon, lat=lat,
                                               channel="qr_web"), now=before)
        except ServiceError:  # e.g. a camera at the city's edge: the point fell outside
            continue
        filed += 1
    return filed


def _in_view(rng, camera) -> tuple[float, float]:
    """A point the camera sees: inside its field of view, well within its range."""
    place = to_shape(camera.geom)
    half = min(camera.fov, 360.0) / 3
    bearing = math.radians((camera.direction or 0.0) + float(rng.uniform(-half, half)))
    metres = camera.range_m * float(rng.uniform(0.2, 0.6))
    lat = place.y + metres * math.cos(bearing) / 111_320
    lon = place.x + metres * math.sin(bearing) / (111_320 * math.cos(math.radians(place.y)))
    return round(lon, 6), round(lat, 6)


def _resolve_linked_report(session: Session, alert, at: datetime) -> None:
    from reports.workflow.models import OPEN_STATUSES, Report
    from reports.workflow.transitions import transition

    report = session.get(Report, alert.linked_report_id) if alert.linked_report_id else None
    if report is not None and report.status in OPEN_STATUSES and at > report.created_at:
        # Recorded for the report's unit: the demo's one officer works only the first ward.
        transition(session, report, "resolve", actor=f"unit:{report.unit.code}" if report.unit else "user:officer",
                   at=at, note="Xử lý cùng cảnh báo từ camera")


def alert_types_step(session: Session, context) -> str:
    return f"{ensure_default_alert_types(session)} alert types added"


def cameras_step(session: Session, context) -> str:
    o = context.options
    return load_demo_cameras(session, seed=o.seed, count=o.cameras, ai_count=o.ai_cameras, centre=CENTER)


def hotspots_step(session: Session, context) -> str:
    o = context.options
    return load_demo_hotspots(session, seed=o.seed, count=o.hotspots, river=PERFUME_RIVER, days=o.hotspot_days)


def ai_events_step(session: Session, context) -> str:
    return load_demo_ai_events(session, seed=context.options.seed, days=context.options.ai_event_days)
