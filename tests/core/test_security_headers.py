"""Security headers on every kind of answer, the per-response nonce on the map pages' inline code, the
Permissions-Policy the report form widens, HSTS over HTTPS only, and the CSP report endpoint."""

from __future__ import annotations

import logging
import re

from gisserver.app import create_app
from tests.reports.conftest import build_small_city
from tests.security_checks import header_problems, page_problems


def _nonce(response) -> str:
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)


def test_every_kind_of_answer_carries_the_headers(client):
    for path in ("/", "/login", "/api/openapi.json", "/static/css/app.css", "/no-such-page", "/api/no-such"):
        response = client.get(path)
        assert header_problems(response) == [], (path, header_problems(response))
    page = client.get("/login")
    assert "Strict-Transport-Security" not in page.headers  # plain HTTP: a header browsers would ignore anyway
    assert "geolocation=()" in page.headers["Permissions-Policy"]


def test_map_pages_get_a_fresh_nonce_on_every_inline_tag(app, client, db):
    build_small_city(db)
    db.commit()
    first, second = client.get("/r/T-W/committee"), client.get("/r/T-W/committee")
    assert first.status_code == 200 and _nonce(first) != _nonce(second)
    html = first.get_data(as_text=True)
    assert html.count(f'nonce="{_nonce(first)}"') >= 3  # Folium's header script and styles, the map's script
    assert page_problems(first) == []
    # The report form may ask for the phone's location; no other page may.
    assert "geolocation=(self)" in first.headers["Permissions-Policy"]
    assert "geolocation=(self)" in client.get("/r").headers["Permissions-Policy"]
    assert "geolocation=()" in client.get("/maps/layers").headers["Permissions-Policy"]


def test_page_checker_catches_inline_code_without_the_nonce(client):
    response = client.get("/login")
    nonce = _nonce(response)
    for bad in ("<script>alert(1)</script>", '<script nonce="guess">x()</script>', "<style>p{}</style>",
                '<a href="#" onclick="x()">', '<a href="javascript:x()">'):
        response.set_data(f"<html><body>{bad}</body></html>")
        assert page_problems(response), bad
    response.set_data(f'<script nonce="{nonce}">ok()</script><script type="application/json">{{}}</script>')
    assert page_problems(response) == []


def test_hsts_over_https_and_the_base_map_origin_in_img_src(database_url, tmp_path):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path, "TESTING": True,
                      "BASEMAP_URL": "https://{s}.tiles.example.org/{z}/{x}/{y}.png"})
    try:
        response = app.test_client().get("/login", base_url="https://gis.example.org")
        assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "img-src 'self' data: blob: https://*.tiles.example.org;" in response.headers[
            "Content-Security-Policy"]
    finally:
        app.extensions["gisserver.db"].dispose()


CHROMIUM_REPORT = {"csp-report": {
    "document-uri": "http://127.0.0.1:5000/maps/layers", "referrer": "", "violated-directive": "script-src-elem",
    "effective-directive": "script-src-elem", "original-policy": "script-src 'self' 'nonce-x'",
    "disposition": "enforce", "blocked-uri": "inline", "line-number": 3, "status-code": 200, "script-sample": ""}}


def test_violation_reports_are_logged_even_from_a_signed_in_browser(client, db, caplog):
    from gisserver.accounts.users import create_user

    create_user(db, "officer1", "correct horse battery", ["officer"])
    db.commit()
    token = re.search(rb'name="csrf_token" value="([^"]+)"', client.get("/login").data).group(1).decode()
    signed_in = client.post("/login", data={"username": "officer1", "password": "correct horse battery",
                                            "csrf_token": token})
    assert signed_in.status_code == 302
    with caplog.at_level(logging.WARNING, logger="gisserver.csp"):
        answer = client.post("/csp-report", json=CHROMIUM_REPORT, headers={"Content-Type": "application/csp-report"})
        reporting_api = client.post("/csp-report", json=[{"type": "csp-violation", "body": {
            "documentURL": "http://127.0.0.1/r", "effectiveDirective": "style-src-elem", "blockedURL": "inline"}}],
            headers={"Content-Type": "application/reports+json"})
        junk = client.post("/csp-report", data=b"\xff not json", content_type="application/csp-report")
    assert answer.status_code == reporting_api.status_code == 204
    assert junk.status_code == 400  # like every route: a body that is not UTF-8 is refused, saying so
    lines = [r.getMessage() for r in caplog.records if r.name == "gisserver.csp"]
    assert len(lines) == 2
    assert "script-src-elem blocked inline on http://127.0.0.1:5000/maps/layers" in lines[0]
    assert "style-src-elem" in lines[1]
