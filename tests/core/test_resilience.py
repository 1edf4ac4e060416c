"""Requests whose database connection dies under them answer cleanly: the answer stands, or 503."""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import create_engine, text

from gisserver.core.access import open_to
from gisserver.core.http import db_session


def _terminate(database_url: str, pid: int) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        engine.dispose()


def test_connection_killed_after_the_answer_keeps_the_answer(app, database_url):
    """PostgreSQL restarting after a view committed: the teardown's rollback fails, the 201 stands."""
    bp = Blueprint("dying", __name__, url_prefix="/api/dying")

    @bp.post("/after-commit")
    @open_to("everyone; a probe of the tests")
    def after_commit():
        session = db_session()
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()  # opens a transaction
        _terminate(database_url, pid)
        return {"stored": True}, 201

    @bp.get("/during")
    @open_to("everyone; a probe of the tests")
    def during():
        session = db_session()
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _terminate(database_url, pid)
        session.execute(text("SELECT 1"))
        return {"unreachable": True}

    app.register_blueprint(bp)
    client = app.test_client()

    kept = client.post("/api/dying/after-commit")
    assert kept.status_code == 201 and kept.get_json() == {"stored": True}

    cut = client.get("/api/dying/during")
    assert cut.status_code == 503
    assert cut.get_json()["error"]["code"] == "database_unavailable" and cut.headers["Retry-After"]

    # The pool dropped the dead connections: the next request works without any restart.
    assert client.get("/health").status_code == 200
