"""Reading requests shared by the workflow's views and those built on it: a queue's filters (the API, the officers'
list and map) and photos (the resident's, the officers' photos of a fix)."""

from __future__ import annotations

from flask import current_app, request

from gisserver.core.exceptions import Invalid
from gisserver.core.http import bool_arg, date_arg, int_arg
from reports.workflow import photos as photo_service
from reports.workflow import queries


def queue_filter() -> queries.QueueFilter:
    """The queue filter of the query string (status, category, area, days, words, sort, page...)."""
    return queries.QueueFilter(
        statuses=[s for s in request.args.get("status", "").split(",") if s],
        overdue=bool_arg("overdue"),
        category=request.args.get("category") or None,
        area=request.args.get("area") or None,
        unit=request.args.get("unit") or None,
        date_from=date_arg("from"),
        date_to=date_arg("to"),
        sort=request.args.get("sort") or "-created",
        page=int_arg("page", 1),
        per_page=int_arg("per_page", 50),
        text=request.args.get("q") or None,
        mine=bool(bool_arg("mine")),
        overdue_first=bool(bool_arg("overdue_first")),
    )


def request_photos(field: str = "photos") -> list[photo_service.ProcessedPhoto]:
    """The photos of a multipart request, each checked and re-encoded before anything is stored."""
    settings = current_app.config["SETTINGS"]
    files = [f for f in request.files.getlist(field) if f.filename or f.content_length]
    if len(files) > settings.photo_max_count:
        raise Invalid(f"at most {settings.photo_max_count} photos", {"field": field})
    max_bytes = settings.photo_max_mb * 1024 * 1024
    return [
        photo_service.process_photo(f.stream.read(max_bytes + 1), max_bytes=max_bytes, name=f"photo {i + 1}")
        for i, f in enumerate(files)
    ]
