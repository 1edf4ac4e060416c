"""Citizen and officer report intake: validate, locate, route, set the deadline, flag duplicates."""

from __future__ import annotations

import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.db import as_loaded
from gisserver.core.exceptions import Conflict, Invalid, NotFound
from reports.areas import gazetteer
from reports.areas.models import Area, Unit
from reports.areas.service import area_chain_for_point
from reports.intake.sql import AreaRow, filing_context
from reports.workflow import sql as report_sql
from reports.workflow.access import Scope
from reports.workflow.categories import category_by_code
from reports.workflow.changes import ReportChange, ResidentContact, announce, filing_parts
from reports.workflow.models import CHANNELS, Category, Report, ReportEvent
from reports.workflow.routing import route

MAX_DESCRIPTION = 4000
MIN_DESCRIPTION = 5
DUPLICATE_METRES = 100.0
DUPLICATE_HOURS = 48.0
CITIZEN_CHANNELS = ("qr_web", "api", "open311")
GEOCODE_MIN_SCORE = 0.6  # below this an address match is a guess: keep the report at its ward instead
_TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read over the phone
_PHONE = re.compile(r"^\+?[0-9][0-9 .-]{6,18}[0-9]$")
# Strict on purpose: an address that reaches a mail header must hold no spaces, quotes, brackets or line breaks.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
# The line residents agree to when they ask to hear back (the form shows it in their language).
CONSENT_LINE = {
    "vi": "Tôi đồng ý để thành phố dùng email/số điện thoại này chỉ để báo tiến độ phản ánh của tôi; "
          "thông tin được xoá sau khi phản ánh đóng.",
    "en": "I agree that the city uses this email/phone only to tell me how my report progresses; "
          "it is deleted after the report closes.",
}


@dataclass
class ReportInput:
    """What a caller sends; the service checks every field."""

    category: str
    description: str
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    area_code: str | None = None  # prefilled from a ward's QR code
    reporter_name: str | None = None
    reporter_phone: str | None = None
    channel: str = "api"
    idempotency_key: str | None = None
    contact: ResidentContact | None = None  # set by resident_contact() when the resident opted in
    # When the place lies in another ward than the QR code's (area_code): "place" files it where the place is,
    # "ward" keeps it in the QR code's ward (without the point). Unset, such a report is sent back to ask.
    ward_choice: str | None = None


WARD_CHOICES = ("place", "ward")


@dataclass(frozen=True)
class DuplicatePolicy:
    metres: float = DUPLICATE_METRES
    hours: float = DUPLICATE_HOURS


def resident_contact(email, phone, consent, language: str | None) -> ResidentContact | None:
    """The contact a resident gave to hear back about their report, checked; None when they gave none.

    A contact without the consent box ticked is refused (400), not silently dropped: the resident believes
    they will hear back.
    """
    values = {}
    for name, value in (("notify_email", email), ("notify_phone", phone)):
        if value is not None and not isinstance(value, str):
            raise Invalid(f"{name} must be text", {"field": name})
        values[name] = (value or "").strip() or None
    email, phone = values["notify_email"], values["notify_phone"]
    if email is None and phone is None:
        return None
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        raise Invalid("notify_email is not an email address", {"field": "notify_email"})
    if phone is not None and not _PHONE.match(phone):
        raise Invalid("notify_phone is not a phone number", {"field": "notify_phone"})
    if consent not in (True, "true", "on", "yes", "1"):
        raise Invalid("tick the consent box to be told about this report", {"field": "notify_consent"})
    language = language if language in CONSENT_LINE else "vi"
    return ResidentContact(email=email, phone=phone, language=language, consent=CONSENT_LINE[language])


def new_tracking_code() -> str:
    return "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(10))


