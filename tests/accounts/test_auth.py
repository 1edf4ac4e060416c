"""Bearer tokens and role checks, through HTTP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Blueprint

from gisserver.accounts.auth import current_principal, require_roles, require_scope
from gisserver.accounts.users import authenticate, create_user, issue_token, revoke_token
from gisserver.core.access import BUILT_IN_ENDPOINTS, access_rule, open_to


@pytest.fixture
def guarded(app):
    bp = Blueprint("guarded", __name__, url_prefix="/api/guarded")

    @bp.get("/whoami")
    @open_to("everyone; it only echoes the caller")
    def whoami():
        p = current_principal()
        return {"name": p.name if p else None, "roles": sorted(p.roles) if p else []}

    @bp.post("/plan")
    @require_roles("planner")
    def plan():
        return {"ok": True}

    @bp.post("/reading")
    @require_scope("readings:write", "officer")
    def reading():
        return {"ok": True}

    @bp.get("/forgotten")
    def forgotten():  # declares no access rule
        return {"secret": "nobody should read this"}

    app.register_blueprint(bp)
    app.add_url_rule("/forgotten-page", "forgotten_page", lambda: "<p>nobody should read this</p>")
    return app.test_client()


def test_every_view_of_the_app_declares_its_access_rule(app):
    undeclared = sorted(endpoint for endpoint, view in app.view_functions.items()
                        if endpoint not in BUILT_IN_ENDPOINTS and access_rule(view) is None)
    assert undeclared == []
    assert access_rule(app.view_functions["intake.create_report"]).startswith("open to residents")
    assert access_rule(app.view_functions["workflow.transition_report"]).startswith("roles ")


def test_a_view_without_an_access_rule_is_refused_to_everyone(guarded, auth_headers):
    admin = auth_headers("admin")
    for headers in ({}, admin):
        answer = guarded.get("/api/guarded/forgotten", headers=headers)
        assert answer.status_code == 403
        assert answer.get_json()["error"]["code"] == "forbidden"
        assert "nobody should read this" not in answer.get_data(as_text=True)
        page = guarded.get("/forgotten-page", headers={**headers, "Accept": "text/html"})
        assert page.status_code == 403 and "nobody should read this" not in page.get_data(as_text=True)
        assert "text/html" in page.content_type


def test_anonymous_is_allowed_where_no_role_is_needed(guarded):
    assert guarded.get("/api/guarded/whoami").get_json() == {"name": None, "roles": []}


def test_role_check_401_403_and_admin_passes(guarded, auth_headers):
    assert guarded.post("/api/guarded/plan").status_code == 401
    assert guarded.post("/api/guarded/plan", headers=auth_headers("officer")).status_code == 403
    assert guarded.post("/api/guarded/plan", headers=auth_headers("planner")).status_code == 200
    assert guarded.post("/api/guarded/plan", headers=auth_headers("admin")).status_code == 200


def test_bad_tokens_are_401_without_details(guarded):
    for header in ("Bearer gs_not-a-token", "Basic dXNlcjpwdw==", "Bearer "):
        response = guarded.get("/api/guarded/whoami", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_expired_and_revoked_tokens_are_refused(app, guarded):
    with app.extensions["gisserver.db"].transaction() as session:
        user = create_user(session, "planner1", "correct horse battery", ["planner"])
        _, expired = issue_token(
            session, "old", user=user, expires_in=timedelta(hours=1), now=datetime.now(UTC) - timedelta(hours=2)
        )
        revoked_row, revoked = issue_token(session, "revoked", user=user)
        revoke_token(session, revoked_row.id)
        _, good = issue_token(session, "good", user=user, expires_in=timedelta(days=1))
    for secret in (expired, revoked):
        assert guarded.post("/api/guarded/plan", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert guarded.post("/api/guarded/plan", headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_device_scope_or_staff_role(guarded, auth_headers):
    assert (
        guarded.post("/api/guarded/reading", headers=auth_headers("device", scopes=["readings:write"])).status_code
        == 200
    )
    assert guarded.post("/api/guarded/reading", headers=auth_headers("device", scopes=["camera:C1"])).status_code == 403
    assert guarded.post("/api/guarded/reading", headers=auth_headers("officer")).status_code == 200
    assert guarded.post("/api/guarded/reading", headers=auth_headers("leader")).status_code == 403


def test_password_authentication(db):
    create_user(db, "leader1", "correct horse battery", ["leader"])
    assert authenticate(db, "leader1", "correct horse battery").username == "leader1"
    assert authenticate(db, "leader1", "wrong password!!") is None
    assert authenticate(db, "nobody", "correct horse battery") is None


@pytest.mark.parametrize(
    "username, password, roles",
    [
        ("Bad Name", "correct horse battery", ["planner"]),
        ("ok-name", "short", ["planner"]),
        ("ok-name", "correct horse battery", ["emperor"]),
    ],
)
def test_invalid_users_are_refused(db, username, password, roles):
    from gisserver.core.exceptions import Invalid

    with pytest.raises(Invalid):
        create_user(db, username, password, roles)


def test_cli_users_and_tokens(cli):
    created = cli("users", "create", "planner9", "--role", "planner", "--password", "correct horse battery")
    assert created.exit_code == 0, created.output
    assert cli("users", "create", "planner9", "--role", "planner", "--password", "correct horse battery").exit_code == 1
    listed = cli("users", "list")
    assert "planner9\tplanner" in listed.output

    issued = cli("tokens", "issue", "laptop", "--user", "planner9", "--expires-days", "30")
    assert issued.exit_code == 0, issued.output
    token_id, secret = issued.output.split()[1], issued.output.split()[-1]
    assert secret.startswith("gs_")
    assert secret not in cli("tokens", "list").output

    assert f"{token_id}\tlaptop" in cli("tokens", "list").output
    assert cli("tokens", "revoke", token_id).exit_code == 0
    assert f"{token_id}\tlaptop\t\trevoked" in cli("tokens", "list").output
    assert cli("tokens", "revoke", "999").exit_code == 1
    assert cli("tokens", "issue", "gauge").exit_code == 1  # a device token needs a scope

    # Without a lifetime, a token still ends: a quarter for a person's, a year for a device's.
    today = datetime.now(UTC).date()
    person = cli("tokens", "issue", "tablet", "--user", "planner9")
    assert f"expires {today + timedelta(days=90):%Y-%m-%d}" in person.output
    device = cli("tokens", "issue", "gauge", "--scope", "readings:write")
    assert f"expires {today + timedelta(days=365):%Y-%m-%d}" in device.output
    forever = cli("tokens", "issue", "kiosk", "--scope", "readings:write", "--never-expires")
    assert forever.exit_code == 0 and "never expires" in forever.output
    assert f"{forever.output.split()[1]}\tkiosk\treadings:write\tactive" in cli("tokens", "list").output
    for lifetime in (("--never-expires", "--expires-days", "3"), ("--expires-days", "0")):
        assert cli("tokens", "issue", "x", "--scope", "readings:write", *lifetime).exit_code == 2


def test_cli_grants_by_code_password_and_deactivation(app, cli, db, client):
    from tests.reports.conftest import build_small_city

    build_small_city(db)
    db.commit()
    assert cli("users", "create", "officer7", "--role", "officer", "--password", "correct horse battery").exit_code == 0
    assert cli("users", "grant", "officer7", "--area", "T-W").exit_code == 0
    assert cli("users", "grant", "officer7", "--unit", "T-W-CA").exit_code == 0
    missing = cli("users", "grant", "officer7", "--area", "NOPE")
    assert missing.exit_code == 1 and "no area with code 'NOPE'" in missing.output
    assert "officer7\tofficer\tarea:T-W,unit:T-W-CA" in cli("users", "list").output

    issued = cli("tokens", "issue", "phone", "--user", "officer7").output.split()[-1]
    bearer = {"Authorization": f"Bearer {issued}"}
    assert client.get("/api/reports", headers=bearer).status_code == 200
    assert cli("users", "deactivate", "officer7").exit_code == 0
    assert "officer7\tofficer (inactive)" in cli("users", "list").output
    assert client.get("/api/reports", headers=bearer).status_code == 401  # its tokens die with it
    assert cli("users", "activate", "officer7").exit_code == 0
    assert client.get("/api/reports", headers=bearer).status_code == 200

    assert cli("users", "password", "officer7", "--password", "short").exit_code == 1
    assert cli("users", "password", "officer7", "--password", "another good one").exit_code == 0
    db.expire_all()
    assert authenticate(db, "officer7", "another good one") is not None
    assert cli("users", "revoke-grants", "officer7").exit_code == 0
    assert "officer7\tofficer\n" in cli("users", "list").output
