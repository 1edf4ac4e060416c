"""Rate limits shared by every server worker: Flask-Limiter with its counters in PostgreSQL.

Workers are separate processes, so in-memory counters would let each of them grant the full
allowance. PostgreSQL is already shared by all of them; the counters live in an UNLOGGED table
(losing them in a crash only resets the windows).
"""

from __future__ import annotations

import math
import random
import time

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.errors import RateLimitExceeded
from limits.storage import Storage
from sqlalchemy import Column, DateTime, Integer, Table, Text, text
from sqlalchemy.exc import SQLAlchemyError

from gisserver.core.db import Base
from gisserver.core.errors import error_response

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
