"""Sign in with CSRF protection, password change, and the language choice that sticks."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from gisserver.accounts.users import create_user

ROOT = Path(__file__).resolve().parents[2]


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


@pytest.fixture
def officer(db):
    create_user(db, "officer1", "correct horse battery", ["officer"])
    db.commit()


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    assert "Đăng nhập".encode() in client.get("/").data
    switched = client.get("/lang/en?next=/login")
    assert switched.status_code == 302 and switched.headers["Location"] == "/login"
    assert b"Sign in" in client.get("/").data  # the cookie keeps the choice


def test_language_redirect_never_leaves_the_site(client):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.get("/lang/en", query_string={"next": target})
        assert response.headers["Location"] == "/"


def test_login_requires_csrf_token(client, officer):
    response = client.post(
        "/login", data={"username": "officer1", "password": "correct horse battery"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 400
    assert b"CSRF" in response.data


def test_login_logout_cycle(client, officer):
    token = _csrf(client.get("/login").data)
    wrong = client.post("/login", data={"username": "officer1", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401 and "Sai tên đăng nhập".encode() in wrong.data

    ok = client.post(
        "/login", data={"username": "officer1", "password": "correct horse battery", "csrf_token": token, "next": "/"}
    )
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    page = client.get("/").data
    assert b"officer1" in page

    # A signed-in session must send the CSRF token with every state-changing request.
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", data={"csrf_token": _csrf(page)}).status_code == 302
    assert b"officer1" not in client.get("/").data


def test_session_cookie_flags(client, officer):
    token = _csrf(client.get("/login").data)
    response = client.post(
        "/login", data={"username": "officer1", "password": "correct horse battery", "csrf_token": token}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_change_password(client, officer):
    token = _csrf(client.get("/login").data)
    client.post("/login", data={"username": "officer1", "password": "correct horse battery", "csrf_token": token})
    form = client.get("/account/password")
    assert form.status_code == 200
    token = _csrf(form.data)
    bad = client.post(
        "/account/password",
        data={
            "current_password": "wrong one!!",
            "new_password": "a new secret 1",
            "new_password_again": "a new secret 1",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 400
    good = client.post(
        "/account/password",
        data={
            "current_password": "correct horse battery",
            "new_password": "a new secret 1",
            "new_password_again": "a new secret 1",
            "csrf_token": token,
        },
    )
    assert good.status_code == 200 and "đã được đổi".encode() in good.data


def test_password_page_needs_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_every_user_facing_string_has_a_vietnamese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "extract",
            "-F",
            "babel.cfg",
            "-o",
            str(pot),
            "gisserver",
            "layers",
            "planning",
            "reports",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wanted = {m.id for m in read_po(pot.open("rb")) if m.id}
    vi = read_po((ROOT / "gisserver/translations/vi/LC_MESSAGES/messages.po").open("rb"))
    translated = {m.id for m in vi if m.id and m.string}
    assert not wanted - translated, f"untranslated: {sorted(wanted - translated)}"
    mo = ROOT / "gisserver/translations/vi/LC_MESSAGES/messages.mo"
    assert mo.stat().st_mtime >= (ROOT / "gisserver/translations/vi/LC_MESSAGES/messages.po").stat().st_mtime - 1
