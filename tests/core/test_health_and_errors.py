"""The HTTP surface every feature shares: health, error bodies, request ids, strict JSON."""

from __future__ import annotations

import pytest
from flask import Blueprint

from gisserver.core.access import open_to
from gisserver.core.exceptions import Conflict, NotFound
from gisserver.core.http import finite_float, json_body


def test_health_reports_database_and_postgis_versions(client):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["postgresql"].startswith("15")
    assert body["database"]["postgis"].startswith("3.")
    assert response.headers["Cache-Control"] == "no-store"


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    error = response.get_json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["details"]["request_id"] == response.headers["X-Request-ID"]


def test_unknown_page_is_readable_html_for_browsers(client):
    response = client.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"404" in response.data and b"Traceback" not in response.data


def test_wrong_method_is_405_with_allow_header(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_client_request_id_is_echoed_and_bad_ones_replaced(client):
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/health", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]
    assert replaced and replaced != "bad id; drop"


@pytest.fixture
def probe_client(app):
    """The app with a probe blueprint whose views exercise the shared request helpers."""
    bp = Blueprint("probe", __name__, url_prefix="/api/probe")

    @bp.post("/echo")
    @open_to("everyone; a probe of the tests")
    def echo():
        body = json_body()
        return {"lon": finite_float(body.get("lon"), "lon")}

    @bp.get("/missing")
    @open_to("everyone; a probe of the tests")
    def missing():
        raise NotFound("report 12 does not exist", {"id": 12})

    @bp.get("/conflict")
    @open_to("everyone; a probe of the tests")
    def conflict():
        raise Conflict("already resolved")

    @bp.get("/boom")
    @open_to("everyone; a probe of the tests")
    def boom():
        raise RuntimeError("secret internal detail")

    app.register_blueprint(bp)
    return app.test_client()


@pytest.mark.parametrize(
    "body, code",
    [
        (b'{"lon": NaN}', "invalid_json"),
        (b'{"lon": Infinity}', "invalid_json"),
        (b'{"lon": ', "invalid_json"),
        (b"[" * 5000 + b"]" * 5000, "invalid_json"),
        (b'{"lon": "east"}', "invalid"),
        (b'{"lon": 1e400}', "invalid"),
    ],
)
def test_malformed_json_gets_400_with_reason(probe_client, body, code):
    response = probe_client.post("/api/probe/echo", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code


def test_json_body_requires_json_media_type(probe_client):
    response = probe_client.post("/api/probe/echo", data="lon=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_valid_json_passes(probe_client):
    response = probe_client.post("/api/probe/echo", json={"lon": 107.58})
    assert response.status_code == 200 and response.get_json() == {"lon": 107.58}


def test_domain_errors_map_to_status_and_details(probe_client):
    missing = probe_client.get("/api/probe/missing")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["details"]["id"] == 12
    assert probe_client.get("/api/probe/conflict").status_code == 409


def test_unexpected_error_is_500_without_internals(probe_client):
    response = probe_client.get("/api/probe/boom")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "internal_error"
    assert b"secret internal detail" not in response.data and b"Traceback" not in response.data


def test_oversize_body_is_413(app, probe_client):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = probe_client.post(
        "/api/probe/echo", data=b'{"lon": "' + b"x" * 4096 + b'"}', content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"
