"""Rate limits shared by every server worker: fixed-window counters in PostgreSQL, charged in one statement.

Workers are separate processes, so in-memory counters would let each of them grant the full allowance. PostgreSQL
is already shared by all of them; the counters live in an UNLOGGED table (losing them in a crash only resets the
windows). Limits are written as the `limits` library reads them ("10 per minute; 100 per hour"), and a request
charges every counter it draws on (its caller's and, for a report, its area's) in one upsert that returns each
window's count and end: no second statement to decide, none to write the X-RateLimit headers.

The upsert runs outside the caller's transaction (autocommit, on its own pooled connection), so a counter's row is
locked only for that statement: a busy caller or area never holds the others' reports back.
"""

from __future__ import annotations

import functools
import math
import random
import time
from dataclasses import dataclass

from flask import request
from limits import RateLimitItem, parse_many
from sqlalchemy import Column, DateTime, Integer, Table, Text, text

from gisserver.core.db import Base, Database

KEY_PREFIX = "gisserver"
# Share of charges that also sweep expired counters, so the table stays small without a job.
SWEEP_PROBABILITY = 0.01

rate_limits = Table(
    "rate_limits",
    Base.metadata,
    Column("key", Text, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    prefixes=["UNLOGGED"],
)

_CHARGE = text("""
INSERT INTO rate_limits AS r (key, count, expires_at)
SELECT key, 1, now() + make_interval(secs => seconds)
FROM unnest(CAST(:keys AS text[]), CAST(:seconds AS int[])) AS c(key, seconds)
ORDER BY key  -- one order for every caller: two requests sharing counters never wait on each other in a cycle
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN r.expires_at <= now() THEN 1 ELSE r.count + 1 END,
    expires_at = CASE WHEN r.expires_at <= now() THEN excluded.expires_at ELSE r.expires_at END
RETURNING key, count, extract(epoch FROM expires_at) AS reset_at
""")
_SWEEP = text("DELETE FROM rate_limits WHERE expires_at < now()")


@dataclass(frozen=True)
class Allowance:
    """A limit ("3 per minute", one RateLimitItem) on what one caller or place may do, by its key."""

    item: RateLimitItem
    key: str

    @property
    def counter(self) -> str:
        return self.item.key_for(KEY_PREFIX, self.key)


@dataclass(frozen=True)
class Window:
    """A counter after this request's charge: how many in its window, and when the window ends (epoch seconds)."""

    allowance: Allowance
    count: int
    reset_at: float

    @property
    def exceeded(self) -> bool:
        return self.count > self.allowance.item.amount

    @property
    def remaining(self) -> int:
        return max(0, self.allowance.item.amount - self.count)

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.reset_at - time.time()))


def allowances(limits: str, key: str) -> list[Allowance]:
    """Each limit of *limits* ("10 per minute; 100 per hour") on *key*."""
    return [Allowance(item, key) for item in _parsed(limits)]


@functools.lru_cache(maxsize=64)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    # The settings' few limit strings, parsed once instead of on every request that is charged.
    return tuple(sorted(parse_many(limits)))


def charge(database: Database, wanted: list[Allowance]) -> list[Window]:
    """Count one more use against every allowance in *wanted*, in one statement; the windows as they are now."""
    if not wanted:
        return []
    by_counter = {a.counter: a for a in wanted}
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if random.random() < SWEEP_PROBABILITY:  # noqa: S311 - not security-relevant
            conn.execute(_SWEEP)
        rows = conn.execute(_CHARGE, {"keys": list(by_counter),
                                      "seconds": [a.item.get_expiry() for a in by_counter.values()]})
        return [Window(by_counter[key], count, float(reset_at)) for key, count, reset_at in rows]


def client_address() -> str:
    return request.remote_addr or "unknown"
