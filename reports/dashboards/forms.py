"""Reading the dashboards' requests: the filters of the query string and size-capped JSON bodies."""

from __future__ import annotations

from flask import request

from gisserver.core.exceptions import Invalid, PayloadTooLarge
from gisserver.core.http import json_body
from reports.dashboards.panels import AREA_CODE, CATEGORY_CODE, Filters, parse_period, period_between
from reports.summaries.figures import MAX_DAYS

MAX_BODY = 128 * 1024  # a full dashboard of 24 panels is a few kilobytes


def _code(name: str, pattern, what: str) -> str | None:
    value = request.args.get(name)
    if not value:
        return None
    if not pattern.match(value):
        raise Invalid(f"{name} must be {what}", {"field": name})
    return value


def _period(prefix: str = ""):
    date_from, date_to = request.args.get(f"{prefix}from"), request.args.get(f"{prefix}to")
    days = request.args.get(f"{prefix}last_days")
    if date_from or date_to:
        if not (date_from and date_to):
            raise Invalid(f"give both {prefix}from and {prefix}to", {"field": f"{prefix}from"})
        return period_between(date_from, date_to, {"field": f"{prefix}period"})
    if days:
        if not days.isdigit():
            raise Invalid(f"{prefix}last_days must be a whole number from 1 to {MAX_DAYS}",
                          {"field": f"{prefix}last_days"})
        return parse_period({"last_days": int(days)}, {"field": f"{prefix}last_days"})
    return None


def request_filters() -> Filters:
    """?area=&from=&to=|last_days=&category=&compare_area=|compare_from=&compare_to="""
    compare_area = _code("compare_area", AREA_CODE, "an area code")
    compare_period = _period("compare_")
    if compare_area and compare_period:
        raise Invalid("compare with another area or another period, not both", {"field": "compare_area"})
    given = "category" in request.args
    return Filters(area=_code("area", AREA_CODE, "an area code"), period=_period(),
                   category=_code("category", CATEGORY_CODE, "a report category's code"),
                   compare_area=compare_area, compare_period=compare_period, category_given=given)


def capped_json():
    """The JSON body of a write, refused before parsing when it is larger than any real dashboard."""
    if (request.content_length or 0) > MAX_BODY:
        raise PayloadTooLarge(f"a dashboard is at most {MAX_BODY // 1024} KiB of JSON", {"limit": MAX_BODY})
    data = request.get_data(cache=True)
    if len(data) > MAX_BODY:
        raise PayloadTooLarge(f"a dashboard is at most {MAX_BODY // 1024} KiB of JSON", {"limit": MAX_BODY})
    return json_body()
