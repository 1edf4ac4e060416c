"""Limits on anonymous intake: per client address over every channel, and per area the report lands in.

The counters are the core's shared PostgreSQL-backed limiter (gisserver.core.ratelimit).
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse_many

from gisserver.accounts.auth import current_principal
from gisserver.core.exceptions import TooManyRequests
from gisserver.core.ratelimit import client_address, limiter


def _settings():
    return current_app.config["SETTINGS"]


def _signed_in() -> bool:
    # The caller was settled (a bad token already answered 401) before the limiter runs.
    return current_principal() is not None


def intake_limit():
    """Limit for anonymous intake per client address (GISSERVER_INTAKE_RATE_LIMIT)."""
    return _settings().intake_rate_limit


# Every intake channel (JSON API, QR form, Open311) draws on one allowance per client address.
per_client_intake = limiter.shared_limit(
    intake_limit, scope="intake", key_func=lambda: "intake:" + client_address(), exempt_when=_signed_in
)


def admit_to_area(area_code: str | None) -> None:
    """Count one anonymous report against its area (GISSERVER_INTAKE_AREA_RATE_LIMIT); 429 when it is spent.

    Called by intake once the area is known from the location, the address or the QR code, so that no
    channel and no way of giving the place escapes the limit. Reports without an area share one allowance.
    """
    if not limiter.enabled or _signed_in():
        return
    key = ("intake-area", area_code or "-")
    strategy = limiter.limiter
    prefix = current_app.config["RATELIMIT_KEY_PREFIX"]
    for item in sorted(parse_many(_settings().intake_area_rate_limit)):
        if not strategy.hit(item, prefix, *key):
            reset = strategy.get_window_stats(item, prefix, *key).reset_time
            raise TooManyRequests(
                f"Too many reports for this area: the limit is {item}. Try again later.",
                {"limit": str(item)},
                retry_after=max(1, math.ceil(reset - time.time())),
            )
