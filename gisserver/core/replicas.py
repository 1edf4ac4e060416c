"""Streaming replicas for reads: which one may answer now, how far behind each is, and read-your-writes.

Each replica has its own engine. Its state (in recovery or not, replay position, lag) is probed at most once a
second per process, by whichever request thread first finds it stale; the others keep using the last state, so
a slow or dead replica delays one request per probe, not all of them. A replica that is down or further behind
than the configured bound is skipped, and a later probe brings it back by itself.

Read-your-writes: after a caller's write the app hands it the primary's WAL position (a signed cookie, see
gisserver/core/http.py); a replica serves that caller's reads only once it has replayed that position. The wait
is bounded; after it the read goes to the primary. This was chosen over a fixed "primary for N seconds after a
write" because it is exact whatever the lag (a replica delayed by minutes never serves a stale status page),
and the common case (a replica a few milliseconds behind) still reads from the replica.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

CHECK_SECONDS = 1.0  # how old a healthy replica's state may get before the next request probes it
RETRY_SECONDS = 2.0  # how long a replica found down is left alone before it is tried again
POLL_SECONDS = 0.01  # how often a read waiting for its caller's write asks the replica again

# What a replica says of itself; how far behind it is follows in Replica.probe.
_PROBE = text("""
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE pid IS NOT NULL) AS receiving,
       pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() AS replayed_all,
       extract(epoch FROM clock_timestamp()) AS now,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) AS replay_age
""")
_REPLAYED = text("SELECT coalesce(pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn), NOT pg_is_in_recovery())")


def lsn_value(lsn: str) -> int:
    """A WAL position ("16/B374D848") as a number, for comparing two of them."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def is_connection_problem(exc: BaseException) -> bool:
    """The database went away or would not take the connection (as opposed to a fault in the statement)."""
    if isinstance(exc, PoolTimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is None:
        # The driver failed before the server answered: a lost connection is an OperationalError;
        # anything else (a value the driver cannot send, say) is a fault of ours, not an outage.
        return isinstance(exc, OperationalError)
    # 08: connection exceptions; 57P: operator intervention (admin shutdown, crash shutdown, cannot connect now).
    return sqlstate.startswith("08") or sqlstate.startswith("57P")


def replica_gave_up(exc: BaseException) -> bool:
    """A read on a replica failed for a reason the primary does not have: the replica went away, or a
    statement was cancelled because it conflicted with WAL the replica had to replay (SQLSTATE 40001)."""
    if is_connection_problem(exc):
        return True
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) == "40001"


@dataclass
class EngineState:
    """What /health and `gisserver db replica list` say about one engine."""

    name: str
    status: str  # ok, lagging, down, not-checked
    lag_seconds: float | None = None
    replay_lsn: str | None = None
    in_recovery: bool | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        """For /health: the state, without the WAL position."""
        return {k: v for k, v in asdict(self).items()
                if k != "replay_lsn" and (v is not None or k in ("name", "status"))}


class Replica:
    """One replica: its engine, its sessionmakers and its last known state."""

    def __init__(self, name: str, url: str, engine: Engine):
        self.name = name
        self.address = make_url(url).render_as_string(hide_password=True)
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.autocommit_sessions = sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self.state = EngineState(name, "not-checked")
        self.caught_up_at: float | None = None  # the replica's clock when a probe last found it caught up
        self.next_check = 0.0
        self.checking = threading.Lock()

    def probe(self, max_lag: float) -> EngineState:
        """Ask the replica how far behind it is.

        The lag is 0 when it streams from its primary and has replayed all it received. Otherwise it is at most the
        age of the last transaction it replayed, and at most the time since this process last saw it caught up:
        the first alone would call a replica minutes behind for a moment when a long-idle primary writes again;
        the second makes a replica cut off from its primary (no WAL receiver) age until it is skipped.
        """
        try:
            with self.engine.connect() as conn:
                row = conn.execute(_PROBE).one()
                conn.rollback()
        except (DBAPIError, PoolTimeoutError) as exc:
            return EngineState(self.name, "down", error=str(exc).strip().splitlines()[0][:200])
        if not row.in_recovery:  # promoted: it is a primary now, as fresh as it gets
            return EngineState(self.name, "ok", 0.0, row.replay_lsn, False)
        if row.receiving and row.replayed_all:
            self.caught_up_at = float(row.now)
            lag = 0.0
        else:
            bounds = [float(row.replay_age)] if row.replay_age is not None else []
            if self.caught_up_at is not None:
                bounds.append(float(row.now) - self.caught_up_at)
            lag = max(0.0, min(bounds)) if bounds else None
        # Nothing known (WAL pending and nothing replayed since the replica started): not trusted.
        status = "ok" if lag is not None and lag <= max_lag else "lagging"
        return EngineState(self.name, status, round(lag, 3) if lag is not None else None, row.replay_lsn, True)


