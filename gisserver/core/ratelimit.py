"""Rate limits shared by every server worker: Flask-Limiter with its counters in PostgreSQL.

Workers are separate processes, so in-memory counters would let each of them grant the full
allowance. PostgreSQL is already shared by all of them; the counters live in an UNLOGGED table
(losing them in a crash only resets the windows).
"""

from __future__ import annotations

import math
import random
import time

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from limits.storage import Storage
from sqlalchemy import Column, DateTime, Integer, Table, Text, text
from sqlalchemy.exc import SQLAlchemyError

from gisserver.db import Base
from gisserver.errors import error_response
from gisserver.exceptions import TooManyRequests

STORAGE_SCHEME = "gisserver-postgresql"
# Share of increments that also sweep expired counters, so the table stays small without a job.
SWEEP_PROBABILITY = 0.01

rate_limits = Table(
    "rate_limits",
    Base.metadata,
    Column("key", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    prefixes=["UNLOGGED"],
)


class PostgresStorage(Storage):
    """Fixed-window counters for the `limits` library, kept in the app's PostGIS database."""

    STORAGE_SCHEME = [STORAGE_SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self._database = options["database"]

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def _run(self, sql: str, **params):
        with self._database.engine.begin() as conn:
            return conn.execute(text(sql), params)

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        if random.random() < SWEEP_PROBABILITY:  # noqa: S311 - not security-relevant
            self._run("DELETE FROM rate_limits WHERE expires_at < now()")
        return self._run(
            """
            INSERT INTO rate_limits (key, count, expires_at)
            VALUES (:key, :amount, now() + make_interval(secs => :expiry))
            ON CONFLICT (key) DO UPDATE SET
                count = CASE WHEN rate_limits.expires_at <= now() THEN :amount
                             ELSE rate_limits.count + :amount END,
                expires_at = CASE WHEN rate_limits.expires_at <= now() THEN now() + make_interval(secs => :expiry)
                                  ELSE rate_limits.expires_at END
            RETURNING count
            """,
            key=key,
            amount=amount,
            expiry=expiry,
        ).scalar_one()

    def get(self, key: str) -> int:
        value = self._run("SELECT count FROM rate_limits WHERE key = :key AND expires_at > now()", key=key).scalar()
        return value or 0

    def get_expiry(self, key: str) -> float:
        value = self._run(
            "SELECT extract(epoch FROM expires_at) FROM rate_limits WHERE key = :key AND expires_at > now()", key=key
        ).scalar()
        return float(value) if value is not None else time.time()

    def check(self) -> bool:
        try:
            self._run("SELECT 1")
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        return self._run("DELETE FROM rate_limits").rowcount

    def clear(self, key: str) -> None:
        self._run("DELETE FROM rate_limits WHERE key = :key", key=key)


def client_address() -> str:
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address, default_limits=[], headers_enabled=True, strategy="fixed-window")


def init_rate_limits(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", f"{STORAGE_SCHEME}://")
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"database": app.extensions["gisserver.db"]})
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "gisserver")
    # The counters live in the app's database. When it fails, the view's own queries answer 503;
    # a failure afterwards, while the limiter writes its X-RateLimit headers, must not turn a
    # report already committed (201) into a 500. Swallowed errors are logged.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)

    @app.errorhandler(RateLimitExceeded)
    def too_many(exc: RateLimitExceeded):
        return error_response(
            429,
            "rate_limited",
            f"Too many requests: the limit is {exc.limit.limit}. Try again later.",
            {"limit": str(exc.limit.limit)},
            {"Retry-After": str(retry_after())},
        )


def retry_after() -> int:
    """Seconds until the limit this request broke lets the client in again."""
    current = limiter.current_limit
    return max(1, math.ceil(current.reset_at - time.time())) if current else 60


def _settings():
    return current_app.config["SETTINGS"]


def _signed_in() -> bool:
    # The caller was settled (a bad token already answered 401) before the limiter runs.
    from gisserver.auth import current_principal

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


def _login_failed(response) -> bool:
    return request.method == "POST" and response.status_code == 401


# Only failed sign-ins count, so an office behind one address is never locked out by its own staff.
failed_logins_limit = limiter.limit(
    lambda: _settings().login_rate_limit, key_func=lambda: "login:" + client_address(), deduct_when=_login_failed,
    methods=["POST"],
)
