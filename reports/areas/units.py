"""Responsible units (ward police, ward People's Committee, city departments) and their provisioning."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import NotFound
from reports.areas.models import Area, Unit

UNIT_TYPES = ("ward_police", "ward_committee", "city_department", "fire_police", "city_operations")
# The city's operations centre receives what no ward unit can take (e.g. a report without a place).
FALLBACK_UNIT_TYPE = "city_operations"


def unit_by_code(session: Session, code: str) -> Unit:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"no unit with code {code!r}")
    return unit


def list_units(session: Session, *, unit_type: str | None = None, area_id: int | None = None) -> list[Unit]:
    query = select(Unit).order_by(Unit.code)
    if unit_type:
        query = query.where(Unit.unit_type == unit_type)
    if area_id:
        query = query.where(Unit.area_id == area_id)
    return list(session.scalars(query))


def _ensure(session: Session, code: str, **fields) -> tuple[Unit, bool]:
    unit = session.scalar(select(Unit).where(Unit.code == code))
    created = unit is None
    if created:
        unit = Unit(code=code, active=True, **fields)
        session.add(unit)
    return unit, created


def provision_ward_units(session: Session, *, phone_for=None) -> int:
    """Give every current ward its police and People's Committee, and the city its central units.

    *phone_for(ward)* returns the police duty phone number; existing units are left as they are.
    Returns how many units were created.
    """
    created = 0
    for city in session.scalars(select(Area).where(Area.level == "city", Area.valid_to.is_(None))):
        for code, name, unit_type, phone in (
            (f"{city.code}-IOC", f"Trung tâm Giám sát, điều hành đô thị thông minh - {city.name}", "city_operations",
             "1022"),
            (f"{city.code}-TNMT", f"Sở Nông nghiệp và Môi trường - {city.name}", "city_department", None),
            (f"{city.code}-XD", f"Sở Xây dựng - {city.name}", "city_department", None),
            (f"{city.code}-PCCC", f"Phòng Cảnh sát PCCC và CNCH - {city.name}", "fire_police", "114"),
        ):
            created += _ensure(session, code, name=name, unit_type=unit_type, area_id=city.id, phone=phone)[1]
    for ward in session.scalars(select(Area).where(Area.level == "ward", Area.valid_to.is_(None)).order_by(Area.code)):
        phone = phone_for(ward) if phone_for else None
        created += _ensure(session, f"{ward.code}-CA", name=f"Công an {ward.name}", unit_type="ward_police",
                           area_id=ward.id, phone=phone)[1]
        created += _ensure(session, f"{ward.code}-UB", name=f"UBND {ward.name}", unit_type="ward_committee",
                           area_id=ward.id, phone=None)[1]
    session.flush()
    return created
