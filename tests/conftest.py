"""Fixtures: one real, migrated PostGIS database per test run, emptied before every test.

The database is the private cluster's (started if needed) unless GISSERVER_TEST_DATABASE_URL
names another PostGIS. GISSERVER_TEST_DB_NAME picks the database name on the private cluster,
so that several test runs can share one cluster. Through PgBouncer (tests/cluster runs a selection of the suite
so), GISSERVER_DATABASE_POOLED=1 is set and GISSERVER_TEST_DIRECT_DATABASE_URL names the direct connection the
migrations need.
"""

from __future__ import annotations

import os
import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from gisserver.app import create_app
from gisserver.core.cluster import private_cluster
from gisserver.core.config import Settings
from gisserver.core.db import Base
from gisserver.core.features import import_models
from gisserver.migrate import upgrade
from layers import served

# The city's public address the QR codes point at (keychains are refused without one).
PUBLIC_URL = "https://phananh.example.vn"
# Clusters a test starts beside the suite's own (replicas, the whole layout, restart drills) may run at once, with
# other suites' on the same machine: PostgreSQL's default buffers and no statement statistics are plenty there.
SMALL_CLUSTER = {"shared_buffers": "128MB", "stat_statements": False}
SMALL_CLUSTER_ENV = {"GISSERVER_PG_SHARED_BUFFERS": "128MB", "GISSERVER_PG_STAT_STATEMENTS": "0"}


def suite_database_name() -> str:
    """The suite's database on the private cluster: one per xdist worker, so that workers never share rows."""
    return os.environ.get("GISSERVER_TEST_DB_NAME", "gisserver_test") + os.environ.get("PYTEST_XDIST_WORKER", "")


# The modules whose tests start their own clusters and servers (marked `slow`). With pytest-xdist they run one
# after another on one worker: side by side they would contend for their preferred ports and starve each other on
# a small machine. (xdist's own --dist loadgroup cannot do this under pytest 9, whose node ids it cannot suffix.)
OWN_SERVERS = frozenset({
    "tests/cluster/test_topology.py",
    "tests/core/test_cluster.py",
    "tests/core/test_faults.py",
    "tests/core/test_serve.py",
    "tests/reports/notifications/test_restarts.py",
})


