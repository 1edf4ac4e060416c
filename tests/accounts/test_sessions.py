"""Passwords, tokens and browser sessions: how they are stored, and that ending one really ends it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from werkzeug.security import generate_password_hash

from gisserver.accounts.models import ApiToken, User, UserSession
from gisserver.accounts.users import create_user, issue_token

PASSWORD = "correct horse battery"


@pytest.fixture
def officer(db):
    user = create_user(db, "officer1", PASSWORD, ["officer"])
    db.commit()
    return user


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def sign_in(client, username="officer1", password=PASSWORD, **kwargs):
    token = _csrf(client.get("/login", **kwargs).data)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}, **kwargs)


def signed_in(client) -> bool:
    return client.get("/api/reports").status_code != 401


def test_passwords_are_hashed_with_scrypt(db, officer):
    stored = db.scalar(select(User.password_hash).where(User.username == "officer1"))
    assert stored.startswith("scrypt:") and PASSWORD not in stored


def test_an_older_hash_is_upgraded_at_sign_in(client, db, officer):
    db.execute(update(User).where(User.id == officer.id).values(
        password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:600000")))
    db.commit()
    assert sign_in(client).status_code == 302
    db.expire_all()
    assert db.get(User, officer.id).password_hash.startswith("scrypt:")


def test_tokens_are_stored_hashed_and_using_one_is_not_an_audited_write(app, client, db, officer):
    row, secret = issue_token(db, "laptop", user=officer, expires_in=timedelta(days=1))
    db.commit()
    stored = db.execute(text("SELECT token_hash FROM api_tokens WHERE id = :i"), {"i": row.id}).scalar()
    assert secret not in stored and len(stored) == 64
    assert db.execute(text("SELECT count(*) FROM api_tokens WHERE token_hash LIKE 'gs_%'")).scalar() == 0
    before = db.execute(text("SELECT count(*) FROM audit_log")).scalar()
    for _ in range(3):
        assert client.get("/api/reports", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    db.expire_all()
    assert db.get(ApiToken, row.id).last_used_at is not None
    assert db.execute(text("SELECT count(*) FROM audit_log")).scalar() == before


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(app, officer):
    plain = sign_in(app.test_client())
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    tls = app.test_client()
    # Over HTTPS, Flask-WTF also wants a same-site Referer, as browsers send it.
    response = sign_in(tls, base_url="https://localhost", headers={"Referer": "https://localhost/login"})
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    app.config["SESSION_COOKIE_SECURE"] = True  # GISSERVER_SECURE_COOKIES: even behind a proxy that hides TLS
    assert "Secure" in sign_in(app.test_client()).headers["Set-Cookie"]


def test_signing_in_issues_a_new_session_and_the_server_knows_it(client, db, officer):
    client.get("/login")
    before = client.get_cookie("session").value
    assert sign_in(client).status_code == 302
    assert client.get_cookie("session").value != before
    assert signed_in(client)
    row = db.scalar(select(UserSession).where(UserSession.user_id == officer.id))
    assert row.ended_at is None and row.expires_at > datetime.now(UTC) + timedelta(hours=11)
    assert len(row.secret_hash) == 64


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app, client, officer):
    sign_in(client)
    stolen = client.get_cookie("session").value
    page = client.get("/").data
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page).group(1).decode()
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/api/reports").status_code == 401
    assert thief.get("/maps/reports").status_code == 302  # to the login page


def test_a_password_change_signs_out_the_other_browsers(app, client, db, officer):
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    form = client.get("/account/password").data
    changed = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "a new secret 1", "new_password_again": "a new secret 1",
        "csrf_token": _csrf(form)})
    assert changed.status_code == 200
    assert signed_in(client) and not signed_in(other)
    assert sign_in(app.test_client()).status_code == 401  # the old password is gone
    assert sign_in(app.test_client(), password="a new secret 1").status_code == 302


def test_expired_sessions_and_deactivated_users_are_anonymous(client, db, officer):
    sign_in(client)
    db.execute(update(UserSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    db.commit()
    assert not signed_in(client)
    sign_in(client)
    assert signed_in(client)
    db.execute(update(User).where(User.id == officer.id).values(active=False))
    db.commit()
    assert not signed_in(client)
