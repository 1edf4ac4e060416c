"""Intake is rate-limited for every kind of caller across all worker processes, with 429 + Retry-After: anonymous
residents per client and per area, people per person, machine tokens per token (and only with the scope
reports:file), Open311 applications per api_key."""

from __future__ import annotations

import re
import time

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
                "INTAKE_USER_RATE_LIMIT": "5 per minute",
                "INTAKE_TOKEN_RATE_LIMIT": "4 per minute",
                "OPEN311_KEY_RATE_LIMIT": "2 per minute",
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


def test_other_clients_and_people_have_allowances_of_their_own(limited_app, auth_headers):
    client = limited_app[0].test_client()
    for _ in range(3):
        client.post("/api/limit-probe/intake")
    assert client.post("/api/limit-probe/intake").status_code == 429
    other = client.post("/api/limit-probe/intake", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 201
    # A person from the spent address files on their own allowance, higher than an address's, and one person's
    # spent allowance is not another's.
    officer, colleague = auth_headers("officer"), auth_headers("officer")
    for n in range(5):
        assert client.post("/api/limit-probe/intake", headers=officer).status_code == 201, n
    refused = client.post("/api/limit-probe/intake", headers=officer)
    assert refused.status_code == 429 and "5 per 1 minute" in refused.get_json()["error"]["message"]
    assert client.post("/api/limit-probe/intake", headers=colleague).status_code == 201
    # Any Authorization header used to exempt the caller; a made-up one is now a 401, never a way round.
    bogus = client.post("/api/limit-probe/intake", headers={"Authorization": "Bearer gs_made-up"})
    assert bogus.status_code == 401


def test_a_device_files_reports_only_with_the_scope_and_within_its_own_limit(limited_city, auth_headers):
    client = limited_city.test_client()
    body = {"category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần", "lon": EAST_INSIDE[0],
            "lat": EAST_INSIDE[1]}
    open311 = {"service_code": "dien_chieu_sang", "description": "Đèn đường tắt", "long": str(EAST_INSIDE[0]),
               "lat": str(EAST_INSIDE[1])}
    camera = auth_headers("device", scopes=["camera:CAM-0001"])
    for answer in (client.post("/api/reports", json=body, headers=camera),
                   client.post("/open311/v2/requests.json", data=open311, headers=camera),
                   client.post("/r/T-E/committee", data={**open311, "category": "dien_chieu_sang"}, headers=camera)):
        assert answer.status_code == 403 and "reports:file" in answer.get_data(as_text=True)
    kiosk = auth_headers("device", scopes=["reports:file"])
    for n in range(4):  # its own limit, and the per-area limit of anonymous residents does not apply to it
        assert client.post("/api/reports", json=body, headers=kiosk).status_code == 201, n
    assert client.post("/open311/v2/requests.json", data=open311, headers=kiosk).status_code == 429
    assert client.post("/api/reports", json=body).status_code == 201  # anonymous callers still have theirs


def _issue_key(app, name: str, scopes=("open311",)) -> tuple[int, str]:
    from gisserver.accounts.users import issue_token

    with app.extensions["gisserver.db"].transaction() as session:
        token, secret = issue_token(session, name, scopes=scopes)
        return token.id, secret


def test_open311_api_keys_are_checked_limited_per_key_and_named_in_the_history(limited_city, db):
    from sqlalchemy import text

    from gisserver.accounts.users import revoke_token

    client = limited_city.test_client()
    form = {"service_code": "dien_chieu_sang", "description": "Đèn đường tắt", "long": str(EAST_INSIDE[0]),
            "lat": str(EAST_INSIDE[1])}
    key_id, key = _issue_key(limited_city, "hue-s")
    first = client.post("/open311/v2/requests.json", data={**form, "api_key": key})
    assert first.status_code == 201
    code = first.get_json()[0]["service_request_id"]
    actor = db.execute(text("SELECT e.actor FROM report_events e JOIN reports r ON r.id = e.report_id "
                            "WHERE r.tracking_code = :code"), {"code": code}).scalar_one()
    assert actor == "app:hue-s"
    assert client.post("/open311/v2/requests.xml", data={**form, "api_key": key}).status_code == 201
    spent = client.post("/open311/v2/requests.xml", data={**form, "api_key": key})
    assert spent.status_code == 429 and b"<code>429</code>" in spent.data
    # Anonymous Open311 intake from the same address is still open, under the anonymous limits.
    assert client.post("/open311/v2/requests.json", data=form).status_code == 201
    # A made-up key, a revoked one, or a token that is not an Open311 key: 403, as GeoReport v2 says.
    _, camera = _issue_key(limited_city, "cam", scopes=("camera:CAM-1",))
    revoke_token(db, key_id)
    db.commit()
    for bad in ("gs_made-up", key, camera):
        refused = client.post("/open311/v2/requests.json", data={**form, "api_key": bad})
        assert refused.status_code == 403, bad
        assert "api_key" in refused.get_json()[0]["description"]
    # The key is for Open311: as a bearer token on the JSON API it files nothing.
    _, other = _issue_key(limited_city, "other-app")
    assert client.post("/api/reports", json={"category": "dien_chieu_sang", "description": "Đèn đường tắt",
                                              "lon": EAST_INSIDE[0], "lat": EAST_INSIDE[1]},
                       headers={"Authorization": f"Bearer {other}"}).status_code == 403


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
    # (A place in another ward than the QR code's is filed there only once the resident confirms it.)
    assert api(EAST_INSIDE, area="T-W").status_code == 409
    assert api(EAST_INSIDE, area="T-W", ward_choice="place").status_code == 201
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
    for n in range(5):  # the officer's own limit is 5 per minute; the area's (4 per hour) does not apply
        body = {"category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần", "lon": EAST_INSIDE[0],
                "lat": EAST_INSIDE[1], "channel": "phone"}
        assert client.post("/api/reports", json=body, headers=officer).status_code == 201, n


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


def test_one_statement_charges_and_tells_the_window(limited_app):
    """The charge returns the caller's window: the X-RateLimit headers cost no second statement (they used to cost
    two more, after the view, where a failing database could turn a stored 201 into a 500)."""
    from sqlalchemy import event

    app = limited_app[0]
    client = app.test_client()
    seen = []
    engine = app.extensions["gisserver.db"].engine
    listen = lambda *args: seen.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        first = client.post("/api/limit-probe/intake")
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert first.status_code == 201
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("3", "2")
    assert 0 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 60
    assert [" ".join(q.split())[:23] for q in seen] == ["INSERT INTO rate_limits"]
