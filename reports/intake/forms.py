"""Reading a report from a request, shared by the JSON API, the QR form and Open311 (views only)."""

from __future__ import annotations

from flask import current_app, request

from gisserver.core.exceptions import Invalid
from gisserver.core.http import finite_float
from reports.intake import keychains
from reports.intake.submit import DuplicatePolicy, ReportInput, resident_contact


def json_object(body, name: str) -> dict:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise Invalid(f"{name} must be an object", {"field": name})
    return value


def form_body() -> dict:
    """A multipart form (with photos) in the shape of the JSON body."""
    form = request.form
    body = {k: form.get(k) or None for k in ("category", "description", "address", "area", "channel", "ward_choice")}
    body["location"] = {k: form.get(k) for k in ("lon", "lat") if form.get(k) not in (None, "")}
    body["reporter"] = {"name": form.get("reporter_name"), "phone": form.get("reporter_phone")}
    if form.get("notify_email") or form.get("notify_phone"):
        body["notify"] = {"email": form.get("notify_email"), "phone": form.get("notify_phone"),
                          "consent": form.get("notify_consent"), "language": form.get("language")}
    return body


def duplicate_policy() -> DuplicatePolicy:
    """How near and how recent an open report must be for a new one to be flagged (configurable)."""
    settings = current_app.config["SETTINGS"]
    return DuplicatePolicy(metres=float(settings.duplicate_metres), hours=float(settings.duplicate_hours))


def report_input(body) -> ReportInput:
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    location = json_object(body, "location")
    reporter = json_object(body, "reporter")
    notify = json_object(body, "notify")
    lon, lat = location.get("lon", body.get("lon")), location.get("lat", body.get("lat"))
    return ReportInput(
        category=str(body.get("category") or ""),
        description=body.get("description") or "",
        lon=None if lon is None else finite_float(lon, "lon"),
        lat=None if lat is None else finite_float(lat, "lat"),
        address=body.get("address"),
        area_code=body.get("area"),
        reporter_name=reporter.get("name"),
        reporter_phone=reporter.get("phone"),
        channel=str(body.get("channel") or "api"),
        idempotency_key=request.headers.get("Idempotency-Key"),
        contact=resident_contact(notify.get("email"), notify.get("phone"), notify.get("consent"),
                                 notify.get("language")) if notify else None,
        ward_choice=body.get("ward_choice") or None,
    )


def public_base() -> str:
    """The city's public address for links printed or sent away from the request (QR codes, keychains); refused
    while GISSERVER_PUBLIC_URL is unset or a loopback address."""
    return keychains.public_base(current_app.config["SETTINGS"].public_url)
