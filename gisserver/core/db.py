"""Database engine, sessions and the declarative Base shared by every feature package."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

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


class Database:
    """One engine per process, created on first use so that forked workers never share sockets."""

    def __init__(
        self,
        url: str,
        connect_timeout: int = 3,
        statement_timeout_ms: int = 30000,
        pool_size: int = 5,
        max_overflow: int = 10,
    ):
        self.url = normalize_url(url)
        self._connect_timeout = connect_timeout
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._max_overflow = max_overflow
        self._engine: Engine | None = None
        self._sessionmaker: sessionmaker | None = None
        self._read_sessionmaker: sessionmaker | None = None
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

    def _set_up(self) -> None:
        """Build the engine and both sessionmakers; the engine is published last, so that a thread that sees it
        also sees the sessionmakers."""
        engine = create_engine(
            self.url,
            # pre_ping lets the app recover by itself after PostgreSQL restarts.
            pool_pre_ping=True,
            pool_size=self._pool_size,
            max_overflow=self._max_overflow,
            pool_timeout=10,
            connect_args={
                "connect_timeout": self._connect_timeout,
                "options": f"-c statement_timeout={self._statement_timeout_ms}",
                "application_name": "gisserver",
            },
        )
        self._sessionmaker = sessionmaker(engine, expire_on_commit=False)
        # Same pool, no transaction: a read that is one statement needs no BEGIN and ROLLBACK around it,
        # two round trips of the five a map tile or an items page would otherwise cost.
        self._read_sessionmaker = sessionmaker(
            engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self._engine = engine

    def session(self) -> Session:
        self.engine  # noqa: B018 - creates the sessionmaker on first use
        return self._sessionmaker()

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
