"""Database engine, sessions and the declarative Base shared by every feature package."""

from __future__ import annotations

import re
import select
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker

from gisserver.core.cluster import resolve_database_url
from gisserver.core.replicas import Replica, ReplicaSet

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def normalize_url(url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def split_urls(value: str) -> list[str]:
    """URLs given in one setting, separated by spaces or commas."""
    return [part for part in re.split(r"[\s,]+", value or "") if part]


def connect_args(url: str = "", *, connect_timeout: int = 3, statement_timeout_ms: int = 30000,
                 pooled: bool = False) -> dict:
    """psycopg connection arguments, for a direct connection or one through a transaction-mode pooler."""
    args = {"connect_timeout": connect_timeout, "application_name": "gisserver"}
    if pooled:
        # PgBouncer in transaction mode hands each transaction to any server connection: a statement prepared
        # on one is unknown on the next (psycopg prepares a query after 5 runs), and startup options such as
        # statement_timeout are refused. The timeout then comes from the role (ALTER ROLE ... SET).
        args["prepare_threshold"] = None
    else:
        # Options given in the URL (?options=-c ...) are kept: these arguments would otherwise replace them.
        given = make_url(url).query.get("options", "") if url else ""
        given = " ".join(given) if isinstance(given, tuple) else given
        args["options"] = f"-c statement_timeout={statement_timeout_ms} {given}".strip()
    return args


class NoDirectConnection(ValueError):
    """Work that holds a session of its own was asked of a database reached only through a pooler."""


def as_loaded(session: Session, obj):
    """*obj*, whose row this request has just written or read with its own SQL, as the session's loaded object
    (without a SELECT): relationships to it and session.get() then find it in the identity map. Attributes it was
    not given stay unloaded (and load when read)."""
    make_transient_to_detached(obj)
    return session.merge(obj, load=False)


# A pooled connection idle longer than this is pinged before use (a firewall or a pooler may have dropped it without
# a word); a busy one is only looked at.
IDLE_PING_SECONDS = 10.0


def _check_on_checkout(engine: Engine) -> None:
    """Hand out only live connections, without a round trip for each: the app recovers by itself after PostgreSQL
    restarts, as pool_pre_ping did, but a map tile no longer waits for a ping before its query.

    A connection the server ended (a restart, a failover, a terminated backend) has its last words (FATAL ...) or
    the end of the stream waiting in its socket, while a live idle connection has nothing to say: a zero-timeout
    poll of the socket tells them apart. One idle for longer than IDLE_PING_SECONDS is pinged as well. A dead one is
    refused (DisconnectionError) and the pool opens a new connection in its place.
    """

    @event.listens_for(engine, "checkin")
    def idle_from(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def check(dbapi_connection, record, proxy):
        if dbapi_connection.closed or _has_something_to_say(dbapi_connection):
            raise DisconnectionError("the server closed this connection")
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as exc:
                raise DisconnectionError("the connection did not answer a ping") from exc


def _has_something_to_say(dbapi_connection) -> bool:
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class Database:
    """One engine per process, created on first use so that forked workers never share sockets.

    With replica URLs it also holds a ReplicaSet, whose engines are made the same way (and as lazily).
    """

    def __init__(
        self,
        url: str,
        connect_timeout: int = 3,
        statement_timeout_ms: int = 30000,
        pool_size: int = 5,
        max_overflow: int = 10,
        *,
        replica_urls: Sequence[str] = (),
        replica_max_lag_s: float = 5.0,
        replica_wait_s: float = 0.25,
        pooled: bool = False,
        direct_url: str = "",
    ):
        self.url = normalize_url(url)
        self.direct_url = normalize_url(direct_url) if direct_url else self.url
        self.pooled = pooled
        self.replica_urls = [normalize_url(u) for u in replica_urls]
        self._replica_max_lag_s = replica_max_lag_s
        self._replica_wait_s = replica_wait_s
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._max_overflow = max_overflow
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker | None = None
        self._read_sessionmaker: sessionmaker | None = None
        self._replicas: ReplicaSet | None = None
        # A fresh worker's first requests come on several threads at once (gthread workers, and workers that
        # gunicorn restarts after --max-requests in the middle of a busy hour).
        self._setup_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._setup_lock:
                if self._engine is None:
                    self._set_up()
        return self._engine

    def _make_engine(self, url: str, pooled: bool = False) -> Engine:
        engine = create_engine(
            url,
            # No pre_ping (a round trip before every request's first statement): _check_on_checkout below.
            pool_pre_ping=False,
            pool_size=self._pool_size,
            max_overflow=self._max_overflow,
            pool_timeout=10,
            connect_args=connect_args(url, connect_timeout=self._connect_timeout,
                                      statement_timeout_ms=self._statement_timeout_ms, pooled=pooled),
        )
        _check_on_checkout(engine)
        return engine

    def _set_up(self) -> None:
        """Build the engines and the sessionmakers; the engine is published last, so that a thread that sees it
        also sees the rest."""
        engine = self._make_engine(self.url, self.pooled)
        self._replicas = ReplicaSet(self.replica_urls, self._make_engine, max_lag_s=self._replica_max_lag_s,
                                    wait_s=self._replica_wait_s)
        self._sessionmaker = sessionmaker(engine, expire_on_commit=False)
        # Same pool, no transaction: a read that is one statement needs no BEGIN and ROLLBACK around it,
        # two round trips of the five a map tile or an items page would otherwise cost.
        self._read_sessionmaker = sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        # SQLAlchemy learns the server on the first connection (its version, default isolation level): done here,
        # under the lock, because a thread whose connection came up while another's first one was still asking
        # found the dialect half-known ("no attribute 'default_isolation_level'", seen under load). If the
        # database is down this raises, and the next use tries again.
        with engine.connect():
            pass
        self._engine = engine

    @property
    def replicas(self) -> ReplicaSet:
        self.engine  # noqa: B018 - creates the replica set on first use
        return self._replicas

    def reader(self, *, autocommit: bool, min_lsn: str | None = None) -> tuple[Session, Replica | None]:
        """A session for reads on a usable replica (one that has replayed *min_lsn*, when given), else on the
        primary; and the replica it is on (None: the primary)."""
        replica = self.replicas.choose(min_lsn) if self.replicas else None
        if replica is None:
            return (self.read_session() if autocommit else self.session()), None
        return self.replicas.session(replica, autocommit=autocommit), replica

    def own_session_url(self, what: str) -> str:
        """The primary's URL for *what* holds a session of its own (migrations' advisory lock, a backup's exported
        snapshot, the worker's LISTEN and job locks), which a transaction-mode pooler would hand to others."""
        if self.pooled and self.direct_url == self.url:
            raise NoDirectConnection(f"GISSERVER_DATABASE_POOLED is on: {what} need a direct connection to the "
                                     "primary; set GISSERVER_DATABASE_DIRECT_URL")
        return self.direct_url

    def current_lsn(self) -> str:
        """The primary's WAL position now: past the end of every transaction committed so far."""
        with self.engine.connect() as conn:
            lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one()
            conn.rollback()
        return lsn

    def session(self) -> Session:
        self.engine  # noqa: B018 - creates the sessionmaker on first use
        return self._sessionmaker()

    def read_connection(self) -> Connection:
        """A connection to the primary whose statements each run on their own, outside a transaction, without an
        ORM session around it: for the hot reads that are one Core statement (feature pages, tiles)."""
        return self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def read_session(self) -> Session:
        """A session whose statements each run on their own, outside a transaction: for reads only."""
        self.engine  # noqa: B018
        return self._read_sessionmaker()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed on success and rolled back on any error."""
        session = self.session()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if self._replicas is not None:
            self._replicas.dispose()


def database_from_settings(settings) -> Database:
    """The Database the settings describe: the configured URL (or the private cluster's), replicas, pooler."""
    return Database(
        resolve_database_url(settings),
        connect_timeout=settings.db_connect_timeout,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        replica_urls=split_urls(settings.database_replica_urls),
        replica_max_lag_s=settings.replica_max_lag_ms / 1000,
        replica_wait_s=settings.replica_wait_ms / 1000,
        pooled=settings.database_pooled,
        direct_url=settings.database_direct_url,
    )
