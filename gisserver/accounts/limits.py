"""The limit on failed sign-ins, counted per client address in the core's shared limiter."""

from __future__ import annotations

from flask import current_app, request

from gisserver.core.ratelimit import client_address, limiter


def _settings():
    return current_app.config["SETTINGS"]


def _login_failed(response) -> bool:
    return request.method == "POST" and response.status_code == 401


# Only failed sign-ins count, so an office behind one address is never locked out by its own staff.
failed_logins_limit = limiter.limit(
    lambda: _settings().login_rate_limit, key_func=lambda: "login:" + client_address(), deduct_when=_login_failed,
    methods=["POST"],
)
