"""A small city with a history of every kind of record, and the dashboards' figures recomputed from the raw rows."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from reports.areas.models import Area
from reports.cameras.alerts import EventInput, record_event, transition_alert
from reports.cameras.hotspots import HotspotInput, add_hotspot, record_readings
from reports.cameras.models import Alert, Camera, Hotspot
from reports.cameras.service import CameraInput, add_camera, heartbeat
from reports.summaries.dossiers import import_dossiers
from reports.summaries.models import Dossier
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.reports.summaries.helpers import TZ, build_history

DOSSIER_HEADER = "Mã hồ sơ,Thủ tục,Mã địa bàn,Ngày tiếp nhận,Hạn trả,Ngày trả kết quả,Hình thức,Trạng thái"


def _dmy(value: datetime) -> str:
    return value.astimezone(TZ).strftime("%d/%m/%Y %H:%M")


def build_everything(db, now: datetime | None = None) -> None:
    """Reports (tests.reports.summaries.helpers), dossiers, cameras and alerts, hotspots with levels."""
    now = now or datetime.now(UTC)
    build_history(db, count=36, now=now)
    rows = [DOSSIER_HEADER]
    for i, (area, days, due, finished, channel) in enumerate((
            ("T-W", 30, 2, 1, "online"), ("T-W-01", 20, 1, 3, "offline"), ("T-W-02", 10, 5, None, "online"),
            ("T-E", 5, 1, None, "offline"), ("T-E", 120, 3, 2, "online"), ("T-W", 2, 10, 1, "online"))):
        received = now - timedelta(days=days)
        done = _dmy(received + timedelta(days=finished)) if finished is not None else ""
        status = "Đã trả kết quả" if finished is not None else "Đang giải quyết"
        rows.append(f"HS-{i},Khai sinh,{area},{_dmy(received)},{_dmy(received + timedelta(days=due))},{done},"
                    f"{channel},{status}")
    import_dossiers(db, "\n".join(rows).encode(), "dossiers.csv", now=now)
    west = add_camera(db, CameraInput("CAM-W", "West", *WEST_INSIDE, fov=360, ai_capabilities=("fire", "traffic")))
    east = add_camera(db, CameraInput("CAM-E", "East", *EAST_INSIDE, fov=360, ai_capabilities=("traffic",)))
    add_camera(db, CameraInput("CAM-M", "Kept", EAST_INSIDE[0] + 0.01, EAST_INSIDE[1], fov=360,
                               state="maintenance"))
    heartbeat(db, west, now)
    first = record_event(db, west, EventInput("fire", 0.9, now - timedelta(days=3)), now=now).alert
    record_event(db, west, EventInput("traffic", 0.8, now - timedelta(days=2)), now=now)
    record_event(db, east, EventInput("traffic", 0.8, now - timedelta(days=1)), now=now)
    transition_alert(db, first, "resolve", actor="t", at=now - timedelta(days=2, hours=23))
    add_hotspot(db, HotspotInput("HS-W", "West low point", WEST_INSIDE[0], WEST_INSIDE[1], 10, 20, 30))
    add_hotspot(db, HotspotInput("HS-E", "East underpass", EAST_INSIDE[0], EAST_INSIDE[1], 10, 20, 30))
    add_hotspot(db, HotspotInput("HS-E2", "East market", EAST_INSIDE[0] + 0.01, EAST_INSIDE[1], 10, 20, 30))
    record_readings(db, [{"hotspot": "HS-W", "at": (now - timedelta(minutes=5)).isoformat(), "level_cm": 34.0},
                         {"hotspot": "HS-E", "at": (now - timedelta(minutes=5)).isoformat(), "level_cm": 4.0},
                         {"hotspot": "HS-E2", "at": (now - timedelta(minutes=5)).isoformat(), "level_cm": 22.0}],
                    now=now)
    db.commit()


def codes_of(db):
    """area id -> the codes of it and its parents (today's areas)."""
    areas = {a.id: a for a in db.scalars(select(Area))}

    def codes(area_id):
        chain = []
        while area_id is not None:
            chain.append(areas[area_id].code)
            area_id = areas[area_id].parent_id
        return chain

    return codes


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def dossier_truth(db, target: str, start: datetime, stop: datetime, t: datetime) -> dict:
    codes = codes_of(db)
    rows = [d for d in db.scalars(select(Dossier)) if start <= d.received_at < stop and target in codes(d.area_id)]
    closed = [d for d in rows if d.status != "in_progress" and d.finished_at is not None and d.finished_at < t]
    finished = [d for d in closed if d.status == "finished"]
    on_time = [d for d in finished if d.finished_at <= d.due_at]
    still = [d for d in rows if d not in closed]
    return {"received": len(rows), "finished": len(finished), "in_progress": len(still),
            "overdue": sum(1 for d in still if d.due_at < t), "late": len(finished) - len(on_time),
            "on_time_rate": _rate(len(on_time), len(finished)),
            "online_share": _rate(sum(1 for d in rows if d.channel == "online"), len(rows))}


def alert_truth(db, target: str, start: datetime, stop: datetime, t: datetime) -> dict:
    codes = codes_of(db)
    rows = [a for a in db.scalars(select(Alert)) if start <= a.first_at < stop and target in codes(a.area_id)]
    closed = [a for a in rows if a.status in ("resolved", "rejected") and a.closed_at < t]
    still = [a for a in rows if a not in closed]
    return {"received": len(rows), "open": len(still), "overdue": sum(1 for a in still if a.due_at < t),
            "on_time_rate": _rate(sum(1 for a in closed if a.closed_at <= a.due_at), len(closed))}


def camera_truth(db, target: str, t: datetime) -> dict:
    codes = codes_of(db)
    rows = [c for c in db.scalars(select(Camera)) if target in codes(c.area_id)]
    online = sum(1 for c in rows if c.state == "active" and c.last_seen_at and c.last_seen_at >= t - timedelta(
        minutes=10))
    maintenance = sum(1 for c in rows if c.state == "maintenance")
    return {"online": online, "offline": len(rows) - online - maintenance, "online_share": _rate(online, len(rows))}


def hotspot_truth(db, target: str) -> dict:
    codes = codes_of(db)
    rows = [h for h in db.scalars(select(Hotspot)) if target in codes(h.area_id)]
    levels = [h.last_level_cm / h.danger_cm for h in rows if h.last_level_cm is not None]
    return {"warning": sum(1 for h in rows if h.last_level_cm is not None and h.last_level_cm >= h.warning_cm),
            "danger": sum(1 for h in rows if h.last_level_cm is not None and h.last_level_cm >= h.danger_cm),
            "levels": round(max(levels), 4) if levels else None}


def median(values):
    return statistics.median(values) if values else None
