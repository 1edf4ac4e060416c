"""Bad input at every public route: a clear 4xx, never a 500, the server keeps answering, nothing stored.

ROUTES lists every route of the app with a valid path to attack it through; a route added to the
app without being listed here (or in NOT_ATTACKED, with the reason) fails
test_every_route_is_attacked_or_consciously_listed. Each test collects every finding before
failing, so that one run shows them all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Request
from shapely.geometry import Polygon
from sqlalchemy import create_engine, text
from werkzeug.datastructures import ImmutableMultiDict

from gisserver.backup import table_counts
from gisserver.core.errors import API_PREFIXES
from tests.sample_city import build_sample_city

SQL = "1' OR '1'='1'; DROP TABLE reports; --"

# Every route, with a valid path to attack it through ({...} filled from the world fixture).
ROUTES: dict[str, str] = {
    "/": "/",
    "/account": "/account",
    "/account/password": "/account/password",
    "/account/two-factor": "/account/two-factor",
    "/login/code": "/login/code",
    "/csp-report": "/csp-report",
    "/api/alerts": "/api/alerts",
    "/api/alerts/<int:alert_id>": "/api/alerts/1",
    "/api/alerts/<int:alert_id>/transition": "/api/alerts/1/transition",
    "/api/areas": "/api/areas",
    "/api/areas.geojson": "/api/areas.geojson",
    "/api/areas/<code>/keychains.pdf": "/api/areas/T-W/keychains.pdf",
    "/api/areas/<code>/qr/<kind>.<fmt>": "/api/areas/T-W/qr/police.png",
    "/api/areas/lookup": "/api/areas/lookup",
    "/api/audit": "/api/audit",
    "/api/cameras": "/api/cameras",
    "/api/cameras.geojson": "/api/cameras.geojson",
    "/api/cameras/<code>": "/api/cameras/CAM-1",
    "/api/cameras/<code>/events": "/api/cameras/CAM-1/events",
    "/api/cameras/<code>/heartbeat": "/api/cameras/CAM-1/heartbeat",
    "/api/cameras/export": "/api/cameras/export",
    "/api/cameras/import": "/api/cameras/import",
    "/api/cameras/seeing": "/api/cameras/seeing",
    "/api/dossiers/import": "/api/dossiers/import",
    "/api/geocode": "/api/geocode",
    "/api/geocode/reverse": "/api/geocode/reverse",
    "/api/hotspots": "/api/hotspots",
    "/api/hotspots/<code>/readings": "/api/hotspots/NGAP-1/readings",
    "/api/hotspots/readings": "/api/hotspots/readings",
    "/api/identify": "/api/identify",
    "/api/openapi.json": "/api/openapi.json",
    "/api/layers": "/api/layers",
    "/api/layers/<name>": "/api/layers/parcels",
    "/api/layers/<name>/data": "/api/layers/parcels/data",
    "/api/layers/<name>/export": "/api/layers/parcels/export",
    "/api/layers/<name>/tiles.json": "/api/layers/parcels/tiles.json",
    "/api/layers/<name>/tiles/<z>/<x>/<y>.mvt": "/api/layers/parcels/tiles/14/13088/7480.mvt",
    "/api/layers/<name>/changes": "/api/layers/parcels/changes",
    "/api/layers/<name>/features/<int:fid>/versions": "/api/layers/parcels/features/1/versions",
    "/api/layers/<name>/features/<int:fid>/restore": "/api/layers/parcels/features/1/restore",
    "/api/layers/<name>/restore": "/api/layers/parcels/restore",
    "/api/layers/<name>/rows": "/api/layers/parcels/rows",
    "/api/layers/<name>/values": "/api/layers/parcels/values",
    "/api/layers/<name>/breaks": "/api/layers/parcels/breaks",
    "/api/layers/<name>/style.<fmt>": "/api/layers/parcels/style.sld",
    "/api/layers/<name>/check": "/api/layers/parcels/check",
    "/api/layer-imports": "/api/layer-imports",
    "/api/layer-imports/<int:import_id>": "/api/layer-imports/{upload}",
    "/api/layer-imports/<int:import_id>/file": "/api/layer-imports/{upload}/file",
    "/api/layer-imports/<int:import_id>/read": "/api/layer-imports/{upload}/read",
    "/api/layer-imports/<int:import_id>/publish": "/api/layer-imports/{upload}/publish",
    "/api/projects": "/api/projects",
    "/api/projects/<code>": "/api/projects/QH-1",
    "/api/projects/<code>/documents": "/api/projects/QH-1/documents",
    "/api/projects/<code>/documents/<int:document_id>": "/api/projects/QH-1/documents/{document}",
    "/planning": "/planning",
    "/planning/upload": "/planning/upload",
    "/planning/projects": "/planning/projects",
    "/planning/projects/<code>": "/planning/projects/QH-1",
    "/planning/layers/<name>": "/planning/layers/parcels",
    "/planning/layers/<name>/style": "/planning/layers/parcels/style",
    "/planning/layers/<name>/edit": "/planning/layers/parcels/edit",
    "/planning/layers/<name>/features/<int:fid>": "/planning/layers/parcels/features/1",
    "/api/report-categories": "/api/report-categories",
    "/api/summaries/<code>": "/api/summaries/T",
    "/api/indicators": "/api/indicators",
    "/api/dashboards": "/api/dashboards",
    "/api/dashboards/<int:dashboard_id>": "/api/dashboards/{dashboard}",
    "/api/dashboards/<int:dashboard_id>/copy": "/api/dashboards/{dashboard}/copy",
    "/api/dashboards/<int:dashboard_id>/data": "/api/dashboards/{dashboard}/data",
    "/api/dashboards/<int:dashboard_id>/export.<fmt>": "/api/dashboards/{dashboard}/export.xlsx",
    "/api/dashboards/<int:dashboard_id>/mail": "/api/dashboards/{dashboard}/mail",
    "/api/dashboards/preview": "/api/dashboards/preview",
    "/api/dashboard-displays": "/api/dashboard-displays",
    "/api/dashboard-displays/<int:display_id>": "/api/dashboard-displays/1",
    "/dashboards": "/dashboards",
    "/dashboards/<int:dashboard_id>": "/dashboards/{dashboard}",
    "/dashboards/layer-records": "/dashboards/layer-records",
    "/dashboards/camera-records": "/dashboards/camera-records",
    "/dashboards/hotspot-records": "/dashboards/hotspot-records",
    "/wall": "/wall",
    "/wall/open": "/wall/open",
    "/wall/data/<int:dashboard_id>": "/wall/data/{dashboard}",
    "/api/summaries/<code>/export.<fmt>": "/api/summaries/T/export.csv",
    "/api/summaries/<code>/map": "/api/summaries/T/map",
    "/api/summaries/<code>/records": "/api/summaries/T/records",
    "/api/summaries/<code>/records.<fmt>": "/api/summaries/T/records.csv",
    "/api/reports": "/api/reports",
    "/api/reports.geojson": "/api/reports.geojson",
    "/api/reports/<code>/status": "/api/reports/{tracking}/status",
    "/api/reports/nearby": "/api/reports/nearby",
    "/api/reports/placement": "/api/reports/placement",
    "/api/reports/<int:report_id>": "/api/reports/{report}",
    "/api/reports/<int:report_id>/location": "/api/reports/{report}/location",
    "/api/reports/<int:report_id>/merge": "/api/reports/{report}/merge",
    "/api/reports/<int:report_id>/cameras": "/api/reports/{report}/cameras",
    "/api/reports/<int:report_id>/photos/<int:photo_id>": "/api/reports/{report}/photos/1",
    "/api/reports/<int:report_id>/reassign": "/api/reports/{report}/reassign",
    "/api/reports/<int:report_id>/transition": "/api/reports/{report}/transition",
    "/api/reports/<int:report_id>/comments": "/api/reports/{report}/comments",
    "/api/reports/<int:report_id>/deliveries": "/api/reports/{report}/deliveries",
    "/api/alerts/<int:alert_id>/deliveries": "/api/alerts/1/deliveries",
    "/api/live": "/api/live",
    "/api/me/notifications": "/api/me/notifications",
    "/api/me/push-subscriptions": "/api/me/push-subscriptions",
    "/api/push/key": "/api/push/key",
    "/me/notifications": "/me/notifications",
    "/push-sw.js": "/push-sw.js",
    "/api/unsubscribe/<token>": "/api/unsubscribe/1.00000000000000000000000000000000",
    "/n/unsubscribe/<token>": "/n/unsubscribe/1.00000000000000000000000000000000",
    "/brand/logo": "/brand/logo",
    "/favicon.ico": "/favicon.ico",
    "/flood": "/flood",
    "/flood/<code>": "/flood/NGAP-1",
    "/health": "/health",
    "/lang/<code>": "/lang/en",
    "/leader": "/leader",
    "/login": "/login",
    "/logout": "/logout",
    "/maps/layers": "/maps/layers",
    "/maps/leader": "/maps/leader",
    "/maps/reports": "/maps/reports",
    "/ogc": "/ogc",
    "/ogc/": "/ogc/",
    "/ogc/api": "/ogc/api",
    "/ogc/collections": "/ogc/collections",
    "/ogc/collections/<collection_id>": "/ogc/collections/parcels",
    "/ogc/collections/<collection_id>/items": "/ogc/collections/parcels/items",
    "/ogc/collections/<collection_id>/items/<feature_id>": "/ogc/collections/parcels/items/1",
    "/ogc/collections/<collection_id>/queryables": "/ogc/collections/parcels/queryables",
    "/ogc/collections/<collection_id>/tiles": "/ogc/collections/parcels/tiles",
    "/ogc/collections/<collection_id>/tiles/<tile_matrix_set_id>": "/ogc/collections/parcels/tiles/WebMercatorQuad",
    "/ogc/collections/<collection_id>/tiles/<tile_matrix_set_id>/<tile_matrix>/<tile_row>/<tile_col>":
        "/ogc/collections/parcels/tiles/WebMercatorQuad/14/7480/13088",
    "/ogc/tileMatrixSets": "/ogc/tileMatrixSets",
    "/ogc/tileMatrixSets/<tile_matrix_set_id>": "/ogc/tileMatrixSets/WebMercatorQuad",
    "/ogc/conformance": "/ogc/conformance",
    "/open311/v2/discovery.<fmt>": "/open311/v2/discovery.json",
    "/open311/v2/requests.<fmt>": "/open311/v2/requests.json",
    "/open311/v2/requests/<request_id>.<fmt>": "/open311/v2/requests/{tracking}.json",
    "/open311/v2/services.<fmt>": "/open311/v2/services.json",
    "/open311/v2/services/<code>.<fmt>": "/open311/v2/services/gay_roi.json",
    "/keychains": "/keychains",
    "/r": "/r",
    "/r/<ward_code>/<kind>": "/r/T-W/police",
    "/reports": "/reports",
    "/reports/<int:report_id>": "/reports/{report}",
    "/status": "/status",
    "/status/<code>": "/status/{tracking}",
    "/status/<code>/photos/<int:photo_id>": "/status/{tracking}/photos/1",
    "/status/<code>/support": "/status/{tracking}/support",
    "/summaries/<code>": "/summaries/T",
    "/summaries/<code>/records": "/summaries/T/records",
}
# Routes left out on purpose, with the reason.
NOT_ATTACKED: dict[str, str] = {
    "/static/<path:filename>": "files from static/, served by gisserver.core.assets (safe_join refuses ..)",
}
# Routes that may answer a bad request with a redirect rather than a 4xx, and why.
REDIRECTS = {
    "/brand/logo": "without a configured logo, the default icon",
    "/lang/<code>": "switches language and goes back; an unknown code sets nothing",
    "/logout": "ends the session whatever the body says",
    "/account/password": "sends anonymous callers to the login page",
    "/account": "sends callers without a browser session to the login page",
    "/account/two-factor": "sends callers without a browser session to the login page",
    "/login/code": "sends a browser whose password step did not just succeed to the login page",
    "/r/<ward_code>/<kind>": "an unknown kind of code opens the committee's form of the ward",
    "/status/<code>": "tracking codes are put in upper case first",
    "/status/<code>/support": "back to the status page, whatever the form says",
}
# Write routes that take no body, so that a bad one is ignored (and the write happens).
BODYLESS = {
    "/api/cameras/<code>/heartbeat": "a heartbeat says only 'alive'",
    "/status/<code>/support": "'I see it too' says nothing more (limited like a report per client)",
    "/logout": "ends the session",
    "/csp-report": "browsers' violation reports: what cannot be read is dropped, nothing is stored",
    "/api/unsubscribe/<token>": "RFC 8058 one-click: the token in the URL says everything, the body is ignored",
    "/n/unsubscribe/<token>": "the unsubscribe page's button: the token in the URL says everything",
    "/api/dashboards/<int:dashboard_id>/copy": "makes a private copy of the dashboard as it is",
}
# Query parameters offered to every GET route; those it reads get SQL and garbage, one at a time.
QUERY_PARAMS = ("sort", "order", "attribute", "classes", "method", "replace", "year", "at", "comment",
                "filter", "filter-lang", "bbox", "q", "limit", "offset", "page", "per_page", "lon", "lat",
                "level", "parent", "status", "category", "area", "unit", "overdue", "datetime", "from", "to", "on",
                "f", "format", "layers", "tolerance_m", "copies", "start_date", "end_date", "service_code",
                "service_request_id", "hours", "since", "until", "state", "type", "next", "kind", "group")
BAD_VALUES = (SQL, "NaN", "-1e999", "\x00", "ü" * 300)
# Bodies every write route must refuse (route-specific checks come on top).
BAD_BODIES = {
    "malformed JSON": (b'{"category": ', "application/json"),
    "NaN": (b'{"lon": NaN, "lat": 16.42, "category": "gay_roi", "description": "abcdef"}', "application/json"),
    "Infinity": (b'{"lon": Infinity, "lat": -Infinity}', "application/json"),
    "nested arrays": (b"[" * 20000 + b"]" * 20000, "application/json"),
    "nested objects": (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
    "array": (b"[1, 2, 3]", "application/json"),
    "string": (b'"report"', "application/json"),
    "wrong types": (json.dumps({"category": 5, "description": ["x"], "location": "here", "lon": {"x": 1},
                                "lat": [], "readings": "many", "action": 7, "duplicates": "all", "type": None,
                                "code": {"a": 1}, "name": 5, "direction": "north"}).encode(), "application/json"),
    "invalid UTF-8": (b'{"description": "\xff\xfe\xfa"}', "application/json"),
    "empty": (b"", "application/json"),
    "not JSON": (b"category=gay_roi&description=abc", "application/x-www-form-urlencoded"),
}


@dataclass
class World:
    client: object
    headers: dict
    database_url: str
    values: dict
    findings: list[str] = field(default_factory=list)

    def path(self, rule: str) -> str:
        return ROUTES[rule].format(**self.values)

    def send(self, method: str, path: str, rule: str, what: str, *, allow: tuple[int, ...] = (), **kwargs):
        """Send one bad request and note anything but a clear 4xx (or a status in *allow*)."""
        kwargs.setdefault("headers", self.headers)
        response = self.client.open(path, method=method, **kwargs)
        status = response.status_code
        if status >= 500:
            self.findings.append(f"{method} {path[:120]} ({what}): {status} {response.get_data(as_text=True)[:200]}")
        elif status < 400 and status not in allow and not (300 <= status < 400 and rule in REDIRECTS):
            self.findings.append(f"{method} {path[:120]} ({what}): accepted with {status}")
        elif status >= 400 and not _clear_error(path, response):
            self.findings.append(f"{method} {path[:120]} ({what}): {status} without a clear error body")
        return response


def _clear_error(path: str, response) -> bool:
    if path.startswith("/open311/"):
        body = response.get_data(as_text=True)
        return '"description"' in body or "<description>" in body  # GeoReport v2's own error format
    if path.startswith(API_PREFIXES):
        try:
            error = response.get_json()["error"]
        except (TypeError, KeyError, ValueError):
            return False
        return bool(error.get("code")) and bool(error.get("message")) and isinstance(error.get("details"), dict)
    # Pages answer browsers with an HTML page and other clients in JSON.
    if response.mimetype == "application/json":
        return bool((response.get_json() or {}).get("error", {}).get("message"))
    return response.mimetype == "text/html" and b"Traceback" not in response.data


@pytest.fixture
def world(database_url, tmp_path, auth_headers, app):
    """A small city with a layer, a camera, a hotspot and a report; an admin token; CSRF off for the forms."""
    session = app.extensions["gisserver.db"].session()
    values = build_sample_city(session, tmp_path)
    session.close()
    app.config["WTF_CSRF_ENABLED"] = False
    headers = auth_headers("admin")
    client = app.test_client()
    made = client.post("/api/dashboards", headers=headers, json={"title": "Bảng", "panels": [
        {"id": "n", "chart": "number", "indicators": [{"key": "reports_received"}]},
        {"id": "l", "chart": "table", "indicators": [{"key": "layer_count", "layer": "parcels", "by": "ten_lo"}]}]})
    values["dashboard"] = made.get_json()["id"]
    return World(client, headers, database_url, values)


def _counts(world: World) -> dict[str, int]:
    # Rate-limit counters change with every request by design, and a token's last_used_at may be
    # stamped (an update, audited when it goes through the ORM); every other table must stay as it was.
    counts = {k: v for k, v in table_counts(world.database_url).items() if "rate_limits" not in k}
    engine = create_engine(world.database_url)
    try:
        with engine.connect() as conn:
            counts["public.audit_log"] = conn.execute(
                text("SELECT count(*) FROM audit_log WHERE table_name <> 'api_tokens'")).scalar_one()
    finally:
        engine.dispose()
    return counts


def _rules(app) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        rules.setdefault(rule.rule, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return rules


def _finish(world: World, before: dict[str, int]) -> None:
    assert world.client.get("/health").status_code == 200  # the server keeps answering
    after = _counts(world)
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    if changed:
        world.findings.append(f"bad input changed stored rows: {changed}")
    assert not world.findings, "\n".join(world.findings)


class _RecordingArgs(ImmutableMultiDict):
    """Query parameters that note which names the view looked at."""

    read: set[str] = set()

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self.read.add(key)
        return super().get(key, default, type)

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):  # noqa: A002
        self.read.add(key)
        return super().getlist(key, type)

    def __iter__(self):
        self.read.update(dict.keys(self))
        return super().__iter__()

    def items(self, multi=False):
        self.read.update(dict.keys(self))
        return super().items(multi)

    def to_dict(self, flat=True):
        self.read.update(dict.keys(self))
        return super().to_dict(flat)


class _RecordingRequest(Request):
    parameter_storage_class = _RecordingArgs


def _parameters_read(world: World, path: str) -> list[str]:
    """The query parameters a GET route reads, found by offering it all of QUERY_PARAMS once."""
    app = world.client.application
    original = app.request_class
    app.request_class = _RecordingRequest
    _RecordingArgs.read = set()
    try:
        world.client.get(path, query_string={p: "1" for p in QUERY_PARAMS}, headers=world.headers)
        world.client.get(path, headers=world.headers)
    finally:
        app.request_class = original
    return sorted(_RecordingArgs.read)


def test_every_route_is_attacked_or_consciously_listed(app):
    rules = set(_rules(app))
    assert rules - ROUTES.keys() - NOT_ATTACKED.keys() == set(), "new routes: add them to ROUTES"
    assert ROUTES.keys() - rules == set(), "routes that no longer exist: remove them from ROUTES"


def test_sql_and_garbage_in_paths_and_query_parameters(world):
    before = _counts(world)
    for rule, methods in _rules(world.client.application).items():
        if rule not in ROUTES:
            continue
        path = world.path(rule)
        # Every path segment that is a value (not a fixed word) replaced by SQL.
        fixed = {part for part in rule.split("/") if "<" not in part}
        segments = path.split("/")
        for i, segment in enumerate(segments):
            if segment and segment not in fixed and "." not in rule.split("/")[i] if i < len(rule.split("/")) else True:
                attacked = "/".join([*segments[:i], SQL.replace("/", "%2F"), *segments[i + 1:]])
                world.send("GET" if "GET" in methods else sorted(methods)[0], attacked, rule, "SQL in path",
                           **({"json": {}} if "GET" not in methods else {}))
        if "GET" not in methods:
            continue
        for param in _parameters_read(world, path):
            for value in BAD_VALUES:
                # Parameters a route does not read are ignored: only a 5xx is a finding there.
                response = world.client.get(path, query_string={param: value}, headers=world.headers)
                if response.status_code >= 500:
                    world.findings.append(f"GET {path}?{param}={value[:40]!r}: {response.status_code}")
                elif response.status_code >= 400 and not _clear_error(path, response):
                    world.findings.append(f"GET {path}?{param}={value[:40]!r}: {response.status_code} unclear")
    _finish(world, before)


def test_bad_bodies_at_every_write_route(world):
    before = _counts(world)
    for rule, methods in _rules(world.client.application).items():
        if rule not in ROUTES or rule in BODYLESS:
            continue
        for method in sorted(methods & {"POST", "PUT", "PATCH"}):
            for what, (body, content_type) in BAD_BODIES.items():
                world.send(method, world.path(rule), rule, what, data=body, content_type=content_type)
    _finish(world, before)


NOT_UTF8_BODIES = {
    "JSON": (b'{"description": "\xff\xfe\xfa"}', "application/json"),
    "urlencoded form": (b"service_code=gay_roi&description=\xff\xfe", "application/x-www-form-urlencoded"),
    "%-escaped form": (b"service_code=gay_roi&description=%FF%FE", "application/x-www-form-urlencoded"),
    "multipart field": (b'--b\r\nContent-Disposition: form-data; name="description"\r\n\r\n\xff\xfe\r\n--b--\r\n',
                        "multipart/form-data; boundary=b"),
    "plain text": (b"\xc3\x28", "text/plain"),
}


def test_a_body_that_is_not_utf8_is_refused_saying_so_on_every_route(world):
    before = _counts(world)
    for rule, methods in _rules(world.client.application).items():
        if rule not in ROUTES:
            continue
        for method in sorted(methods & {"POST", "PUT", "PATCH", "DELETE"}):
            for what, (body, content_type) in NOT_UTF8_BODIES.items():
                path = world.path(rule)
                response = world.client.open(path, method=method, data=body, content_type=content_type,
                                             headers=world.headers)
                text = response.get_data(as_text=True)
                if response.status_code != 400 or "not valid UTF-8" not in text:
                    world.findings.append(f"{method} {path} ({what}): {response.status_code} {text[:150]}")
    for path in ("/api/areas?q=%FF", "/maps/layers?q=%C3%28"):
        response = world.client.get(path)
        if response.status_code != 400 or "not valid UTF-8" not in response.get_data(as_text=True):
            world.findings.append(f"GET {path}: {response.status_code}")
    _finish(world, before)


GOOD_REPORT = {"category": "gay_roi", "description": "Đánh nhau trước chợ Đông Ba"}


def test_nan_and_out_of_range_coordinates(world):
    before = _counts(world)
    report = world.path("/api/reports/<int:report_id>/location")
    for lon, lat, what in (("NaN", 16.42, "NaN as text"), (1e999, 16.42, "overflow"), (107.55, 95, "lat 95"),
                           (200, 16.42, "lon 200"), (True, 16.42, "boolean"), ("107,55", 16.42, "comma decimal")):
        body = {**GOOD_REPORT, "location": {"lon": lon, "lat": lat}}
        world.send("POST", "/api/reports", "/api/reports", f"report {what}", json=body, headers={})
        world.send("PATCH", report, "move", f"move {what}", json={"lon": lon, "lat": lat, "reason": "sai vị trí"})
        camera = {"code": "CAM-9", "name": "Cầu", "lon": lon, "lat": lat, "direction": 90}
        world.send("POST", "/api/cameras", "/api/cameras", f"camera {what}", json=camera)
        query = {"lon": lon, "lat": lat}
        for path in ("/api/areas/lookup", "/api/geocode/reverse", "/api/identify", "/api/cameras/seeing"):
            world.send("GET", path, path, f"{what}", query_string=query)
        world.send("POST", "/open311/v2/requests.json", "open311", f"open311 {what}",
                   data={"service_code": "gay_roi", "description": GOOD_REPORT["description"], "lat": lat,
                         "long": lon}, headers={})
        world.send("POST", "/r/T-W/police", "form", f"QR form {what}",
                   data={**GOOD_REPORT, "lon": lon, "lat": lat}, headers={})
    for level in ("NaN", 1e999, -500, 1e6, "deep", None):
        world.send("POST", "/api/hotspots/readings", "readings", f"level {level}",
                   json={"readings": [{"hotspot": "NGAP-1", "at": "2026-01-01T00:00:00+07:00", "level_cm": level}]})
    _finish(world, before)


def _geojson(geometry: dict) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"ten": "x"}, "geometry": geometry}]}).encode()


def _upload(world: World, name: str, filename: str, content: bytes, rule: str = "/api/layers", **extra):
    data = {"name": name, "file": (io.BytesIO(content), filename), **extra}
    return world.client.post("/api/layers" if rule == "/api/layers" else rule, data=data, headers=world.headers,
                             content_type="multipart/form-data")


def test_self_intersecting_and_huge_geometries(world):
    items = world.path("/ogc/collections/<collection_id>/items")
    bowtie = "POLYGON((107.54 16.41, 107.57 16.43, 107.57 16.41, 107.54 16.43, 107.54 16.41))"
    ring = " ,".join(f"{107.5 + 0.1 * (i % 2)} {16.4 + 0.1 * i / 20000}" for i in range(20000))
    huge = f"POLYGON(({ring}, 107.5 16.4))"
    for what, cql in (("self-intersecting polygon", f"S_INTERSECTS(geometry, {bowtie})"),
                      ("huge polygon", f"S_INTERSECTS(geometry, {huge})"),
                      ("unclosed ring", "S_INTERSECTS(geometry, POLYGON((107.5 16.4, 107.6 16.4, 107.6 16.5)))"),
                      ("NaN point", "S_INTERSECTS(geometry, POINT(NaN 16.4))"),
                      ("point out of range", "S_INTERSECTS(geometry, POINT(400 95))")):
        response = world.client.get(items, query_string={"filter": cql})
        if response.status_code >= 500 or (response.status_code >= 400 and not _clear_error(items, response)):
            world.findings.append(f"filter with {what}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    # A self-intersecting polygon in an upload is repaired and counted, never stored invalid.
    bowtie_json = {"type": "Polygon", "coordinates": [[[107.54, 16.41], [107.57, 16.43], [107.57, 16.41],
                                                       [107.54, 16.43], [107.54, 16.41]]]}
    stored = _upload(world, "bowtie", "bowtie.geojson", _geojson(bowtie_json))
    assert stored.status_code == 201, stored.get_json()
    assert stored.get_json()["import"]["counts"]["repaired"] == 1
    feature = world.client.get("/ogc/collections/bowtie/items/1").get_json()
    assert Polygon(feature["geometry"]["coordinates"][0][0]).is_valid
    world.client.delete("/api/layers/bowtie", headers=world.headers)
    before = _counts(world)
    # Geometries that cannot be stored are refused with the reason, and nothing is kept.
    for what, geometry in (("NaN coordinate", '{"type": "Point", "coordinates": [NaN, 16.4]}'),
                           ("latitude 95", '{"type": "Point", "coordinates": [107.5, 95]}'),
                           ("ring of two points",
                            '{"type": "Polygon", "coordinates": [[[107.5, 16.4], [107.6, 16.4]]]}'),
                           ("no coordinates", '{"type": "LineString", "coordinates": []}')):
        content = ('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": '
                   + geometry + "}]}").encode()
        world.send("POST", "/api/layers", "/api/layers", what, data={"name": "bad", "file": (io.BytesIO(content),
                   "bad.geojson")}, content_type="multipart/form-data")
    _finish(world, before)


def test_huge_geometry_upload_is_stored_or_refused_cleanly(world):
    turn = [2 * math.pi * i / 200_000 for i in range(200_000)]
    ring = [[107.55 + 0.05 * math.cos(a), 16.45 + 0.05 * math.sin(a)] for a in turn]
    ring.append(ring[0])
    response = _upload(world, "huge", "huge.geojson", _geojson({"type": "Polygon", "coordinates": [ring]}))
    assert response.status_code in (201, 400, 413), response.get_data(as_text=True)[:300]
    tile = world.client.get("/ogc/collections/huge/tiles/WebMercatorQuad/12/1871/3272")
    assert tile.status_code in (200, 404)
    assert world.client.get("/health").status_code == 200


def test_oversize_bodies_at_every_write_route(world):
    """Every body over MAX_CONTENT_LENGTH is refused with 413 before a view reads it."""
    before = _counts(world)
    world.client.application.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    big = b'{"description": "' + b"x" * 100_000 + b'"}'
    for rule, methods in _rules(world.client.application).items():
        # Routes that never read a body (or send the caller elsewhere first) cannot be hurt by one.
        if rule not in ROUTES or rule in BODYLESS or rule in REDIRECTS:
            continue
        for method in sorted(methods & {"POST", "PUT", "PATCH"}):
            path = world.path(rule)
            response = world.send(method, path, rule, "oversize JSON", data=big, content_type="application/json")
            upload = world.send(method, path, rule, "oversize upload", content_type="multipart/form-data",
                                data={"name": "big", "file": (io.BytesIO(b"0" * 100_000), "big.geojson")})
            for what, answer in (("JSON", response), ("upload", upload)):
                if answer.status_code != 413:
                    world.findings.append(f"{method} {path} oversize {what}: {answer.status_code}, not 413")
    _finish(world, before)


def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = 0o120777 << 16  # a symbolic link to /etc/passwd
            zf.writestr(info, "/etc/passwd")
    return out.getvalue()


KML_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE kml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&secret;</name>
<Point><coordinates>107.55,16.42</coordinates></Point></Placemark></kml>"""
KML_BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&lol3;</name>
<Point><coordinates>107.55,16.42</coordinates></Point></Placemark></kml>"""


def test_hostile_archives_and_xml_uploads(world, tmp_path):
    before = _counts(world)
    escape_target = Path("/tmp/gisserver-bad-input-escaped.shp")
    escape_target.unlink(missing_ok=True)
    point = _geojson({"type": "Point", "coordinates": [107.55, 16.42]})
    cases = {
        "zip bomb": ("bomb.zip", _zip({"a.shp": b"\0" * 50_000_000})),
        "zip bomb in a KMZ": ("bomb.kmz", _zip({"doc.kml": b" " * 50_000_000})),
        "zip path traversal": ("evil.zip", _zip({"../../../../tmp/gisserver-bad-input-escaped.shp": b"x",
                                                 "ok.geojson": point})),
        "absolute path in zip": ("abs.zip", _zip({"/tmp/gisserver-bad-input-escaped.shp": b"x"})),
        "symlink in zip": ("link.zip", _zip({"ok.geojson": point}, symlink="passwd.geojson")),
        "too many files": ("many.zip", _zip({f"f{i}.txt": b"x" for i in range(500)})),
        "not a zip": ("broken.zip", b"PK\x03\x04 this is no archive"),
        "KML with external entity": ("xxe.kml", KML_XXE),
        "KML billion laughs": ("lol.kml", KML_BILLION_LAUGHS),
        "KMZ with external entity": ("xxe.kmz", _zip({"doc.kml": KML_XXE})),
        "GeoPackage that is not one": ("fake.gpkg", b"SQLite format 3\0" + b"\0" * 1000),
        "executable": ("run.exe", b"MZ\x90\x00"),
        "CSV without coordinates": ("plain.csv", b"ten,so\nx,1\n"),
    }
    for rule in ("/api/layers", "/api/layers/<name>/data", "/api/cameras/import"):
        for what, (filename, content) in cases.items():
            method = "PUT" if rule == "/api/layers/<name>/data" else "POST"
            world.send(method, world.path(rule), rule, what, content_type="multipart/form-data",
                       data={"name": "hostile", "file": (io.BytesIO(content), filename)})
    assert not escape_target.exists()
    assert world.client.get("/ogc/collections/parcels/items").get_json()["numberMatched"] == 6  # data unchanged
    _finish(world, before)


def test_csv_exports_defuse_spreadsheet_formulas(world, tmp_path):
    """Cells that a spreadsheet would run (= + - @) are exported quoted, in layers and the camera registry."""
    text_of = world.client.get("/api/layers/parcels/export", query_string={"format": "csv"}).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text_of.lstrip("\ufeff"))))
    names = [row["ten_lo"] for row in rows]
    assert names[0] == "Đất ở" and names[-1] == "bình thường"
    assert all(name.startswith("'") for name in names[1:5]), names
    assert rows[1]["so_tang"] == "2"  # numbers stay numbers

    world.client.patch("/api/cameras/CAM-1", json={"name": "=HYPERLINK(\"http://evil.example\")"},
                       headers=world.headers)
    from gisserver.cli import main

    out = tmp_path / "cameras.csv"
    result = world.client.application.test_cli_runner().invoke(main, ["cameras", "export", "--format", "csv",
                                                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    (camera,) = csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))
    assert camera["name"] == "'=HYPERLINK(\"http://evil.example\")"
    over_http = world.client.get("/api/cameras/export", query_string={"format": "csv"}, headers=world.headers)
    (camera,) = csv.DictReader(io.StringIO(over_http.get_data(as_text=True).lstrip("\ufeff")))
    assert camera["name"] == "'=HYPERLINK(\"http://evil.example\")"


def test_sql_in_filter_sort_and_bbox_is_data_or_refused(world):
    """SQL in a parameter is either a value that matches nothing or a 400: it never runs."""
    before = _counts(world)
    items = world.path("/ogc/collections/<collection_id>/items")

    def matched(**query) -> int:
        response = world.client.get(items, query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["numberMatched"]

    # pygeofilter reads no doubled quotes inside CQL2 text literals: such filters are refused.
    for cql in ("ten_lo = 'x'' OR ''1''=''1'", "ten_lo LIKE '%'' OR 1=1 --'"):
        response = world.send("GET", items, "items", cql, query_string={"filter": cql}, allow=(200,))
        assert response.status_code == 400 or response.get_json()["numberMatched"] == 0
    assert matched(**{"filter-lang": "cql2-json",
                      "filter": json.dumps({"op": "=", "args": [{"property": "ten_lo"}, "x' OR '1'='1"]})}) == 0
    assert matched(ten_lo="x' OR '1'='1") == 0
    assert matched(filter="so_tang > 2") == 4  # a real filter still works
    for query in ({"filter": "1=1; DROP TABLE reports"}, {"filter": "ten_lo = 'x'; DELETE FROM layers; --"},
                  {"filter": "\"ten_lo\" = 1 OR pg_sleep(5) IS NULL"}, {"bbox": "107,16,108,17) OR (1=1"},
                  {"bbox": "107,16,108,17; DROP TABLE reports"}, {"limit": "1; DROP TABLE reports"},
                  {"so_tang": "1 OR 1=1"}, {"datetime": "2026-01-01' OR '1'='1"}):
        world.send("GET", items, "items", f"{query}", query_string=query)
    for query in ({"sort": "-created; DROP TABLE reports"}, {"sort": "created_at DESC, (SELECT 1)"},
                  {"status": "new' OR '1'='1"}, {"from": "2026-01-01' OR '1'='1"}):
        world.send("GET", "/api/reports", "queue", f"{query}", query_string=query)
    assert world.client.get("/api/layers", query_string={"q": "' OR 1=1 --"}).get_json() == {"layers": []}
    assert world.client.get("/api/geocode", query_string={"q": "'; DROP TABLE reports; --"}).status_code == 200
    world.send("GET", "/api/layers/parcels/export", "export", "bbox with SQL",
               query_string={"format": "csv", "bbox": "1,2,3,4); DROP TABLE reports; --"})
    _finish(world, before)
