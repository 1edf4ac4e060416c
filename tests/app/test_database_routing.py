"""Which database answers each route: every route says it, and the routes that say "replica" only read.

The "replica" here is the test database itself, reached through connections that can only read
(default_transaction_read_only): a view declared `on_replica` that wrote anything (a row, a sequence, a counter,
a temporary table) would fail on it as it would on a real standby. The real streaming replica, its lag and
read-your-writes are tested in tests/cluster.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from flask import g, request

from gisserver.app import create_app
from gisserver.core.access import database_rule
from gisserver.core.access import on_replica as declared_on_replica
from tests.app.test_access_matrix import ROUTES, _problems, _send, world  # noqa: F401 - world is a fixture
from tests.conftest import LENIENT_LIMITS, PUBLIC_URL

BUILT_IN = {"static"}
# Callers enough to reach every branch of the public and staff reads.
CALLERS = ("anonymous", "admin", "leader_w")


def test_every_route_declares_which_database_answers_it(app):
    undeclared = sorted(f"{rule.rule} ({rule.endpoint})" for rule in app.url_map.iter_rules()
                        if rule.endpoint not in BUILT_IN and database_rule(app.view_functions[rule.endpoint]) is None)
    assert not undeclared, f"say on_replica or on_primary(why) next to the access rule of: {undeclared}"
    # The declaration is not decoration: it is what the session helpers read.
    assert database_rule(declared_on_replica(lambda: None)) == "replica"


def _replica_endpoints(app) -> set[str]:
    return {endpoint for endpoint, view in app.view_functions.items() if database_rule(view) == "replica"}


@pytest.fixture
def read_only_replica_app(database_url, tmp_path):
    separator = "&" if "?" in database_url else "?"
    replica = f"{database_url}{separator}options={quote('-c default_transaction_read_only=on')}"
    # The `app` fixture's settings (tests/conftest.py), with the read-only "replica" beside the database.
    app = create_app({"DATABASE_URL": database_url, "DATABASE_REPLICA_URLS": replica, "DATA_DIR": tmp_path / "data",
                      "TESTING": True, **LENIENT_LIMITS, "LIVE_MAX_SECONDS": 0.2, "PUBLIC_URL": PUBLIC_URL})
    engines: dict[str, str | None] = {}

    @app.after_request
    def note_engine(response):
        engines[request.path] = g.get("db_engine")
        return response

    app.engines = engines
    yield app
    app.extensions["gisserver.db"].dispose()


def test_routes_declared_on_replica_answer_from_a_read_only_connection(read_only_replica_app, world):  # noqa: F811
    app = read_only_replica_app
    replica_endpoints = _replica_endpoints(app)
    rules = {(method, rule.rule): rule.endpoint for rule in app.url_map.iter_rules() for method in rule.methods}
    problems, checked = [], 0
    for (method, rule), cases in ROUTES.items():
        if rules.get((method, rule)) not in replica_endpoints:
            continue
        assert method == "GET", f"{method} {rule} is declared on_replica but its method changes things"
        for case in cases:
            for caller in CALLERS:
                path, response = _send(app.test_client(), world, method, case, world.headers[caller])
                problems += _problems(caller, method, path, case, response, case.expect[caller], " (replica)")
                checked += 1
    assert not problems, "\n".join(problems)
    assert checked > 150
    used = set(app.engines.values()) - {None}
    # Every read went to the replica: none fell back to the primary, and reads really happened there.
    assert used == {"replica-1"}, app.engines
    assert app.engines["/api/areas"] == "replica-1"
    assert any(path.endswith("/items") and engine == "replica-1" for path, engine in app.engines.items())


def test_the_read_only_connection_really_refuses_writes(read_only_replica_app, world):  # noqa: F811
    """The check above is not vacuous: a write sent to those connections fails, while the views that write still
    do, on the primary, and the writer's next read waits for (here: finds at once) its own write."""
    from sqlalchemy import text
    from sqlalchemy.exc import InternalError

    app = read_only_replica_app
    database = app.extensions["gisserver.db"]
    replica = database.replicas.choose()
    assert replica is not None and replica.name == "replica-1"
    session = database.replicas.session(replica, autocommit=True)
    try:
        with pytest.raises(InternalError, match="read-only transaction"):
            session.execute(text("CREATE TEMPORARY TABLE scratch (x int)"))
    finally:
        session.close()
    client = app.test_client()
    filed = client.post("/api/reports", json=ROUTES[("POST", "/api/reports")][0].json)
    assert filed.status_code == 201, filed.get_data(as_text=True)
    assert "gisserver_written" in filed.headers.get("Set-Cookie", "")
    status = client.get(f"/api/reports/{filed.get_json()['tracking_code']}/status")
    assert status.status_code == 200 and app.engines[status.request.path] == "replica-1"


def test_an_api_key_on_a_replica_read_is_checked_and_recorded_on_the_primary(read_only_replica_app):
    """Open311 clients may name themselves with ?api_key= on a view that accepts it; checking the key records its
    last use, a write that must reach the primary even when the caller is identified inside a view that reads from
    a replica (here the view identifies its caller again, as one that runs without the before-request hook would;
    the key's last use is cleared first so that the check really writes)."""
    from flask import g
    from sqlalchemy import text

    from gisserver.accounts.auth import accepts_api_key, current_principal
    from gisserver.accounts.users import issue_token
    from gisserver.core.access import open_to
    from gisserver.core.http import db_session

    app = read_only_replica_app
    database = app.extensions["gisserver.db"]

    def forget_last_use(token_id: int) -> None:
        with database.transaction() as session:
            session.execute(text("UPDATE api_tokens SET last_used_at = NULL WHERE id = :id"), {"id": token_id})

    @open_to("test; a read that accepts an api_key")
    @accepts_api_key("open311")
    @declared_on_replica
    def who_reads():
        forget_last_use(token_id)
        g.pop("principal", None)
        principal = current_principal()
        read_only = db_session().execute(text("SHOW default_transaction_read_only")).scalar()
        return {"caller": principal.name, "read_only": read_only}

    app.add_url_rule("/test/who-reads", view_func=who_reads)
    with database.transaction() as session:
        token, key = issue_token(session, "open311-app", scopes=("open311",))
        token_id = token.id
    answer = app.test_client().get("/test/who-reads", query_string={"api_key": key})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == {"caller": "open311-app", "read_only": "on"}
    assert app.engines["/test/who-reads"] == "replica-1"
    with database.transaction() as session:
        used = session.execute(text("SELECT last_used_at FROM api_tokens WHERE id = :id"), {"id": token_id}).scalar()
    assert used is not None
    assert app.test_client().get("/test/who-reads", query_string={"api_key": "gs_not-a-key"}).status_code == 403
