"""Who may file reports, and how many: a limit for every kind of caller, over every channel together.

- anonymous residents: per client address (GISSERVER_INTAKE_RATE_LIMIT), and per area the report lands in
  (GISSERVER_INTAKE_AREA_RATE_LIMIT), so that no address or way of giving the place escapes;
- people (a session or a token issued for a user): per person (GISSERVER_INTAKE_USER_RATE_LIMIT);
- machines with a token carrying the scope `reports:file`: per token (GISSERVER_INTAKE_TOKEN_RATE_LIMIT);
  any other machine token (a camera's, a gauge's) files no reports at all;
- applications with an Open311 api_key (a token with the scope `open311`): per key
  (GISSERVER_OPEN311_KEY_RATE_LIMIT), on Open311 only.

A report draws on its caller's allowance and its area's in one statement (gisserver.core.ratelimit.charge), once
intake knows where it lands (admit_to_area). A request that ends before that (refused, a retry answered with the
report it filed before) is charged to its caller afterwards, and answered 429 instead when that is spent: it
wrote nothing.
"""

from __future__ import annotations

from functools import wraps

from flask import after_this_request, current_app, g

from gisserver.accounts.auth import Principal, current_principal
from gisserver.core import ratelimit
from gisserver.core.exceptions import Forbidden, TooManyRequests
from gisserver.core.ratelimit import Window, client_address

FILE_SCOPE = "reports:file"  # a machine (a kiosk, a partner's system) that files reports through /api/reports
OPEN311_SCOPE = "open311"  # an application registered for Open311 (its token is the api_key)
_PENDING = "intake_allowance"


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


def _charge(area_code: str | None, with_area: bool) -> None:
    """Charge the caller's allowance (and the area's) in one statement; 429 when one of them is spent."""
    g.pop(_PENDING, None)
    wanted = ratelimit.allowances(intake_limit(), intake_key())
    if with_area:
        wanted += ratelimit.allowances(_settings().intake_area_rate_limit, f"intake-area:{area_code or '-'}")
    windows = ratelimit.charge(current_app.extensions["gisserver.db"], wanted)
    caller = [w for w in windows if w.allowance.key == wanted[0].key]
    _headers(min(caller, key=lambda w: w.remaining))
    spent = [w for w in windows if w.exceeded]
    if spent:
        worst = max(spent, key=lambda w: w.retry_after)
        area = worst.allowance.key.startswith("intake-area:")
        raise TooManyRequests(
            f"Too many {'reports for this area' if area else 'requests'}: the limit is {worst.allowance.item}. "
            "Try again later.", {"limit": str(worst.allowance.item)}, retry_after=worst.retry_after)


def _headers(window: Window) -> None:
    @after_this_request
    def add(response):
        response.headers["X-RateLimit-Limit"] = str(window.allowance.item.amount)
        response.headers["X-RateLimit-Remaining"] = str(window.remaining)
        response.headers["X-RateLimit-Reset"] = str(int(window.reset_at))
        return response


def per_client_intake(view):
    """Every intake channel (JSON API, QR form, Open311, "I see it too") draws on one allowance per caller.

    The view charges it when it learns where the report lands (admit_to_area, with the area's) or before it writes
    anything else (charge_caller); a view that ends without having charged it is charged afterwards, and a spent
    allowance then turns its answer into the 429 (it wrote nothing).
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.setdefault(_PENDING, True)
        try:
            answer = view(*args, **kwargs)
        except TooManyRequests:
            raise
        except Exception:
            if g.get(_PENDING):
                _charge(None, with_area=False)
            raise
        if g.get(_PENDING):
            _charge(None, with_area=False)
        return answer

    return wrapped


def charge_caller() -> None:
    """Charge the caller's intake allowance now (a view about to write without a report's area)."""
    _charge(None, with_area=False)


def check_filer(channel: str) -> None:
    """Refuse machines whose token does not say they may file reports on this channel (403)."""
    principal = current_principal()
    if _kind(principal) in ("anonymous", "person"):
        return
    allowed = {FILE_SCOPE} | ({OPEN311_SCOPE} if channel == "open311" else set())
    if not allowed & principal.scopes:
        raise Forbidden(f"this token may not file reports (it needs the scope {FILE_SCOPE})")


def admit_to_area(area_code: str | None) -> None:
    """Charge the caller's allowance and, for anonymous residents, their area's (GISSERVER_INTAKE_AREA_RATE_LIMIT),
    in one statement; 429 when one is spent.

    Called by intake once the area is known from the location, the address or the QR code, so that no channel and no
    way of giving the place escapes the limit. Reports without an area share one allowance. Callers who identify
    themselves have their own allowance instead (a flood of them is theirs alone).
    """
    _charge(area_code, with_area=current_principal() is None)