def _check_location(data: ReportInput) -> tuple[float, float] | None:
    if data.lon is None and data.lat is None:
        return None
    if data.lon is None or data.lat is None:
        raise Invalid("give both longitude and latitude", {"field": "location"})
    for name, value, limit in (("lon", data.lon, 180), ("lat", data.lat, 90)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Invalid(f"{name} must be a finite number", {"field": name})
        if abs(value) > limit:
            raise Invalid(f"{name} must be between -{limit} and {limit}", {"field": name})
    return float(data.lon), float(data.lat)


def _clean_text(value: str | None, name: str, max_length: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text", {"field": name})
    value = value.strip()
    if len(value) > max_length:
        raise Invalid(f"{name} is longer than {max_length} characters", {"field": name})
    return value or None


def _validate(data: ReportInput, staff: bool) -> None:
    allowed = CHANNELS if staff else CITIZEN_CHANNELS
    if data.channel not in allowed:
        raise Invalid(f"channel must be one of {', '.join(allowed)}", {"field": "channel"})
    description = _clean_text(data.description, "description", MAX_DESCRIPTION) or ""
    if len(description) < MIN_DESCRIPTION:
        raise Invalid(f"describe the problem in at least {MIN_DESCRIPTION} characters", {"field": "description"})
    data.description = description
    data.address = _clean_text(data.address, "address", 500)
    data.reporter_name = _clean_text(data.reporter_name, "reporter_name", 200)
    data.reporter_phone = _clean_text(data.reporter_phone, "reporter_phone", 20)
    if data.reporter_phone and not _PHONE.match(data.reporter_phone):
        raise Invalid("reporter_phone is not a phone number", {"field": "reporter_phone"})
    if data.ward_choice not in (None, *WARD_CHOICES):
        raise Invalid(f"ward_choice must be one of {', '.join(WARD_CHOICES)}", {"field": "ward_choice"})
    if data.idempotency_key is not None:
        key = _clean_text(data.idempotency_key, "idempotency_key", 100)
        if not key or not re.fullmatch(r"[A-Za-z0-9._:-]+", key):
            raise Invalid("Idempotency-Key must be 1-100 letters, digits or . _ : -", {"field": "idempotency_key"})
        data.idempotency_key = key


def _replayed(session: Session, key: str, data: ReportInput) -> Report | None:
    existing = session.scalar(select(Report).where(Report.idempotency_key == key))
    if existing is None:
        return None
    _check_replay(data, existing.description, existing.category.code)
    return existing


def _check_replay(data: ReportInput, description: str, category_code: str) -> None:
    # A key reused for different content is a client bug, not a retry: never hand out another's report.
    if description != data.description or category_code != data.category:
        raise Conflict("this Idempotency-Key was used for a different report")


@dataclass
class Submitted:
    report: Report
    created: bool
    event: ReportEvent | None = None  # the report's first event, when this call created it
    # The areas it landed in, deepest first, as the session's objects: held here, since the session holds its objects
    # weakly, so that its public view names them without reading them back.
    areas: list[Area] = field(default_factory=list)


def submit_report(session: Session, data: ReportInput, **options) -> tuple[Report, bool]:
    """File a report; returns (report, created). A retry with the same idempotency key returns the first one.
    The options are those of submit()."""
    submitted = submit(session, data, **options)
    return submitted.report, submitted.created


def submit(
    session: Session,
    data: ReportInput,
    *,
    actor: str = "anonymous",
    staff: bool = False,
    now: datetime | None = None,
    duplicates: DuplicatePolicy = DuplicatePolicy(),  # noqa: B008 - frozen dataclass
    admit: Callable[[str | None], None] | None = None,
    filed_by: str | None = None,
) -> Submitted:
    """File a report. A retry with the same idempotency key returns the first one (created False).

    Citizens' points outside the city are refused; staff may file them, flagged *outside_city*.
    *now* lets the demo loader replay history; live callers leave it None. *admit* is told the ward (or
    the deepest area) the report lands in before it is stored, and raises to refuse it (the per-area limit).
    A place in another ward than the QR code's is never filed there silently: without *data.ward_choice* the
    report is refused with a 409 naming both wards, for the resident to choose. *filed_by* names the staff
    member who filed it (a phone call), who keeps seeing it wherever it lands.

    A report with a point costs two statements here (intake/sql.py's context, then the report, its first event,
    their audit entries and what the "report_filing" hooks add, such as the outbox's rows, together) besides what
    *admit* and the report_changed hook write.
    """
    _validate(data, staff)
    key = f"{data.channel}:{data.idempotency_key}" if data.idempotency_key else None
    now = now or datetime.now(UTC)
    point = _check_location(data)
    if point is None and not data.address:
        raise Invalid("give a location or an address", {"field": "location"})
    if point is None:
        found = gazetteer.search(session, data.address, limit=1)
        if found and found[0].score >= GEOCODE_MIN_SCORE:
            point = (found[0].lon, found[0].lat)
    context = filing_context(
        session, category=data.category, point=point, on=now.date(), idempotency_key=key, area_code=data.area_code,
        reverse_geocode=point is not None and not data.address, address_metres=gazetteer.REVERSE_METRES,
        duplicate_metres=duplicates.metres, duplicate_since=now - timedelta(hours=duplicates.hours), now=now)
    if context.category is None or not context.category["active"]:
        raise Invalid(f"unknown category {data.category!r}", {"field": "category"})
    category = as_loaded(session, Category(**context.category))
    if context.replayed is not None:
        _check_replay(data, context.replayed["description"],
                      category.code if context.replayed["category_id"] == category.id else None)
        return Submitted(session.get(Report, context.replayed["id"]), False)
    if point is not None and not data.address:
        data.address = context.address

    chain, unit = context.located, context.unit
    outside = False
    if point is not None and chain and data.area_code and data.ward_choice != "place":
        elsewhere = _other_ward(data.area_code, context.given, chain)
        if elsewhere is not None and data.ward_choice == "ward":
            # Kept in the QR code's ward, as the resident asked: routed there instead.
            point, chain, unit = None, [], None
        elif elsewhere is not None:
            qr_ward, place_ward = elsewhere
            raise Conflict(f"this place is in {place_ward.name}, not in {qr_ward.name} of the QR code; "
                           "confirm where to send the report (ward_choice: place or ward)",
                           {"field": "location", "reason": "outside_qr_ward", "qr_ward": _named(qr_ward),
                            "place_ward": _named(place_ward)})
    if point is not None and not chain:
        if not staff:
            raise Invalid(
                "this place is outside the city; please call the local authority there",
                {"field": "location", "reason": "outside_city"},
            )
        outside = True
    if point is None and data.area_code and not chain:
        if not context.given:
            raise NotFound(f"no area with code {data.area_code!r}")
        if context.given[0].valid_to is not None:
            raise Invalid(f"area {data.area_code} no longer exists", {"field": "area"})
        chain = context.given
    if admit is not None:
        ward = next((a for a in chain if a.level == "ward"), chain[0] if chain else None)
        admit(ward.code if ward else None)
    areas = [as_loaded(session, Area(id=a.id, code=a.code, name=a.name, level=a.level, parent_id=a.parent_id,
                                     valid_to=a.valid_to)) for a in chain]
    if unit is None:  # the QR code's ward instead of the place's: the one case the context did not route
        unit = route(session, category, areas)
    else:
        unit = as_loaded(session, Unit(**unit))

    report = Report(
        tracking_code=new_tracking_code(),
        category_id=category.id,
        description=data.description,
        geom=from_shape(Point(*point), srid=4326) if point else None,
        address=data.address,
        area_filed_id=areas[0].id if areas else None,
        area_current_id=areas[0].id if areas else None,
        unit_id=unit.id if unit else None,
        status="new",
        channel=data.channel,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        outside_city=outside,
        possible_duplicate_of_id=context.duplicate_of if point is not None else None,
        merged_into_id=None,
        idempotency_key=key,
        created_at=now,
        due_at=now + timedelta(hours=category.deadline_hours),
        acknowledged_at=None,
        closed_at=None,
        resolution=None,
        updated_at=now,
        filed_by=filed_by,
    )
    report.category, report.unit, report.area_current = category, unit, areas[0] if areas else None
    event = ReportEvent(at=now, actor=actor, action="created", from_status=None, to_status="new", note="",
                        details={"channel": data.channel})
    change = ReportChange(report, "created", None, actor, "", now, contact=data.contact)
    parts = filing_parts(session, change)
    stored = report_sql.insert_report(session, report, event, parts)
    if stored is None:
        # Two retries raced: the other one committed first, so answer with its report.
        if key and (existing := _replayed(session, key, data)) is not None:
            return Submitted(existing, False)
        raise Conflict("this report could not be stored; send it again")
    announce(session, replace(change, report=stored, written_by=tuple(part.feature for part in parts)))
    return Submitted(stored, True, event, areas)


def _named(area) -> dict:
    return {"code": area.code, "name": area.name}


def _other_ward(area_code: str, given: list[AreaRow], chain: list[AreaRow]) -> tuple[AreaRow, AreaRow] | None:
    """(the QR code's ward, the place's ward) when the place lies in another ward; None when it does not."""
    if not given:
        raise NotFound(f"no area with code {area_code!r}")
    qr_ward = next((a for a in given if a.level == "ward"), None)
    found = next((a for a in chain if a.level == "ward"), None)
    if qr_ward is None or found is None or qr_ward.id == found.id:
        return None
    return qr_ward, found


def placement(session: Session, category_code: str, lon: float, lat: float, scope: Scope) -> dict:
    """Where a report of a category at (lon, lat) would land, which unit would get it, and whether that stays in
    *scope* (an officer taking a call warns the caller when it goes to another ward), before it is filed."""
    category = category_by_code(session, category_code)
    chain = area_chain_for_point(session, lon, lat)
    unit = route(session, category, chain)
    ward = next((a for a in chain if a.level == "ward"), None)
    in_scope = any(scope.covers(area_id=a.id) for a in chain) or (unit is not None and scope.covers(unit_id=unit.id))
    return {"inside_city": bool(chain), "area": _named(chain[0]) if chain else None,
            "ward": _named(ward) if ward else None, "place": ", ".join(a.name for a in chain if a.level != "city"),
            "unit": {"code": unit.code, "name": unit.name} if unit else None, "in_scope": in_scope}
