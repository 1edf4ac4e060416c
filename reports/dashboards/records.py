"""The records behind the figures the summaries' records list does not hold: the cameras of an area (online,
offline, under maintenance), its flood hotspots at a level, and the features of a layer statistic's "other" group.

Each follows the definition of its figure, so a link opens exactly what was counted: cameras stand where their
area lies today and are online when active with a heartbeat within the summaries' window
(reports.summaries.figures.camera_counts); a hotspot's level is its latest reading against its thresholds
(reports.cameras.hotspots.status_for), as the dashboards' hotspot figures read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.cameras.hotspots import status_for
from reports.cameras.models import Camera, Hotspot
from reports.cameras.service import HEARTBEAT_WINDOW
from reports.summaries.hierarchy import AreaRef, Hierarchy

CAMERA_HEALTH = ("online", "offline", "maintenance")
HOTSPOT_LEVELS = {"warning": ("warning", "danger"), "danger": ("danger",), "all": None}


def _under(hierarchy: Hierarchy, area_id: int | None, area: AreaRef) -> int | None:
    """The child of *area* a record of *area_id* counts in (its own id when it lies in *area* itself), or None
    when it lies outside; today's areas."""
    if area_id is None or area_id not in hierarchy.areas:
        return None
    chain = hierarchy.chain_now(area_id)
    if area.id not in chain:
        return None
    at = chain.index(area.id)
    return chain[at - 1] if at > 0 else area.id


def camera_health(state: str, last_seen_at: datetime | None, now: datetime) -> str:
    """As the summaries count it: maintenance, online (active and heard within the window), or offline."""
    if state == "maintenance":
        return "maintenance"
    if state == "active" and last_seen_at is not None and last_seen_at >= now - HEARTBEAT_WINDOW:
        return "online"
    return "offline"


@dataclass(frozen=True)
class CameraRecord:
    code: str
    name: str
    area: str
    health: str
    last_seen_at: datetime | None


def cameras_in(session: Session, hierarchy: Hierarchy, area: AreaRef, health: str | None = None,
               now: datetime | None = None) -> list[CameraRecord]:
    """The cameras counted in *area* (of one health, or all), by code."""
    now = now or datetime.now(UTC)
    found = []
    for camera in session.scalars(select(Camera).order_by(Camera.code)):
        if _under(hierarchy, camera.area_id, area) is None:
            continue
        state = camera_health(camera.state, camera.last_seen_at, now)
        if health is None or state == health:
            found.append(CameraRecord(camera.code, camera.name, _place(hierarchy, camera.area_id, area), state,
                                      camera.last_seen_at))
    return found


def _place(hierarchy: Hierarchy, area_id: int, within: AreaRef) -> str:
    """Where a record lies, named down from *within*: "Tổ dân phố 2, Phường Thuận Hoá" in the city's list (a
    group's name alone repeats in every ward)."""
    chain = hierarchy.chain_now(area_id)
    names = [hierarchy.areas[a].name for a in chain[:chain.index(within.id)]] if within.id in chain else []
    return ", ".join(names) or within.name


@dataclass(frozen=True)
class HotspotRecord:
    hotspot: Hotspot
    status: str
    under: int  # the child of the area it lies in (or the area itself)


def hotspots_in(session: Session, hierarchy: Hierarchy, area: AreaRef, level: str = "all") -> list[HotspotRecord]:
    """The flood hotspots in *area* at *level* ("warning": warning or danger, "danger", or "all"), by code."""
    wanted = HOTSPOT_LEVELS[level]
    found = []
    for hotspot in session.scalars(select(Hotspot).order_by(Hotspot.code)):
        under = _under(hierarchy, hotspot.area_id, area)
        if under is None:
            continue
        status = status_for(hotspot, hotspot.last_level_cm)
        if wanted is None or status in wanted:
            found.append(HotspotRecord(hotspot, status, under))
    return found
