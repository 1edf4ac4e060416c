"""Anonymous intake is rate-limited per client and per area across all worker processes, with 429 + Retry-After;
failed sign-ins are limited per client."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint

from gisserver.app import create_app
from gisserver.core.access import open_to
from reports.intake.limits import per_client_intake
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE, build_small_city

# Defined once, like a feature blueprint: limits attach to the view when it is decorated.
probe = Blueprint("limit_probe", __name__, url_prefix="/api/limit-probe")


@probe.post("/intake")
@per_client_intake
@open_to("everyone; a probe of the tests")
def intake():
    return {"ok": True}, 201


@pytest.fixture
def limited_app(database_url, tmp_path):
    def make():
        app = create_app(
            {
                "DATABASE_URL": database_url,
                "DATA_DIR": tmp_path,
                "TESTING": True,
                "INTAKE_RATE_LIMIT": "3 per minute",
                "INTAKE_AREA_RATE_LIMIT": "4 per hour",
                "LOGIN_RATE_LIMIT": "3 per minute",
            }
        )
        app.register_blueprint(probe)
        return app

    apps = [make(), make()]
    yield apps
    for app in apps:
        app.extensions["gisserver.db"].dispose()


@pytest.fixture
def limited_city(limited_app):
    session = limited_app[0].extensions["gisserver.db"].session()
    build_small_city(session)
    session.commit()
    session.close()
    return limited_app[0]


def test_limit_is_shared_by_two_worker_apps(limited_app):
    first, second = (app.test_client() for app in limited_app)
    assert first.post("/api/limit-probe/intake").status_code == 201
    assert second.post("/api/limit-probe/intake").status_code == 201
    assert first.post("/api/limit-probe/intake").status_code == 201
    refused = second.post("/api/limit-probe/intake")
    assert refused.status_code == 429
    body = refused.get_json()["error"]
    assert body["code"] == "rate_limited" and "3 per 1 minute" in body["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_other_clients_and_signed_in_callers_are_not_limited(limited_app, auth_headers):
    client = limited_app[0].test_client()
    for _ in range(3):
        client.post("/api/limit-probe/intake")
    assert client.post("/api/limit-probe/intake").status_code == 429
    other = client.post("/api/limit-probe/intake", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 201
    assert client.post("/api/limit-probe/intake", headers=auth_headers("officer")).status_code == 201
    # Any Authorization header used to exempt the caller; a made-up one is now a 401, never a way round.
    bogus = client.post("/api/limit-probe/intake", headers={"Authorization": "Bearer gs_made-up"})
    assert bogus.status_code == 401


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def test_per_area_limit_counts_every_channel_by_where_the_report_lands(limited_city):
    client = limited_city.test_client()
    east = {"category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần"}
    addresses = iter(f"10.0.1.{n}" for n in range(1, 100))

    def api(where, **extra):
        body = dict(east, lon=where[0], lat=where[1], **extra)
        return client.post("/api/reports", json=body, environ_base={"REMOTE_ADDR": next(addresses)})

    def open311(where):
        form = {"service_code": "dien_chieu_sang", "description": "Đèn đường tắt", "long": str(where[0]),
                "lat": str(where[1])}
        return client.post("/open311/v2/requests.json", data=form, environ_base={"REMOTE_ADDR": next(addresses)})

    def qr_form(ward, where):
        addr = {"REMOTE_ADDR": next(addresses)}
        token = _csrf(client.get(f"/r/{ward}/committee", environ_base=addr).data)
        form = {"csrf_token": token, "category": "dien_chieu_sang", "description": "Đèn đường tắt",
                "lon": str(where[0]), "lat": str(where[1])}
        return client.post(f"/r/{ward}/committee", data=form, environ_base=addr)

    # The ward comes from the location: giving no "area" (or a wrong one) no longer escapes the limit.
    assert api(EAST_INSIDE).status_code == 201
    assert api(EAST_INSIDE, area="T-W").status_code == 201
    assert open311(EAST_INSIDE).status_code == 201
    assert qr_form("T-E", EAST_INSIDE).status_code == 302
    for refused in (api(EAST_INSIDE), open311(EAST_INSIDE), qr_form("T-E", EAST_INSIDE)):
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "T-E" not in api(EAST_INSIDE).get_data(as_text=True)  # the answer names no area or report
    assert api(WEST_INSIDE).status_code == 201  # another ward has its own allowance


def test_per_area_limit_spares_staff(limited_city, auth_headers):
    client = limited_city.test_client()
    officer = auth_headers("officer")
    for n in range(6):
        body = {"category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần", "lon": EAST_INSIDE[0],
                "lat": EAST_INSIDE[1], "channel": "phone"}
        assert client.post("/api/reports", json=body, headers=officer).status_code == 201, n


def test_failed_sign_ins_are_limited_per_client(limited_app, db):
    from gisserver.accounts.users import create_user

    create_user(db, "planner1", "correct horse battery", ["planner"])
    db.commit()
    client = limited_app[0].test_client()
    token = _csrf(client.get("/login").data)
    for _ in range(3):
        assert client.post("/login", data={"username": "planner1", "password": "wrong!", "csrf_token": token}
                           ).status_code == 401
    blocked = client.post("/login", data={"username": "planner1", "password": "correct horse battery",
                                          "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    other = limited_app[1].test_client()  # another worker, another address: not locked out
    token = _csrf(other.get("/login", environ_base={"REMOTE_ADDR": "10.0.0.7"}).data)
    ok = other.post("/login", data={"username": "planner1", "password": "correct horse battery", "csrf_token": token},
                    environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert ok.status_code == 302


def test_one_allowance_per_client_across_channels(limited_city):
    client = limited_city.test_client()
    body = {"category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần", "lon": EAST_INSIDE[0],
            "lat": EAST_INSIDE[1]}
    for _ in range(3):
        assert client.post("/api/reports", json=body).status_code == 201
    # Another channel from the same address draws on the same allowance; Open311 answers in its own format.
    refused = client.post("/open311/v2/requests.xml", data={"service_code": "dien_chieu_sang", "description": "x" * 9,
                                                            "lat": str(EAST_INSIDE[1]), "long": str(EAST_INSIDE[0])})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert b"<errors><error><code>429</code>" in refused.data


def test_counter_storage_failing_after_the_view_keeps_its_answer(limited_app, monkeypatch):
    """The database failing while the limiter writes its headers must not turn a stored 201 into a 500."""
    from sqlalchemy.exc import OperationalError

    from gisserver.core.ratelimit import PostgresStorage

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    client = limited_app[0].test_client()
    monkeypatch.setattr(PostgresStorage, "get_expiry", down)
    assert client.post("/api/limit-probe/intake").status_code == 201
