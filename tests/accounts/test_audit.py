"""Every write leaves an audit entry (who, when, what, from where); only admins read the log."""

from __future__ import annotations

import pytest
from flask import Blueprint
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gisserver.accounts.auth import require_roles
from gisserver.accounts.models import User
from gisserver.accounts.users import create_user
from gisserver.core.audit import AuditEntry
from gisserver.core.http import db_session


@pytest.fixture
def writer(app):
    """A probe endpoint that writes through the ORM like any feature view."""
    bp = Blueprint("audit_probe", __name__, url_prefix="/api/audit-probe")

    @bp.post("/users")
    @require_roles("admin")
    def add_user():
        session = db_session()
        create_user(session, "made-by-api", "correct horse battery", ["leader"])
        session.commit()
        return {"ok": True}, 201

    app.register_blueprint(bp)
    return app.test_client()


def test_cli_write_is_audited_with_secrets_redacted(cli, db):
    assert cli("users", "create", "auditme", "--role", "planner", "--password", "correct horse battery").exit_code == 0
    entry = db.scalars(select(AuditEntry).where(AuditEntry.table_name == "users")).one()
    assert entry.action == "insert" and entry.actor.startswith("cli:")
    assert entry.changes["username"] == "auditme"
    assert entry.changes["password_hash"] == "<redacted>"
    assert "correct horse" not in str(entry.changes)
    assert entry.row_id == str(db.scalar(select(User.id).where(User.username == "auditme")))  # was None


def test_api_write_records_the_caller_and_address(writer, auth_headers, db):
    headers = auth_headers("admin")
    response = writer.post("/api/audit-probe/users", headers=dict(headers, **{"X-Request-ID": "req-42"}))
    assert response.status_code == 201
    entry = db.scalars(select(AuditEntry).where(AuditEntry.changes["username"].astext == "made-by-api")).one()
    assert entry.actor.startswith("token:user-") and entry.remote_addr == "127.0.0.1"
    assert entry.request_id == "req-42"


def test_updates_record_old_and_new_values(db):
    user = create_user(db, "changer", "correct horse battery", ["planner"])
    db.commit()
    user.display_name = "Nguyễn Văn A"
    db.commit()
    update = db.scalars(select(AuditEntry).where(AuditEntry.action == "update")).one()
    assert update.changes == {"display_name": ["changer", "Nguyễn Văn A"]}
    assert update.row_id == str(user.id)


def test_audit_log_is_append_only(db):
    create_user(db, "someone", "correct horse battery", ["planner"])
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("UPDATE audit_log SET actor = 'nobody'"))
    db.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("DELETE FROM audit_log"))
    db.rollback()


def test_only_admins_read_the_log(client, auth_headers, db):
    create_user(db, "someone", "correct horse battery", ["planner"])
    db.commit()
    assert client.get("/api/audit").status_code == 401
    assert client.get("/api/audit", headers=auth_headers("planner")).status_code == 403
    response = client.get("/api/audit?table=users", headers=auth_headers("admin"))
    assert response.status_code == 200
    usernames = [e["changes"].get("username") for e in response.get_json()["entries"]]
    assert "someone" in usernames
    assert client.get("/api/audit?limit=0", headers=auth_headers("admin")).status_code == 400
    assert client.get("/api/audit?limit=abc", headers=auth_headers("admin")).status_code == 400


def test_failed_transaction_leaves_no_audit_entry(db):
    create_user(db, "ghost", "correct horse battery", ["planner"])
    db.flush()
    db.rollback()
    assert db.scalar(select(User).where(User.username == "ghost")) is None
    assert not db.scalars(select(AuditEntry).where(AuditEntry.changes["username"].astext == "ghost")).all()
