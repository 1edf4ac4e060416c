"""The sign-in pages' side of the throttle (gisserver.accounts.signin): the policy from the settings, the caller's
address, and the "known device" cookie a browser gets when someone signs in with it.

The cookie is signed with the app's secret and names the accounts that signed in from this browser (and a random
id for it). A browser that carries it for an account is counted apart from the others at its address, so that a
stranger's failures there cannot keep the account's owner out.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from gisserver.accounts.signin import Attempt, Policy
from gisserver.core.ratelimit import client_address

KNOWN_DEVICE_COOKIE = "gs_device"
KNOWN_FOR = timedelta(days=180)
MAX_ACCOUNTS = 10  # a shared office computer: the last few accounts signed in from it


def policy() -> Policy:
    settings = current_app.config["SETTINGS"]
    return Policy(per_account_address=settings.login_failures_account_address,
                  per_address=settings.login_failures_address, per_account=settings.login_failures_account,
                  max_delay_seconds=settings.login_max_delay_seconds, notice_after=settings.login_notice_after)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="gisserver.known-device")


def known_device() -> dict | None:
    raw = request.cookies.get(KNOWN_DEVICE_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer().loads(raw, max_age=int(KNOWN_FOR.total_seconds()))
    except BadSignature:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("d"), str) or not isinstance(value.get("u"), list):
        return None
    return value


def attempt_for(username: str, user_id: int | None) -> Attempt:
    """This request's try at *username*: the address, and the browser's id when it knows the account."""
    device = known_device()
    known = device is not None and user_id is not None and user_id in device["u"]
    return Attempt(username=username, remote_addr=client_address(), device=device["d"] if known else None)


def remember_device(response, user_id: int):
    """After a complete sign-in: this browser now knows the account."""
    device = known_device() or {"d": secrets.token_urlsafe(12), "u": []}
    accounts = [uid for uid in device["u"] if uid != user_id][-(MAX_ACCOUNTS - 1):] + [user_id]
    response.set_cookie(KNOWN_DEVICE_COOKIE, _serializer().dumps({"d": device["d"], "u": accounts}),
                        max_age=int(KNOWN_FOR.total_seconds()), httponly=True, samesite="Lax",
                        secure=bool(current_app.config["SESSION_COOKIE_SECURE"] or request.is_secure))
    return response