def pytest_collection_modifyitems(items):
    unlisted = sorted({item.nodeid.split("::", 1)[0] for item in items if item.get_closest_marker("slow")}
                      - OWN_SERVERS)
    if unlisted:
        raise pytest.UsageError(f"tests marked slow in {', '.join(unlisted)}: list them in OWN_SERVERS")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Each test file is a unit of work (its module fixtures are built once), and OWN_SERVERS together are one."""
    from xdist.scheduler import LoadFileScheduling

    class OwnServersTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = super()._split_scope(nodeid)
            return "own-servers" if path in OWN_SERVERS else path

    return OwnServersTogether(config, log)


@pytest.fixture(scope="session")
def database_url() -> str:
    url = os.environ.get("GISSERVER_TEST_DATABASE_URL")
    if not url:
        cluster = private_cluster(Settings.from_env())
        cluster.up()
        url = cluster.recreate_database(suite_database_name())
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        pytest.exit("GISSERVER_TEST_DATABASE_URL names one database: run without xdist (-p no:xdist)", returncode=4)
    upgrade(os.environ.get("GISSERVER_TEST_DIRECT_DATABASE_URL") or url)
    return url


@pytest.fixture(scope="session")
def _engine(database_url):
    pooled = Settings.from_env().database_pooled
    engine = create_engine(database_url, connect_args={"prepare_threshold": None} if pooled else {})
    yield engine
    engine.dispose()


def _application_tables() -> list[str]:
    import_models()
    return [t.fullname for t in Base.metadata.sorted_tables]


def empty_database(engine) -> None:
    """Truncate every application table and drop the per-layer data tables.

    A browser package's live server may still be answering the last page's tile requests when its package ends:
    their reads and this statement's locks can deadlock, and PostgreSQL then cancels one of the two. When it is
    this one, it is run again once those requests are done."""
    for attempt in range(5):
        try:
            return _empty_database(engine)
        except OperationalError as exc:
            if not isinstance(exc.orig, psycopg.errors.DeadlockDetected) or attempt == 4:
                raise
            time.sleep(0.5)


def _empty_database(engine) -> None:
    tables = _application_tables()
    with engine.begin() as conn:
        extra = conn.execute(text("SELECT to_regnamespace('layer_data') IS NOT NULL")).scalar()
        if extra:
            # Per-layer data tables are created at import time, outside the ORM metadata.
            conn.execute(text("DROP SCHEMA layer_data CASCADE"))
            conn.execute(text("CREATE SCHEMA layer_data"))
        if tables:
            quoted = ", ".join(
                conn.dialect.identifier_preparer.quote_schema(t)
                if "." not in t
                else ".".join(conn.dialect.identifier_preparer.quote(p) for p in t.split("."))
                for t in tables
            )
            conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))


@pytest.fixture(autouse=True)
def clean_database(request, _engine):
    """Empty every application table before each test that touches the database."""
    if "database_url" not in request.fixturenames and "app" not in request.fixturenames:
        yield
        return
    empty_database(_engine)
    served.clear()  # layers recreated under the same names and ids: their cached catalog entries would be stale
    yield


# Limits have their own tests (tests/reports/intake/test_rate_limits.py, tests/accounts/test_sign_in_throttle.py);
# elsewhere they would only get in the way.
LENIENT_LIMITS = {"INTAKE_RATE_LIMIT": "10000 per minute", "INTAKE_AREA_RATE_LIMIT": "10000 per minute",
                  "INTAKE_USER_RATE_LIMIT": "10000 per minute", "INTAKE_TOKEN_RATE_LIMIT": "10000 per minute",
                  "OPEN311_KEY_RATE_LIMIT": "10000 per minute", "LOGIN_FAILURES_ACCOUNT_ADDRESS": 10000,
                  "LOGIN_FAILURES_ADDRESS": 10000, "LOGIN_FAILURES_ACCOUNT": 10000}


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "data", "TESTING": True,
                      **LENIENT_LIMITS, "LIVE_MAX_SECONDS": 0.2, "PUBLIC_URL": PUBLIC_URL})
    yield app
    app.extensions["gisserver.db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    """A session on the test database, for arranging data through services and checking results."""
    session = app.extensions["gisserver.db"].session()
    yield session
    session.rollback()
    session.close()


@pytest.fixture
def cli(app):
    """Invoke `gisserver ...` commands against the test database."""
    from gisserver.cli import main

    runner = app.test_cli_runner()

    def invoke(*args, **kwargs):
        return runner.invoke(main, list(args), **kwargs)

    return invoke


@pytest.fixture
def auth_headers(app):
    """Make a caller and return its request headers: auth_headers("officer", unit_ids=[3]).

    A caller with only the role "device" gets a machine token carrying *scopes*.
    """
    from gisserver.accounts.users import create_user, grant, issue_token

    counter = iter(range(1, 10_000))

    def make(*roles, area_ids=(), unit_ids=(), scopes=()):
        with app.extensions["gisserver.db"].transaction() as session:
            n = next(counter)
            if set(roles) == {"device"}:
                _, secret = issue_token(session, f"device-{n}", scopes=scopes or ("device",))
            else:
                user = create_user(session, f"user-{n}-{'-'.join(roles) or 'none'}", "correct horse battery", roles)
                for area_id in area_ids:
                    grant(session, user, area_id=area_id)
                for unit_id in unit_ids:
                    grant(session, user, unit_id=unit_id)
                _, secret = issue_token(session, f"test-{n}", user=user, scopes=scopes)
        return {"Authorization": f"Bearer {secret}"}

    return make
