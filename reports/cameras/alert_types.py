"""The configurable routing table of AI alerts: for each detection type, who is told and by when."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid
from reports.areas.models import Unit
from reports.areas.units import UNIT_TYPES
from reports.cameras.models import AlertType
from reports.workflow.models import Category


@dataclass(frozen=True)
class AlertTypeSpec:
    code: str
    name_vi: str
    name_en: str
    unit_types: tuple[str, ...]  # who is told; the first one leads
    deadline_hours: float
    report_categories: tuple[str, ...] = ()  # citizen reports about the same thing, linked when near


# Fire goes to the ward People's Committee and the fire police, traffic to the ward police, and so on.
DEFAULT_ALERT_TYPES = (
    AlertTypeSpec("fire", "Cháy", "Fire", ("ward_committee", "fire_police"), 1, ("dot_rom_ra", "an_ninh_trat_tu")),
    AlertTypeSpec("straw_burning", "Đốt rơm rạ", "Straw burning", ("ward_committee",), 4, ("dot_rom_ra",)),
    AlertTypeSpec("flood", "Ngập úng", "Flooding", ("ward_committee",), 2, ("cap_thoat_nuoc_ngap_ung",)),
    AlertTypeSpec("traffic", "Vi phạm giao thông", "Traffic violation", ("ward_police",), 4,
                  ("vi_pham_giao_thong",)),
    AlertTypeSpec("crowd", "Tụ tập đông người", "Crowd", ("ward_police",), 2, ("tu_tap_dong_nguoi", "gay_roi")),
    AlertTypeSpec("encroachment", "Lấn chiếm lòng đường", "Road encroachment", ("ward_police",), 24,
                  ("vi_pham_giao_thong",)),
)
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


def ensure_default_alert_types(session: Session) -> int:
    """Add the default alert types that are missing; returns how many were added."""
    have = set(session.scalars(select(AlertType.code)))
    added = 0
    for spec in DEFAULT_ALERT_TYPES:
        if spec.code not in have:
            session.add(_row(AlertType(code=spec.code), spec))
            added += 1
    session.flush()
    return added


def _row(row: AlertType, spec: AlertTypeSpec) -> AlertType:
    row.name_vi, row.name_en = spec.name_vi, spec.name_en
    row.unit_types = list(spec.unit_types)
    row.deadline_hours = float(spec.deadline_hours)
    row.report_categories = list(spec.report_categories)
    return row


def list_alert_types(session: Session, *, include_inactive: bool = False) -> list[AlertType]:
    query = select(AlertType).order_by(AlertType.code)
    if not include_inactive:
        query = query.where(AlertType.active.is_(True))
    return list(session.scalars(query))


def alert_type_labels(session: Session, english: bool) -> dict[str, str]:
    """Every alert type's name in the reader's language, retired ones too (old alerts still name them)."""
    rows = session.execute(select(AlertType.code, AlertType.name_en if english else AlertType.name_vi))
    return {code: name for code, name in rows}


def active_alert_type_codes(session: Session) -> set[str]:
    return set(session.scalars(select(AlertType.code).where(AlertType.active.is_(True))))


def alert_type_by_code(session: Session, code: str) -> AlertType:
    """An active alert type; an unknown or retired one is refused like a bad field."""
    row = session.get(AlertType, code) if isinstance(code, str) else None
    if row is None or not row.active:
        types = sorted(active_alert_type_codes(session))
        raise Invalid(f"unknown event type {code!r}", {"field": "type", "types": types})
    return row


def save_alert_type(session: Session, spec: AlertTypeSpec, *, active: bool = True) -> AlertType:
    """Create or change an alert type (configuration by administrators)."""
    if not _CODE.match(spec.code or ""):
        raise Invalid("code is 1-32 lower-case letters, digits or '_'", {"field": "code"})
    if not spec.name_vi.strip() or not spec.name_en.strip():
        raise Invalid("give the Vietnamese and English names", {"field": "name"})
    if not spec.unit_types:
        raise Invalid("name at least one unit type to tell", {"field": "unit_types"})
    known_types = set(UNIT_TYPES) | set(session.scalars(select(Unit.unit_type).distinct()))
    unknown = sorted(set(spec.unit_types) - known_types)
    if unknown:
        raise Invalid(f"unknown unit type(s): {', '.join(unknown)}", {"field": "unit_types",
                                                                       "known": sorted(known_types)})
    if not spec.deadline_hours > 0:
        raise Invalid("deadline_hours must be positive", {"field": "deadline_hours"})
    categories = set(session.scalars(select(Category.code).where(Category.code.in_(spec.report_categories))))
    missing = sorted(set(spec.report_categories) - categories)
    if missing:
        raise Invalid(f"unknown report category(ies): {', '.join(missing)}", {"field": "report_categories"})
    row = session.get(AlertType, spec.code) or AlertType(code=spec.code)
    session.add(_row(row, spec))
    row.active = active
    session.flush()
    return row
