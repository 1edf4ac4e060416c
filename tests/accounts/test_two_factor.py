"""Two-factor sign-in (TOTP, RFC 6238): enrolment with a QR code, a code taken once, single-use hashed recovery
codes, the policy per role, the account page; API tokens are unaffected."""

from __future__ import annotations

import hashlib
import re

import pyotp
from sqlalchemy import text

from gisserver.accounts.users import create_user, issue_token
from tests.signing import csrf_of, next_code, sign_in

PASSWORD = "correct horse battery"


def password_step(client, username: str):
    token = csrf_of(client.get("/login").data)
    return client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def code_step(client, code: str):
    page = client.get("/login/code")
    return client.post("/login/code", data={"code": code, "csrf_token": csrf_of(page.data)})


def sign_out(client):
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/account/password").data)})


def signed_in_as(client) -> str | None:
    match = re.search(r'<a href="/account">([^<]+)</a>', client.get("/").get_data(as_text=True))
    return match.group(1) if match else None


def test_a_planner_enrols_at_first_sign_in_and_each_code_works_once(client, db):
    user = create_user(db, "planner1", PASSWORD, ["planner"])
    _, token = issue_token(db, "laptop", user=user)
    db.commit()
    first = password_step(client, "planner1")
    assert first.status_code == 302 and first.headers["Location"] == "/login/code"
    assert signed_in_as(client) is None  # the password alone signs nobody in
    page = client.get("/login/code").get_data(as_text=True)
    assert '<img class="qr" src="data:image/svg+xml' in page
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page).group(1)
    assert code_step(client, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111").status_code == 401
    code = next_code(secret)
    done = code_step(client, code)
    assert done.status_code == 200
    recovery = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", done.get_data(as_text=True))
    assert len(recovery) == 10 and signed_in_as(client) == "planner1"

    # The same code again, in a new sign-in: refused (RFC 6238 5.2); the next one works.
    sign_out(client)
    assert password_step(client, "planner1").headers["Location"] == "/login/code"
    assert code_step(client, code).status_code == 401
    assert code_step(client, next_code(secret)).status_code == 302 and signed_in_as(client) == "planner1"

    # A recovery code signs in once; stored only as its SHA-256.
    sign_out(client)
    password_step(client, "planner1")
    assert code_step(client, recovery[3].upper()).status_code == 302
    sign_out(client)
    password_step(client, "planner1")
    assert code_step(client, recovery[3]).status_code == 401
    stored = db.execute(text("SELECT code_hash, used_at IS NOT NULL FROM user_recovery_codes")).all()
    plain = hashlib.sha256(recovery[3].replace("-", "").upper().encode()).hexdigest()
    assert (plain, True) in stored and not any(recovery[0] in h for h, _u in stored)
    # Neither the secret nor the codes reach the audit log.
    logged = db.execute(text("SELECT string_agg(changes::text, ' ') FROM audit_log")).scalar_one()
    assert secret not in logged and "<redacted>" in logged

    # API tokens are not sign-ins: the planner's token works without a code.
    answer = client.get("/api/layers", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


def test_the_policy_per_role(client, db, cli):
    create_user(db, "officer1", PASSWORD, ["officer"])
    db.commit()
    assert "admin, planner" in cli("users", "require-2fa").output
    assert sign_in(client, "officer1")[0].headers["Location"] == "/"  # optional for officers: no code
    sign_out(client)
    assert "admin, officer, planner" in cli("users", "require-2fa", "officer").output
    assert password_step(client, "officer1").headers["Location"] == "/login/code"
    response, secret = sign_in(client, "officer1")
    assert response.status_code == 200 and secret and signed_in_as(client) == "officer1"
    assert "(2fa)" in cli("users", "list").output
    # An admin resets a lost phone: the officer's browsers are signed out and the next sign-in enrols again.
    assert cli("users", "reset-2fa", "officer1").exit_code == 0
    assert signed_in_as(client) is None
    assert "admin, planner" in cli("users", "require-2fa", "officer", "--off").output
    assert sign_in(client, "officer1")[0].headers["Location"] == "/"
    assert cli("users", "require-2fa", "mayor").exit_code != 0


def test_optional_set_up_on_the_account_page(client, db):
    create_user(db, "leader1", PASSWORD, ["leader"])
    db.commit()
    sign_in(client, "leader1")
    page = client.get("/account")
    assert page.status_code == 200 and 'value="start"' in page.get_data(as_text=True)

    def post(**form):
        token = csrf_of(client.get("/account").data)
        return client.post("/account/two-factor", data={"csrf_token": token, **form})

    setup = post(action="start").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', setup).group(1)
    assert 'src="data:image/svg+xml' in setup
    assert post(action="confirm", code="12345x").status_code == 400
    on = post(action="confirm", code=next_code(secret))
    recovery = re.findall(r"<li><code>([a-z2-7-]{19})</code></li>", on.get_data(as_text=True))
    assert on.status_code == 200 and len(recovery) == 10
    sign_out(client)
    assert password_step(client, "leader1").headers["Location"] == "/login/code"
    assert code_step(client, next_code(secret)).status_code == 302
    fresh = post(action="new-codes", code=recovery[0])  # a recovery code proves it as well as the app's code
    assert fresh.status_code == 200 and "<li><code>" in fresh.get_data(as_text=True)
    assert post(action="turn-off", code="999999").status_code == 400
    # A leader may turn it off again (not required of the role) ...
    assert post(action="turn-off", code=next_code(secret)).status_code == 200
    sign_out(client)
    assert sign_in(client, "leader1")[0].headers["Location"] == "/"


def test_a_required_role_cannot_turn_it_off(client, db):
    create_user(db, "admin1", PASSWORD, ["admin"])
    db.commit()
    _, secret = sign_in(client, "admin1")
    token = csrf_of(client.get("/account").data)
    refused = client.post("/account/two-factor", data={"csrf_token": token, "action": "turn-off",
                                                       "code": next_code(secret)}, headers={"Accept": "text/html"})
    assert refused.status_code == 409
    assert db.execute(text("SELECT totp_enabled_at IS NOT NULL FROM users WHERE username = 'admin1'")).scalar_one()


def test_too_many_wrong_codes_send_back_to_the_password(client, db):
    create_user(db, "planner2", PASSWORD, ["planner"])
    db.commit()
    _, secret = sign_in(client, "planner2")
    sign_out(client)
    password_step(client, "planner2")
    for _ in range(4):
        assert code_step(client, "000001").status_code == 401
    last = code_step(client, "000002")
    assert last.status_code == 401 and b'name="password"' in last.data
    assert client.get("/login/code").headers["Location"] == "/login"
    failures = db.execute(text("SELECT count(*) FROM sign_in_failures WHERE step = 'code'")).scalar_one()
    assert failures == 5
