"""Anonymous intake is rate-limited per client across all worker processes, with 429 + Retry-After."""

from __future__ import annotations

import pytest
from flask import Blueprint, request

from gisserver.app import create_app
from gisserver.ratelimit import per_area_intake, per_client_intake

# Defined once, like a feature blueprint: limits attach to the view when it is decorated.
probe = Blueprint("limit_probe", __name__, url_prefix="/api/limit-probe")


@probe.post("/intake")
@per_client_intake
def intake():
    return {"ok": True}, 201


@probe.post("/ward")
@per_area_intake(lambda: request.args.get("area"))
def ward_intake():
    return {"ok": True}, 201


def _probe(app):
    app.register_blueprint(probe)
    return app


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
            }
        )
        return _probe(app)

    apps = [make(), make()]
    yield apps
    for app in apps:
        app.extensions["gisserver.db"].dispose()


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


def test_other_clients_and_token_holders_are_not_limited(limited_app, auth_headers):
    client = limited_app[0].test_client()
    for _ in range(3):
        client.post("/api/limit-probe/intake")
    assert client.post("/api/limit-probe/intake").status_code == 429
    other = client.post("/api/limit-probe/intake", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 201
    assert client.post("/api/limit-probe/intake", headers=auth_headers("officer")).status_code == 201


def test_per_area_limit(limited_app):
    client = limited_app[0].test_client()
    for n in range(4):
        addr = {"REMOTE_ADDR": f"10.0.1.{n}"}
        assert client.post("/api/limit-probe/ward?area=HUE-01", environ_base=addr).status_code == 201
    assert client.post("/api/limit-probe/ward?area=HUE-01", environ_base={"REMOTE_ADDR": "10.0.2.1"}).status_code == 429
    assert client.post("/api/limit-probe/ward?area=HUE-02", environ_base={"REMOTE_ADDR": "10.0.2.1"}).status_code == 201


def test_counter_storage_failing_after_the_view_keeps_its_answer(limited_app, monkeypatch):
    """The database failing while the limiter writes its headers must not turn a stored 201 into a 500."""
    from sqlalchemy.exc import OperationalError

    from gisserver.ratelimit import PostgresStorage

    def down(*_args, **_kwargs):
        raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    client = limited_app[0].test_client()
    monkeypatch.setattr(PostgresStorage, "get_expiry", down)
    assert client.post("/api/limit-probe/intake").status_code == 201
