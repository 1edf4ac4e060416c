"""Who may file reports, and how many: a limit for every kind of caller, over every channel together.

- anonymous residents: per client address (GISSERVER_INTAKE_RATE_LIMIT), and per area the report lands in
  (GISSERVER_INTAKE_AREA_RATE_LIMIT), so that no address or way of giving the place escapes;
- people (a session or a token issued for a user): per person (GISSERVER_INTAKE_USER_RATE_LIMIT);
- machines with a token carrying the scope `reports:file`: per token (GISSERVER_INTAKE_TOKEN_RATE_LIMIT);
  any other machine token (a camera's, a gauge's) files no reports at all;
- applications with an Open311 api_key (a token with the scope `open311`): per key
  (GISSERVER_OPEN311_KEY_RATE_LIMIT), on Open311 only.

The counters are the core's shared PostgreSQL-backed limiter (gisserver.core.ratelimit).
"""

from __future__ import annotations

import math
import time

from flask import current_app
from limits import parse_many

from gisserver.accounts.auth import Principal, current_principal
from gisserver.core.exceptions import Forbidden, TooManyRequests
from gisserver.core.ratelimit import client_address, limiter

FILE_SCOPE = "reports:file"  # a machine (a kiosk, a partner's system) that files reports through /api/reports
OPEN311_SCOPE = "open311"  # an application registered for Open311 (its token is the api_key)


def _settings():
    return current_app.config["SETTINGS"]


def _kind(principal: Principal | None) -> str:
    if principal is None:
        return "anonymous"
    if principal.user_id is not None:
        return "person"
    return "app" if principal.api_key else "device"


def intake_limit() -> str:
    """The limit of this request's kind of caller."""
    settings = _settings()
    return {"anonymous": settings.intake_rate_limit, "person": settings.intake_user_rate_limit,
            "device": settings.intake_token_rate_limit, "app": settings.open311_key_rate_limit}[
        _kind(current_principal())]


def intake_key() -> str:
    """Whose allowance a report draws on: the address, the person, the token or the application's key."""
    principal = current_principal()
    kind = _kind(principal)
    if kind == "anonymous":
        return "intake:" + client_address()
    if kind == "person":
        return f"intake-user:{principal.user_id}"
    return f"intake-{kind}:{principal.id}"


# Every intake channel (JSON API, QR form, Open311) draws on one allowance per caller.
per_client_intake = limiter.shared_limit(intake_limit, scope="intake", key_func=intake_key)


def check_filer(channel: str) -> None:
    """Refuse machines whose token does not say they may file reports on this channel (403)."""
    principal = current_principal()
    if _kind(principal) in ("anonymous", "person"):
        return
    allowed = {FILE_SCOPE} | ({OPEN311_SCOPE} if channel == "open311" else set())
    if not allowed & principal.scopes:
        raise Forbidden(f"this token may not file reports (it needs the scope {FILE_SCOPE})")


def admit_to_area(area_code: str | None) -> None:
    """Count one anonymous report against its area (GISSERVER_INTAKE_AREA_RATE_LIMIT); 429 when it is spent.

    Called by intake once the area is known from the location, the address or the QR code, so that no
    channel and no way of giving the place escapes the limit. Reports without an area share one allowance.
    Callers who identify themselves have their own allowance instead (a flood of them is theirs alone).
    """
    if not limiter.enabled or current_principal() is not None:
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
