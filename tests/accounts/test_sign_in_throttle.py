"""Failed sign-ins slow the one who fails (per account and address, per address, per account from many addresses),
with growing delays instead of a lock; a colleague behind the same address, the owner's own browser and the
right password from elsewhere are never refused for someone else's failures. The owner is told; all is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gisserver.accounts.users import create_user
from gisserver.app import create_app
from tests.conftest import LENIENT_LIMITS
from tests.signing import csrf_of, sign_in

OFFICE = {"REMOTE_ADDR": "10.20.0.1"}  # a ward office's one public address (NAT)


@pytest.fixture
def strict_app(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path, "TESTING": True, **LENIENT_LIMITS,
                      "LOGIN_FAILURES_ACCOUNT_ADDRESS": 3, "LOGIN_FAILURES_ADDRESS": 5, "LOGIN_FAILURES_ACCOUNT": 4,
                      "LOGIN_NOTICE_AFTER": 3})
    yield app
    app.extensions["gisserver.db"].dispose()


@pytest.fixture
def officers(strict_app):
    with strict_app.extensions["gisserver.db"].transaction() as session:
        for name in ("officer-a", "officer-b", "officer-c"):
            create_user(session, name, "correct horse battery", ["officer"])


def attempt(client, username: str, password: str, environ: dict):
    token = csrf_of(client.get("/login", environ_base=environ).data)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


def rewind(db, seconds: int) -> None:
    """Let time pass for the throttle: every failure happened *seconds* earlier."""
    db.execute(text("UPDATE sign_in_failures SET at = at - make_interval(secs => :s)"), {"s": seconds})
    db.commit()


def test_one_address_failing_slows_the_attacker_never_a_colleague(strict_app, officers, db):
    # Two colleagues have signed in from their own browsers at the office before.
    own_a, own_b = strict_app.test_client(), strict_app.test_client()
    assert sign_in(own_a, "officer-a", environ_base=OFFICE)[0].status_code == 302
    assert sign_in(own_b, "officer-b", environ_base=OFFICE)[0].status_code == 302
    attacker = strict_app.test_client()
    for _ in range(3):
        assert attempt(attacker, "officer-a", "guess-guess-1", OFFICE).status_code == 401
    slowed = attempt(attacker, "officer-a", "correct horse battery", OFFICE)  # even the right one must wait
    assert slowed.status_code == 429 and int(slowed.headers["Retry-After"]) >= 1
    assert b"Try again in" in slowed.data or "Thử lại sau".encode() in slowed.data
    # The delay grows with every failure after it has passed: 1 s, then 2 s, then 4 s ...
    waits = []
    for _ in range(3):
        rewind(db, 3600)
        assert attempt(attacker, "officer-a", "guess-guess-2", OFFICE).status_code == 401
        waits.append(int(attempt(attacker, "officer-a", "guess-guess-3", OFFICE).headers["Retry-After"]))
    assert waits == sorted(waits) and waits[-1] >= 4 * waits[0], waits
    # Spraying other accounts from the office: the address as a whole is slowed for browsers nobody signed in with.
    rewind(db, 3600)
    assert attempt(attacker, "officer-c", "guess-guess-4", OFFICE).status_code in (401, 429)
    assert attempt(attacker, "officer-b", "guess-guess-5", OFFICE).status_code == 429
    # ... but the colleagues at the same address sign in with their own browsers, the victim included.
    for client, name in ((own_b, "officer-b"), (own_a, "officer-a")):
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/account/password").data)},
                    environ_base=OFFICE)
        assert attempt(client, name, "correct horse battery", OFFICE).status_code == 302, name
    # And the victim's right password from another address is not refused for the attacker's failures.
    elsewhere = strict_app.test_client()
    assert attempt(elsewhere, "officer-a", "correct horse battery", {"REMOTE_ADDR": "10.99.0.5"}).status_code == 302
    # Every failure is in the audit log; the victim was told, and sees it once signed in.
    audited = db.execute(text("SELECT count(*) FROM audit_log WHERE action = 'sign_in_failed'")).scalar_one()
    failures = db.execute(text("SELECT count(*) FROM sign_in_failures")).scalar_one()
    assert audited >= 7 and failures >= 5
    notice = db.execute(text("SELECT n.details FROM account_notices n JOIN users u ON u.id = n.user_id "
                             "WHERE u.username = 'officer-a'")).scalar_one()
    assert notice["failures"] >= 3 and notice["addresses"] == ["10.20.0.1"]
    page = elsewhere.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="account-alert"' in page
    account = elsewhere.get("/account").get_data(as_text=True)
    assert "10.20.0.1" in account
    assert 'class="account-alert"' not in elsewhere.get("/").get_data(as_text=True)  # read now


def test_guessing_one_account_from_many_addresses_slows_only_browsers_it_does_not_know(strict_app, officers, db):
    owner = strict_app.test_client()
    assert sign_in(owner, "officer-a", environ_base={"REMOTE_ADDR": "10.30.0.1"})[0].status_code == 302
    for n in range(4):  # one try from each of four machines: no address reaches its own limit
        bot = strict_app.test_client()
        assert attempt(bot, "officer-a", "guess-guess-6", {"REMOTE_ADDR": f"10.40.0.{n}"}).status_code == 401
    stranger = strict_app.test_client()
    refused = attempt(stranger, "officer-a", "guess-guess-7", {"REMOTE_ADDR": "10.40.0.9"})
    assert refused.status_code == 429
    owner.post("/logout", data={"csrf_token": csrf_of(owner.get("/account/password").data)},
               environ_base={"REMOTE_ADDR": "10.30.0.1"})
    assert attempt(owner, "officer-a", "correct horse battery", {"REMOTE_ADDR": "10.50.0.1"}).status_code == 302
    # A single machine failing cannot trigger the account-wide count: another account from it is unaffected.
    assert attempt(strict_app.test_client(), "officer-b", "correct horse battery",
                   {"REMOTE_ADDR": "10.40.0.1"}).status_code == 302


def test_empty_fields_are_not_counted(strict_app, officers, db):
    client = strict_app.test_client()
    for _ in range(5):
        assert attempt(client, "officer-a", "", OFFICE).status_code == 400
    assert db.execute(text("SELECT count(*) FROM sign_in_failures")).scalar_one() == 0