class ReplicaSet:
    """The replicas of one database; hands out read sessions on a usable one, or None for the primary."""

    def __init__(self, urls: Sequence[str], make_engine: Callable[[str], Engine], *, max_lag_s: float = 5.0,
                 wait_s: float = 0.25):
        self.replicas = [Replica(f"replica-{n}", url, make_engine(url)) for n, url in enumerate(urls, 1)]
        self.max_lag_s = max_lag_s
        self.wait_s = wait_s
        self._turn = itertools.count()

    def __bool__(self) -> bool:
        return bool(self.replicas)

    # -- state ------------------------------------------------------------------------------------

    def _refresh(self, replica: Replica, force: bool = False) -> None:
        if not force and time.monotonic() < replica.next_check:
            return
        # One thread probes; the others go on with the state it had (blocking only when forced).
        if not replica.checking.acquire(blocking=force):
            return
        try:
            state = replica.probe(self.max_lag_s)
            self._set_state(replica, state)
        finally:
            replica.checking.release()

    def _set_state(self, replica: Replica, state: EngineState) -> None:
        previous = replica.state.status
        replica.state = state
        replica.next_check = time.monotonic() + (RETRY_SECONDS if state.status == "down" else CHECK_SECONDS)
        if state.status != previous and (previous, state.status) != ("not-checked", "ok"):
            log.warning("read replica %s (%s) is now %s%s", replica.name, replica.address, state.status,
                        f" ({state.error})" if state.error else f" (lag {state.lag_seconds}s)")
        if state.status == "down":
            replica.engine.dispose()  # its pooled connections are dead too

    def mark_down(self, replica: Replica, exc: BaseException) -> None:
        """A read on *replica* failed mid-request: leave it alone until it answers a probe again."""
        self._set_state(replica, EngineState(replica.name, "down", error=str(exc).strip().splitlines()[0][:200]))

    def states(self, refresh: bool = False) -> list[EngineState]:
        for replica in self.replicas:
            self._refresh(replica, force=refresh)
        return [replica.state for replica in self.replicas]

    # -- choosing ---------------------------------------------------------------------------------

    def choose(self, min_lsn: str | None = None) -> Replica | None:
        """A replica able to serve a read now (having replayed *min_lsn* when given), or None: use the primary."""
        for replica in self.replicas:
            self._refresh(replica)
        usable = [r for r in self.replicas if r.state.status == "ok"]
        if not usable:
            return None
        start = next(self._turn)
        ordered = [usable[(start + i) % len(usable)] for i in range(len(usable))]
        if min_lsn is None:
            return ordered[0]
        wanted = lsn_value(min_lsn)
        for replica in ordered:
            if replica.state.in_recovery is False or (
                    replica.state.replay_lsn and lsn_value(replica.state.replay_lsn) >= wanted):
                return replica
        return self._wait_for(ordered, min_lsn)

    def _wait_for(self, replicas: list[Replica], min_lsn: str) -> Replica | None:
        """The first of *replicas* to replay *min_lsn* within the wait bound, or None."""
        deadline = time.monotonic() + self.wait_s
        connections = []
        try:
            for replica in replicas:
                try:
                    connections.append((replica, replica.engine.connect()))
                except (DBAPIError, PoolTimeoutError) as exc:
                    self.mark_down(replica, exc)
            while connections:
                for replica, conn in list(connections):
                    try:
                        replayed = conn.execute(_REPLAYED, {"lsn": min_lsn}).scalar()
                        conn.rollback()
                    except DBAPIError as exc:
                        self.mark_down(replica, exc)
                        connections.remove((replica, conn))
                        continue
                    if replayed:
                        return replica
                if time.monotonic() >= deadline:
                    return None
                time.sleep(POLL_SECONDS)
            return None
        finally:
            for _, conn in connections:
                conn.close()

    def session(self, replica: Replica, *, autocommit: bool) -> Session:
        return (replica.autocommit_sessions if autocommit else replica.sessions)()

    def dispose(self) -> None:
        for replica in self.replicas:
            replica.engine.dispose()
