"""The demo city's part in areas: its city, wards and groups, their units, the staff, and the address gazetteer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.demo import create_demo_users
from gisserver.accounts.models import User
from gisserver.demo.geography import CITY_CODE
from layers.models import Layer
from reports.areas.gazetteer import build_gazetteer
from reports.areas.models import Area
from reports.areas.service import area_by_code, import_areas
from reports.areas.units import provision_ward_units, unit_by_code

ADDRESS_LAYER = "dia-chi"  # imported by the layers' demo step


def areas_step(session: Session, context) -> str:
    if session.scalar(select(Area.id).where(Area.code == CITY_CODE)):
        return "already there"
    geography = context.geography
    import_areas(session, geography.city, level="city")
    wards = import_areas(session, geography.wards, level="ward", parent_code_col="parent_code")
    groups = import_areas(session, geography.groups, level="group", parent_code_col="parent_code")
    problems = len(wards.problems) + len(groups.problems)
    return f"1 city, {wards.created} wards/communes, {groups.created} residential groups ({problems} boundary problems)"


def units_step(session: Session, context) -> str:
    wards = iter(range(1, 1000))
    # Each ward police station has its own duty line, printed on the residents' keychains.
    units = provision_ward_units(session, phone_for=lambda ward: f"0234 3{500 + next(wards):03d} 113")
    return f"{units} units"


def users_step(session: Session, context) -> str:
    """One user per role, granted the city or the first ward and its units."""
    if session.scalar(select(User.id).where(User.username == "admin")):
        return "already there"
    ward = area_by_code(session, f"{CITY_CODE}-01")
    made = create_demo_users(
        session,
        city_area_id=area_by_code(session, CITY_CODE).id,
        ward_area_id=ward.id,
        ward_unit_ids=[unit_by_code(session, f"{ward.code}-CA").id, unit_by_code(session, f"{ward.code}-UB").id],
    )
    return f"{len(made)} users"


def gazetteer_step(session: Session, context) -> str:
    # The layers step leaves a database that already had layers alone (a city's own imports), and then the demo's
    # address layer may not be there: the demo goes on without a gazetteer rather than stopping half-loaded.
    if session.scalar(select(Layer.id).where(Layer.name == ADDRESS_LAYER)) is None:
        return f"skipped: no layer {ADDRESS_LAYER!r} to read addresses from"
    addresses = build_gazetteer(session, ADDRESS_LAYER, ["so_nha", "ten_duong", "phuong"])
    return f"{addresses} addresses"
