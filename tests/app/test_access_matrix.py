"""Who may do what, walked as one table: every route of the app x every kind of caller.

ROUTES has a row for each (method, URL rule) of the app, saying what each caller gets (tests/access_world.py
builds the callers and the data). test_every_route_is_classified fails for a route the table does not know:
a new route has to say who may use it before it ships.

Besides the status codes, every answer is searched for the SECRETS of the world: text a caller may get only
when the row names it among the insiders, and never in an error message; and every answer must carry the security
headers, every page only inline scripts with the response's CSP nonce (tests/security_checks.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from tests.app.access_world import (
    CALLERS,
    DRAFT_PROJECT,
    INTERNAL_ATTRIBUTE,
    INTERNAL_TITLE,
    NUMBER_PANEL,
    PASSWORD,
    PEOPLE,
    REPORTER_NAME,
    REPORTER_PHONE,
    SECRETS,
    STAFF,
    STAFF_NOTE,
    STREAM_URL,
    build_world,
    geojson_bytes,
    pdf_bytes,
)
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.security_checks import header_problems, page_problems
from tests.signing import sign_in

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
W_READERS = frozenset({"admin", "officer_w", "leader_city", "leader_w"})  # the west ward's subtree
W_UNIT = frozenset({"admin", "officer_w"})  # the unit the west report is assigned to (its reporter's contact)
NOBODY = frozenset()
PUMP = (107.585, 16.465)  # the internal layer's only feature


def answers(default: int, **special: int) -> dict[str, int]:
    """The status each caller gets: *default*, except *special*; tokens that expired or were revoked get 401."""
    table = dict.fromkeys(CALLERS, default)
    table.update(expired=401, revoked=401)
    table.update(special)
    return table


PUBLIC = answers(200)


def read_w(ok: int = 200, anonymous: int = 401) -> dict[str, int]:
    """Reading the west ward's report: its subtree reads it, the east officer is told it does not exist."""
    return answers(403, anonymous=anonymous, admin=ok, officer_w=ok, officer_e=404, leader_city=ok, leader_w=ok)


def write_w(ok: int) -> dict[str, int]:
    """Changing the west ward's report or alert: only its officers (leaders read, they do not write)."""
    return answers(403, anonymous=401, admin=ok, officer_w=ok, officer_e=404)


def staff_list(ok: int = 200, anonymous: int = 401, **special: int) -> dict[str, int]:
    return answers(403, anonymous=anonymous, admin=ok, officer_w=ok, officer_e=ok, leader_city=ok, leader_w=ok,
                   **special)


def internal(ok: int = 200) -> dict[str, int]:
    """An internal layer: staff see it; for the public and for machines it does not exist."""
    return answers(404, **dict.fromkeys(PEOPLE, ok))


def planners(ok: int) -> dict[str, int]:
    return answers(403, anonymous=401, admin=ok, planner=ok)


PLANNERS = frozenset({"admin", "planner"})


def workspace(ok: int = 200) -> dict[str, int]:
    """The planners' pages: the anonymous are sent to sign in, everyone else without the role is refused."""
    return answers(403, anonymous=302, admin=ok, planner=ok)


def admins(ok: int) -> dict[str, int]:
    return answers(403, anonymous=401, admin=ok)


def leads(ok: int = 200, anonymous: int = 401, leader_w: int | None = None) -> dict[str, int]:
    """Leaders' summaries: admins and the leaders whose areas cover the area; other roles are refused."""
    return answers(403, anonymous=anonymous, admin=ok, leader_city=ok, leader_w=ok if leader_w is None else leader_w)


def own_dashboard(ok: int, anonymous: int = 401) -> dict[str, int]:
    """The west leader's own dashboard: they and admins; another leader is told it does not exist."""
    return answers(403, anonymous=anonymous, admin=ok, leader_w=ok, leader_city=404)


def dossier_file(_values) -> dict:
    received = datetime.now(UTC) - timedelta(days=3)
    rows = ("dossier_id,procedure,area_code,received,due,finished,channel,status\n"
            f"MX-1,Khai sinh,T-W,{received:%Y-%m-%d %H:%M},{received + timedelta(days=2):%Y-%m-%d},,online,"
            "in_progress\n")
    return {"file": (io.BytesIO(rows.encode()), "dossiers.csv")}


def manages_camera_w(ok: int) -> dict[str, int]:
    return answers(403, anonymous=401, admin=ok, officer_w=ok)


def speaks_for_camera_w(ok: int) -> dict[str, int]:
    return answers(403, anonymous=401, admin=ok, officer_w=ok, camera_w=ok)


def writes_gauge_w(ok: int) -> dict[str, int]:
    return answers(403, anonymous=401, admin=ok, officer_w=ok, gauge_w=ok)


@dataclass(frozen=True)
class Case:
    path: str  # formatted with the world's names and what prepare() returns
    expect: dict[str, int]
    json: object = None  # a body, or a function of the path values
    form: object = None  # form fields (files allowed), or a function of the path values
    prepare: Callable | None = None  # run before each call: fresh targets for actions that change them
    secrets: dict[str, frozenset] = field(default_factory=dict)  # secret -> callers who may get it back
    must_show: bool = True  # insiders answered 2xx must get the secrets (not merely may)
    headers: dict = field(default_factory=dict)  # sent besides the caller's own (If-Match, say)


def fresh_report(world) -> dict:
    return {"report": world.new_report()}


def upload(values) -> dict:
    return {"name": values.get("name", ""), "file": (io.BytesIO(geojson_bytes()), "parcels.geojson")}


def camera_file(values) -> dict:
    rows = f"code,name,lon,lat,fov\n{values['code']},Imported,{WEST_INSIDE[0] + 0.003},{WEST_INSIDE[1]},360\n"
    return {"file": (io.BytesIO(rows.encode()), "cameras.csv")}


def counter_name(prefix: str) -> Callable:
    return lambda world: {"name": f"{prefix}-{next(world.counter)}", "code": f"{prefix.upper()}-{next(world.counter)}"}


CSP_REPORT = {"csp-report": {"document-uri": "http://localhost/maps/layers", "violated-directive": "script-src-elem",
                              "blocked-uri": "inline"}}
NEW_POLYGON = {"type": "Feature", "properties": {"ma_lo": "L9", "tang": 2}, "geometry": {
    "type": "Polygon", "coordinates": [[[107.58, 16.46], [107.581, 16.46], [107.581, 16.461], [107.58, 16.46]]]}}
NEW_POINT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [107.581, 16.461]},
             "properties": {"ten": "new"}}
INTAKE = {"category": "dien_chieu_sang", "description": "Street light out for a week",
          "location": {"lon": EAST_INSIDE[0], "lat": EAST_INSIDE[1]}}
OPEN311 = {"service_code": "dien_chieu_sang", "description": "Street light out", "lat": str(EAST_INSIDE[1]),
           "long": str(EAST_INSIDE[0])}
QR_FORM = {"category": "gay_roi", "description": "Fight at the market", "lon": str(WEST_INSIDE[0]),
           "lat": str(WEST_INSIDE[1])}
WRONG_LOGIN = {"username": "officer-w", "password": "not the password"}
PASSWORD_FORM = {"current_password": PASSWORD, "new_password": "a brand new secret", "new_password_again":
                 "a brand new secret"}
PUBLIC_REPORT_PAGE = {REPORTER_PHONE: NOBODY, STAFF_NOTE: NOBODY}
W_REPORT_SECRETS = {REPORTER_NAME: W_UNIT, REPORTER_PHONE: W_UNIT, STAFF_NOTE: W_READERS}
INTERNAL_LAYER = {INTERNAL_TITLE: STAFF, INTERNAL_ATTRIBUTE: STAFF}

ROUTES: dict[tuple[str, str], list[Case]] = {
    # Shell, health, language, static files.
    ("GET", "/"): [Case("/", PUBLIC)],
    ("GET", "/favicon.ico"): [Case("/favicon.ico", answers(301))],
    ("GET", "/brand/logo"): [Case("/brand/logo", answers(302))],
    ("GET", "/health"): [Case("/health", PUBLIC)],
    ("GET", "/api/openapi.json"): [Case("/api/openapi.json", PUBLIC)],
    ("GET", "/lang/<code>"): [Case("/lang/en?next=/", answers(302))],
    # Browsers report Content-Security-Policy violations here: a log line, nothing stored.
    ("POST", "/csp-report"): [Case("/csp-report", answers(204), json=CSP_REPORT)],
    # Static files are served without looking at credentials at all: they hold nothing private.
    ("GET", "/static/<path:filename>"): [Case("/static/css/app.css", answers(200, expired=200, revoked=200))],
    # Sign-in pages. A bearer token is no sign-in for the password form; the form itself needs a CSRF token.
    ("GET", "/login"): [Case("/login", PUBLIC)],
    ("POST", "/login"): [Case("/login", answers(401, anonymous=400), form=WRONG_LOGIN)],
    ("POST", "/logout"): [Case("/logout", answers(302))],
    # The code step: only a browser whose password was just right gets past it (anyone else goes to /login).
    ("GET", "/login/code"): [Case("/login/code", answers(302))],
    ("POST", "/login/code"): [Case("/login/code", answers(302, anonymous=400), form={"code": "123456"})],
    # The account page and its two-factor set-up are a signed-in browser's own; a token is no sign-in for them.
    ("GET", "/account"): [Case("/account", answers(302))],
    ("POST", "/account/two-factor"): [Case("/account/two-factor", answers(302, anonymous=400),
                                           form={"action": "start"})],
    ("GET", "/account/password"): [Case("/account/password", answers(302))],
    ("POST", "/account/password"): [Case("/account/password", answers(302, anonymous=400), form=PASSWORD_FORM)],
    ("GET", "/api/audit"): [Case("/api/audit?limit=1000", admins(200),
                                 secrets={STAFF_NOTE: frozenset({"admin"}), INTERNAL_TITLE: frozenset({"admin"}),
                                          DRAFT_PROJECT: frozenset({"admin"})},
                                 must_show=False)],
    # Citizen intake: anyone, on every channel (limited per client and area, see test_rate_limits.py), but no
    # machine whose token's scope does not say it files reports.
    ("POST", "/api/reports"): [Case("/api/reports", answers(201, camera_w=403, gauge_w=403), json=INTAKE)],
    ("POST", "/open311/v2/requests.<fmt>"): [Case("/open311/v2/requests.json", answers(201, camera_w=403,
                                                                                          gauge_w=403), form=OPEN311)],
    ("GET", "/r"): [Case("/r", PUBLIC)],
    ("GET", "/r/<ward_code>/<kind>"): [Case("/r/T-W/police", PUBLIC)],
    # The QR form needs its CSRF token (the anonymous here has none); bearer callers cannot be forged.
    ("POST", "/r/<ward_code>/<kind>"): [Case("/r/T-W/police", answers(302, anonymous=400, camera_w=403, gauge_w=403),
                                             form=QR_FORM)],
    ("GET", "/status"): [Case("/status", PUBLIC)],
    # Notifications: the live feed and one's own choices are for officers and leaders; an unsubscribe link is
    # its own credential (a made-up token is "not found" for everyone; the form also needs its CSRF token).
    ("GET", "/api/live"): [Case("/api/live", staff_list(200))],
    ("GET", "/api/me/notifications"): [Case("/api/me/notifications", staff_list(200))],
    ("PUT", "/api/me/notifications"): [Case("/api/me/notifications", staff_list(200),
                                            json={"channels": [], "language": "en", "quiet_hours": "22:00-06:00"})],
    ("GET", "/api/reports/<int:report_id>/deliveries"): [Case("/api/reports/{report_w}/deliveries", read_w())],
    ("GET", "/api/alerts/<int:alert_id>/deliveries"): [Case("/api/alerts/{alert_w}/deliveries", read_w())],
    ("POST", "/api/me/push-subscriptions"): [Case("/api/me/push-subscriptions", staff_list(400), json={})],
    ("GET", "/api/push/key"): [Case("/api/push/key", staff_list(404))],
    ("GET", "/me/notifications"): [Case("/me/notifications", staff_list(200, anonymous=302))],
    # The Web Push service worker: a script without data, which a browser fetches without its session.
    ("GET", "/push-sw.js"): [Case("/push-sw.js", PUBLIC)],
    ("POST", "/api/unsubscribe/<token>"): [Case("/api/unsubscribe/1.00000000000000000000000000000000",
                                                answers(404))],
    ("GET", "/n/unsubscribe/<token>"): [Case("/n/unsubscribe/1.00000000000000000000000000000000", answers(404))],
    ("POST", "/n/unsubscribe/<token>"): [Case("/n/unsubscribe/1.00000000000000000000000000000000",
                                              answers(404), form={})],
    # "I see it too" on a report's status page: a resident's form (CSRF), or any bearer caller.
    ("POST", "/status/<code>/support"): [Case("/status/{code_w}/support", answers(302, anonymous=400),
                                              form={"me": "too"})],
    # The public photos of a report: never those of a police matter (the west report is one).
    ("GET", "/status/<code>/photos/<int:photo_id>"): [Case("/status/{code_w}/photos/{photo_w}", answers(404))],
    # Open reports near a point: public categories only (the west report is a police matter, never listed).
    ("GET", "/api/reports/nearby"): [Case(f"/api/reports/nearby?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}", PUBLIC,
                                          secrets={"West ward disturbance": NOBODY})],
    ("GET", "/status/<code>"): [Case("/status/{code_w}", PUBLIC, secrets=PUBLIC_REPORT_PAGE)],
    ("GET", "/api/reports/<code>/status"): [Case("/api/reports/{code_w}/status", PUBLIC, secrets=PUBLIC_REPORT_PAGE)],
    # Open311 publishes the public side of every report, never the reporter or the staff's notes.
    ("GET", "/open311/v2/discovery.<fmt>"): [Case("/open311/v2/discovery.json", PUBLIC)],
    ("GET", "/open311/v2/services.<fmt>"): [Case("/open311/v2/services.xml", PUBLIC)],
    ("GET", "/open311/v2/services/<code>.<fmt>"): [Case("/open311/v2/services/gay_roi.json", PUBLIC)],
    ("GET", "/open311/v2/requests.<fmt>"): [Case("/open311/v2/requests.json", PUBLIC, secrets=PUBLIC_REPORT_PAGE)],
    ("GET", "/open311/v2/requests/<request_id>.<fmt>"): [
        Case("/open311/v2/requests/{code_w}.xml", PUBLIC, secrets=PUBLIC_REPORT_PAGE)],
    # Officers' and leaders' reading of reports, scoped to their subtree and units.
    ("GET", "/api/reports"): [Case("/api/reports?per_page=200", staff_list(),
                                   secrets={"West ward disturbance": W_READERS, REPORTER_NAME: W_UNIT,
                                            REPORTER_PHONE: W_UNIT})],
    ("GET", "/api/reports.geojson"): [Case("/api/reports.geojson", staff_list(),
                                           secrets={"West ward disturbance": W_READERS})],
    ("GET", "/api/reports/<int:report_id>"): [
        Case("/api/reports/{report_w}", read_w(), secrets=W_REPORT_SECRETS),
        Case("/api/reports/{missing}", answers(404, anonymous=401, planner=403, camera_w=403, gauge_w=403)),
    ],
    ("GET", "/api/reports/<int:report_id>/photos/<int:photo_id>"): [
        Case("/api/reports/{report_w}/photos/{photo_w}", read_w())],
    ("GET", "/reports/<int:report_id>"): [Case("/reports/{report_w}", read_w(anonymous=302),
                                               secrets=W_REPORT_SECRETS)],
    ("GET", "/maps/reports"): [Case("/maps/reports", staff_list(anonymous=302))],
    ("GET", "/reports"): [Case("/reports", staff_list(anonymous=302), secrets={"West ward disturbance": W_READERS})],
    # Where a call's report would go: officers placing one.
    ("GET", "/api/reports/placement"): [
        Case(f"/api/reports/placement?lon={EAST_INSIDE[0]}&lat={EAST_INSIDE[1]}&category=gay_roi",
             answers(403, anonymous=401, admin=200, officer_w=200, officer_e=200))],
    # Officers' writes on reports: each call works on a fresh report of the west ward.
    ("POST", "/api/reports/<int:report_id>/transition"): [
        Case("/api/reports/{report}/transition", write_w(200), json={"action": "acknowledge"},
             prepare=fresh_report, secrets={REPORTER_PHONE: W_UNIT})],
    ("POST", "/api/reports/<int:report_id>/comments"): [
        Case("/api/reports/{report}/comments", write_w(200), json={"text": "Đã cử người xuống xem"},
             prepare=fresh_report, secrets={REPORTER_PHONE: W_UNIT})],
    ("POST", "/api/reports/<int:report_id>/reassign"): [
        Case("/api/reports/{report}/reassign", write_w(200), json={"unit": "T-E-CA", "reason": "wrong ward"},
             prepare=fresh_report, secrets={REPORTER_PHONE: frozenset({"admin"})})],
    ("POST", "/api/reports/<int:report_id>/merge"): [
        Case("/api/reports/{report}/merge", write_w(200), json=lambda v: {"duplicates": [v["other"]]},
             prepare=lambda w: {"report": w.new_report(), "other": w.new_report()},
             secrets={REPORTER_PHONE: W_UNIT})],
    ("PATCH", "/api/reports/<int:report_id>/location"): [
        Case("/api/reports/{report}/location", write_w(200),
             json={"lon": WEST_INSIDE[0] + 0.001, "lat": WEST_INSIDE[1], "reason": "closer look"},
             prepare=fresh_report, secrets={REPORTER_PHONE: W_UNIT})],
    # Reference data, areas, QR codes and address search: public.
    ("GET", "/api/report-categories"): [Case("/api/report-categories", PUBLIC)],
    ("GET", "/api/areas"): [Case("/api/areas", PUBLIC)],
    ("GET", "/api/areas.geojson"): [Case("/api/areas.geojson?level=ward", PUBLIC)],
    ("GET", "/api/areas/lookup"): [Case(f"/api/areas/lookup?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}", PUBLIC)],
    ("GET", "/api/areas/<code>/qr/<kind>.<fmt>"): [Case("/api/areas/T-W/qr/police.png", PUBLIC)],
    # Keychain sheets: for the ward's officers (another ward's do not exist for them) and admins.
    ("GET", "/api/areas/<code>/keychains.pdf"): [
        Case("/api/areas/T-W/keychains.pdf?copies=1", answers(403, anonymous=401, admin=200, officer_w=200,
                                                              officer_e=404))],
    ("GET", "/keychains"): [Case("/keychains", answers(403, anonymous=302, admin=200, officer_w=200, officer_e=200))],
    # The gazetteer is built from the internal layer here: only staff find its addresses.
    ("GET", "/api/geocode"): [Case("/api/geocode?q=valve", PUBLIC, secrets={INTERNAL_ATTRIBUTE: STAFF})],
    ("GET", "/api/geocode/reverse"): [Case(f"/api/geocode/reverse?lon={PUMP[0]}&lat={PUMP[1]}", internal(),
                                           secrets={INTERNAL_ATTRIBUTE: STAFF})],
    # Layers: internal ones exist only for staff, on every way in.
    ("GET", "/api/layers"): [Case("/api/layers", PUBLIC, secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/api/layers/<name>"): [Case("/api/layers/tram-bom", internal(), secrets={INTERNAL_TITLE: STAFF}),
                                    Case("/api/layers/lo-dat", PUBLIC)],
    ("GET", "/api/layers/<name>/export"): [
        Case("/api/layers/tram-bom/export?format=geojson", internal(), secrets={INTERNAL_ATTRIBUTE: STAFF}),
        Case("/api/layers/lo-dat/export?format=csv", PUBLIC)],
    ("POST", "/api/layers"): [Case("/api/layers", planners(201), form=upload, prepare=counter_name("up"))],
    ("PUT", "/api/layers/<name>/data"): [Case("/api/layers/{name}/data", planners(200), form=upload,
                                              prepare=lambda w: {"name": w.new_layer()})],
    ("PATCH", "/api/layers/<name>"): [Case("/api/layers/{name}", planners(200), json={"description": "edited"},
                                           prepare=lambda w: {"name": w.new_layer()})],
    ("DELETE", "/api/layers/<name>"): [Case("/api/layers/{name}", planners(204),
                                            prepare=lambda w: {"name": w.new_layer()})],
    ("GET", "/maps/layers"): [Case("/maps/layers", PUBLIC, secrets={INTERNAL_TITLE: STAFF})],
    # The workspace's reads of a layer follow the layer's visibility; checking an edit is for planners.
    ("GET", "/api/layers/<name>/rows"): [Case("/api/layers/tram-bom/rows", internal(),
                                              secrets={INTERNAL_ATTRIBUTE: STAFF}),
                                         Case("/api/layers/lo-dat/rows?sort=tang&where.ma_lo=L0", PUBLIC)],
    ("GET", "/api/layers/<name>/values"): [Case("/api/layers/tram-bom/values?attribute=ten", internal(),
                                                secrets={INTERNAL_ATTRIBUTE: STAFF})],
    ("GET", "/api/layers/<name>/breaks"): [Case("/api/layers/lo-dat/breaks?attribute=tang&classes=2", PUBLIC)],
    ("GET", "/api/layers/<name>/style.<fmt>"): [Case("/api/layers/tram-bom/style.sld", internal(),
                                                     secrets={INTERNAL_TITLE: STAFF}),
                                                Case("/api/layers/lo-dat/style.qml", PUBLIC)],
    ("POST", "/api/layers/<name>/check"): [Case("/api/layers/lo-dat/check", planners(200), json=NEW_POLYGON)],
    # Uploads in steps: planners (and admins).
    ("POST", "/api/layer-imports"): [Case("/api/layer-imports", planners(201), json={"file_name": "x.geojson"})],
    ("GET", "/api/layer-imports/<int:import_id>"): [Case("/api/layer-imports/{import}", planners(200),
                                                         prepare=lambda w: w.new_import())],
    ("PUT", "/api/layer-imports/<int:import_id>/file"): [
        Case("/api/layer-imports/{import}/file", planners(200), form=upload, prepare=lambda w: w.new_import())],
    ("POST", "/api/layer-imports/<int:import_id>/read"): [
        Case("/api/layer-imports/{import}/read", planners(200), json={}, prepare=lambda w: w.new_import(read=True))],
    ("POST", "/api/layer-imports/<int:import_id>/publish"): [
        Case("/api/layer-imports/{import}/publish", planners(201), json=lambda v: {"name": v["name"]},
             prepare=lambda w: w.new_import(read=True))],
    ("DELETE", "/api/layer-imports/<int:import_id>"): [
        Case("/api/layer-imports/{import}", planners(204), prepare=lambda w: w.new_import())],
    # Planning projects: public unless drafts; planners change them.
    ("GET", "/api/projects"): [Case("/api/projects", PUBLIC, secrets={DRAFT_PROJECT: STAFF})],
    ("POST", "/api/projects"): [Case("/api/projects", planners(201), prepare=counter_name("proj"),
                                     json=lambda v: {"code": v["code"], "name": "New project"})],
    ("GET", "/api/projects/<code>"): [Case("/api/projects/QH-PUB", PUBLIC, secrets={INTERNAL_TITLE: STAFF}),
                                      Case("/api/projects/QH-DRAFT", internal(), secrets={DRAFT_PROJECT: STAFF})],
    ("PATCH", "/api/projects/<code>"): [Case("/api/projects/QH-PUB", planners(200), json={"description": "edited"},
                                             secrets={INTERNAL_TITLE: PLANNERS})],
    ("DELETE", "/api/projects/<code>"): [Case("/api/projects/{code}", planners(204),
                                              prepare=lambda w: w.new_project())],
    ("POST", "/api/projects/<code>/documents"): [
        Case("/api/projects/QH-PUB/documents", planners(201),
             form=lambda v: {"file": (io.BytesIO(pdf_bytes()), "decision.pdf")})],
    ("GET", "/api/projects/<code>/documents/<int:document_id>"): [
        Case("/api/projects/QH-PUB/documents/{document}", PUBLIC)],
    ("DELETE", "/api/projects/<code>/documents/<int:document_id>"): [
        Case("/api/projects/QH-PUB/documents/{document}", planners(204), prepare=lambda w: w.new_document())],
    ("GET", "/planning/projects"): [Case("/planning/projects", PUBLIC, secrets={DRAFT_PROJECT: STAFF})],
    ("GET", "/planning/projects/<code>"): [Case("/planning/projects/QH-PUB", PUBLIC, secrets={INTERNAL_TITLE: STAFF}),
                                           Case("/planning/projects/QH-DRAFT", internal(),
                                                secrets={DRAFT_PROJECT: STAFF})],
    # The planners' workspace pages: planners and admins; the anonymous are sent to sign in.
    ("GET", "/planning"): [Case("/planning", workspace(), secrets={INTERNAL_TITLE: PLANNERS,
                                                                  DRAFT_PROJECT: PLANNERS})],
    ("GET", "/planning/upload"): [Case("/planning/upload", workspace())],
    ("GET", "/planning/layers/<name>"): [Case("/planning/layers/tram-bom", workspace(),
                                              secrets={INTERNAL_TITLE: PLANNERS})],
    ("GET", "/planning/layers/<name>/style"): [Case("/planning/layers/tram-bom/style", workspace(),
                                                    secrets={INTERNAL_TITLE: PLANNERS})],
    ("GET", "/planning/layers/<name>/edit"): [Case("/planning/layers/tram-bom/edit", workspace(),
                                                   secrets={INTERNAL_TITLE: PLANNERS})],
    ("GET", "/planning/layers/<name>/features/<int:fid>"): [
        Case("/planning/layers/tram-bom/features/1", workspace(),
             secrets={INTERNAL_TITLE: PLANNERS, INTERNAL_ATTRIBUTE: PLANNERS})],
    # A layer's history and restores: planners (and admins).
    ("GET", "/api/layers/<name>/changes"): [Case("/api/layers/lo-dat/changes", planners(200))],
    ("GET", "/api/layers/<name>/features/<int:fid>/versions"): [
        Case("/api/layers/lo-dat/features/1/versions", planners(200))],
    ("POST", "/api/layers/<name>/features/<int:fid>/restore"): [
        Case("/api/layers/{name}/features/1/restore", planners(200), json=lambda v: {"version": v["version"]},
             prepare=lambda w: w.new_edited_layer())],
    ("POST", "/api/layers/<name>/restore"): [
        Case("/api/layers/{name}/restore", planners(200), json=lambda v: {"at": datetime.now(UTC).isoformat()},
             prepare=lambda w: {"name": w.new_layer()})],
    ("GET", "/api/identify"): [
        Case(f"/api/identify?lon={PUMP[0]}&lat={PUMP[1]}&tolerance_m=50", PUBLIC, secrets=INTERNAL_LAYER),
        Case(f"/api/identify?lon={PUMP[0]}&lat={PUMP[1]}&layers=tram-bom", internal(), secrets=INTERNAL_LAYER)],
    ("GET", "/ogc"): [Case("/ogc", PUBLIC)],
    ("GET", "/ogc/"): [Case("/ogc/", PUBLIC)],
    ("GET", "/ogc/api"): [Case("/ogc/api", PUBLIC)],
    ("GET", "/ogc/conformance"): [Case("/ogc/conformance", PUBLIC)],
    ("GET", "/ogc/collections"): [Case("/ogc/collections", PUBLIC, secrets={INTERNAL_TITLE: STAFF}),
                                  Case("/ogc/collections?f=html", PUBLIC, secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/ogc/collections/<collection_id>"): [
        Case("/ogc/collections/tram-bom", internal(), secrets={INTERNAL_TITLE: STAFF}),
        Case("/ogc/collections/lo-dat", PUBLIC)],
    ("GET", "/ogc/collections/<collection_id>/items"): [
        Case("/ogc/collections/tram-bom/items", internal(), secrets={INTERNAL_ATTRIBUTE: STAFF}),
        Case("/ogc/collections/tram-bom/items?f=html", internal(), secrets=INTERNAL_LAYER),
        Case("/ogc/collections/lo-dat/items", PUBLIC)],
    ("GET", "/ogc/collections/<collection_id>/items/<feature_id>"): [
        Case("/ogc/collections/tram-bom/items/1", internal(), secrets={INTERNAL_ATTRIBUTE: STAFF})],
    # OGC API - Features Part 4: planners (and admins) edit features, each call on a fresh layer.
    ("POST", "/ogc/collections/<collection_id>/items"): [
        Case("/ogc/collections/{name}/items", planners(201), json=NEW_POINT,
             prepare=lambda w: {"name": w.new_layer()})],
    # Changes name the version they change (If-Match; without it a planner gets 428, tests/layers/test_history.py).
    ("PUT", "/ogc/collections/<collection_id>/items/<feature_id>"): [
        Case("/ogc/collections/{name}/items/1", planners(200), json=NEW_POINT,
             prepare=lambda w: {"name": w.new_layer()}, headers={"If-Match": "*"})],
    ("PATCH", "/ogc/collections/<collection_id>/items/<feature_id>"): [
        Case("/ogc/collections/{name}/items/1", planners(200), json={"properties": {"ten": "y"}},
             prepare=lambda w: {"name": w.new_layer()}, headers={"If-Match": "*"})],
    ("DELETE", "/ogc/collections/<collection_id>/items/<feature_id>"): [
        Case("/ogc/collections/{name}/items/1", planners(204), prepare=lambda w: {"name": w.new_layer()},
             headers={"If-Match": "*"})],
    ("GET", "/ogc/collections/<collection_id>/queryables"): [Case("/ogc/collections/tram-bom/queryables", internal(),
                                                                  secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/ogc/tileMatrixSets"): [Case("/ogc/tileMatrixSets", PUBLIC)],
    ("GET", "/ogc/tileMatrixSets/<tile_matrix_set_id>"): [Case("/ogc/tileMatrixSets/WebMercatorQuad", PUBLIC)],
    ("GET", "/ogc/collections/<collection_id>/tiles"): [
        Case("/ogc/collections/tram-bom/tiles", internal(), secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/ogc/collections/<collection_id>/tiles/<tile_matrix_set_id>"): [
        Case("/ogc/collections/tram-bom/tiles/WebMercatorQuad", internal(), secrets={INTERNAL_TITLE: STAFF}),
        Case("/ogc/collections/tram-bom/tiles/WebMercatorQuad?f=tilejson", internal(),
             secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/ogc/collections/<collection_id>/tiles/<tile_matrix_set_id>/<tile_matrix>/<tile_row>/<tile_col>"): [
        Case("/ogc/collections/tram-bom/tiles/WebMercatorQuad/0/0/0", internal(),
             secrets={INTERNAL_ATTRIBUTE: STAFF}),
        Case("/ogc/collections/lo-dat/tiles/WebMercatorQuad/0/0/0", PUBLIC)],
    ("GET", "/api/layers/<name>/tiles.json"): [
        Case("/api/layers/tram-bom/tiles.json", internal(), secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/api/layers/<name>/tiles/<z>/<x>/<y>.mvt"): [
        Case("/api/layers/tram-bom/tiles/0/0/0.mvt", internal(), secrets={INTERNAL_ATTRIBUTE: STAFF}),
        Case("/api/layers/lo-dat/tiles/0/0/0.mvt", PUBLIC)],
    # Cameras: public facts, but the stream address only for staff; each writes only for itself.
    ("GET", "/api/cameras"): [Case("/api/cameras", PUBLIC, secrets={STREAM_URL: STAFF})],
    ("GET", "/api/cameras/<code>"): [Case("/api/cameras/CAM-W", PUBLIC, secrets={STREAM_URL: STAFF})],
    ("GET", "/api/cameras.geojson"): [Case("/api/cameras.geojson", PUBLIC)],
    ("GET", "/api/cameras/seeing"): [Case(f"/api/cameras/seeing?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}", PUBLIC)],
    ("GET", "/api/cameras/export"): [Case("/api/cameras/export?format=csv", staff_list(planner=200))],
    ("POST", "/api/cameras/import"): [Case("/api/cameras/import", manages_camera_w(200), form=camera_file,
                                           prepare=counter_name("imp"))],
    ("GET", "/api/reports/<int:report_id>/cameras"): [Case("/api/reports/{report_w}/cameras", read_w())],
    ("POST", "/api/cameras"): [Case("/api/cameras", manages_camera_w(201), prepare=counter_name("new"),
                                    json=lambda v: {"code": v["code"], "name": "New camera", "fov": 360,
                                                    "lon": WEST_INSIDE[0] + 0.002, "lat": WEST_INSIDE[1]})],
    ("PATCH", "/api/cameras/<code>"): [Case("/api/cameras/{code}", manages_camera_w(200), json={"name": "Renamed"},
                                            prepare=lambda w: {"code": w.new_camera()})],
    ("DELETE", "/api/cameras/<code>"): [Case("/api/cameras/{code}", admins(204),
                                             prepare=lambda w: {"code": w.new_camera()})],
    ("POST", "/api/cameras/<code>/heartbeat"): [Case("/api/cameras/CAM-W/heartbeat", speaks_for_camera_w(200))],
    ("POST", "/api/cameras/<code>/events"): [
        Case("/api/cameras/CAM-W/events", speaks_for_camera_w(201),
             json=lambda v: {"type": "fire", "confidence": 0.7, "at": datetime.now(UTC).isoformat()})],
    # Flood hotspots: readings public; a gauge writes its own hotspot only.
    ("GET", "/flood"): [Case("/flood", PUBLIC)],
    ("GET", "/flood/<code>"): [Case("/flood/HS-W", PUBLIC)],
    ("GET", "/api/hotspots"): [Case("/api/hotspots", PUBLIC)],
    ("GET", "/api/hotspots/<code>/readings"): [Case("/api/hotspots/HS-W/readings", PUBLIC)],
    ("POST", "/api/hotspots/readings"): [
        Case("/api/hotspots/readings", writes_gauge_w(201), prepare=lambda w: {"at": w.moment()},
             json=lambda v: {"readings": [{"hotspot": "HS-W", "at": v["at"], "level_cm": 12.5}]})],
    # AI alerts: scoped like reports.
    ("GET", "/api/alerts"): [Case("/api/alerts", staff_list())],
    ("GET", "/api/alerts/<int:alert_id>"): [Case("/api/alerts/{alert_w}", read_w())],
    ("POST", "/api/alerts/<int:alert_id>/transition"): [
        Case("/api/alerts/{alert_w}/transition", write_w(200), json={"action": "acknowledge"},
             prepare=lambda w: w.reset_alert())],
    # Leaders' summaries: read by leaders (and admins) over their subtree; outside it the area does not exist.
    ("GET", "/leader"): [Case("/leader", leads(302, anonymous=302))],
    ("GET", "/maps/leader"): [Case("/maps/leader?area=T-W", leads(anonymous=302)),
                              Case("/maps/leader?area=T", leads(anonymous=302, leader_w=404))],
    ("GET", "/summaries/<code>"): [Case("/summaries/T-W", leads(anonymous=302)),
                                   Case("/summaries/T", leads(anonymous=302, leader_w=404))],
    ("GET", "/summaries/<code>/records"): [
        Case("/summaries/T-W/records?measure=open", leads(anonymous=302),
             secrets={"West ward disturbance": W_READERS}, must_show=False),
        Case("/summaries/T-E/records", leads(anonymous=302, leader_w=404))],
    ("GET", "/api/summaries/<code>"): [Case("/api/summaries/T-W", leads()),
                                       Case("/api/summaries/T", leads(leader_w=404))],
    ("GET", "/api/summaries/<code>/export.<fmt>"): [Case("/api/summaries/T-W/export.csv", leads()),
                                                    Case("/api/summaries/T/export.pdf", leads(leader_w=404))],
    ("GET", "/api/summaries/<code>/records"): [
        Case("/api/summaries/T-W/records?per_page=500", leads(), secrets={"West ward disturbance": W_READERS}),
        Case("/api/summaries/T-E/records", leads(leader_w=404))],
    ("GET", "/api/summaries/<code>/records.<fmt>"): [Case("/api/summaries/T-W/records.csv", leads())],
    ("GET", "/api/summaries/<code>/map"): [Case("/api/summaries/T/map", leads(leader_w=404))],
    # Dashboards: leaders (and admins) only; one they may not see does not exist for them; only its owner (or an
    # admin) changes it. The indicator catalog lists internal layers to people, as the layer catalog does.
    ("GET", "/api/indicators"): [Case("/api/indicators", leads(), secrets={INTERNAL_TITLE: STAFF})],
    ("GET", "/api/dashboards"): [Case("/api/dashboards", leads())],
    ("POST", "/api/dashboards"): [Case("/api/dashboards", leads(201), json={"title": "New", "panels": []})],
    ("GET", "/api/dashboards/<int:dashboard_id>"): [Case("/api/dashboards/{dash_shared}", leads()),
                                                    Case("/api/dashboards/{dash_w}", own_dashboard(200))],
    ("PUT", "/api/dashboards/<int:dashboard_id>"): [
        Case("/api/dashboards/{dashboard}", own_dashboard(200), json={"title": "Renamed"},
             prepare=lambda w: {"dashboard": w.new_dashboard()})],
    ("DELETE", "/api/dashboards/<int:dashboard_id>"): [
        Case("/api/dashboards/{dashboard}", own_dashboard(204), prepare=lambda w: {"dashboard": w.new_dashboard()})],
    ("POST", "/api/dashboards/<int:dashboard_id>/copy"): [Case("/api/dashboards/{dash_shared}/copy", leads(201))],
    ("GET", "/api/dashboards/<int:dashboard_id>/data"): [Case("/api/dashboards/{dash_shared}/data", leads())],
    ("POST", "/api/dashboards/preview"): [
        Case("/api/dashboards/preview?area=T-W", leads(), json={"panels": [NUMBER_PANEL]})],
    # A weekly mail is one's own (the world's leaders have given no email yet: a clear 400 says where to give it).
    ("GET", "/api/dashboards/<int:dashboard_id>/mail"): [Case("/api/dashboards/{dash_shared}/mail", leads())],
    ("PUT", "/api/dashboards/<int:dashboard_id>/mail"): [Case("/api/dashboards/{dash_shared}/mail", leads(400),
                                                              json={"weekday": 1, "hour": 7})],
    ("DELETE", "/api/dashboards/<int:dashboard_id>/mail"): [Case("/api/dashboards/{dash_w}/mail",
                                                                 own_dashboard(204))],
    ("GET", "/api/dashboards/<int:dashboard_id>/export.<fmt>"): [
        Case("/api/dashboards/{dash_w}/export.xlsx", own_dashboard(200))],
    ("GET", "/api/dashboard-displays"): [Case("/api/dashboard-displays", leads())],
    ("POST", "/api/dashboard-displays"): [Case("/api/dashboard-displays", leads(201),
                                               json=lambda v: {"name": "Wall", "dashboards": [v["dash_shared"]]})],
    ("DELETE", "/api/dashboard-displays/<int:display_id>"): [
        Case("/api/dashboard-displays/{display}", own_dashboard(204), prepare=lambda w: {"display": w.new_display()})],
    ("GET", "/dashboards"): [Case("/dashboards", leads(anonymous=302))],
    ("GET", "/dashboards/<int:dashboard_id>"): [Case("/dashboards/{dash_w}", own_dashboard(200, anonymous=302))],
    ("GET", "/dashboards/camera-records"): [Case("/dashboards/camera-records?area=T-W", leads(anonymous=302))],
    ("GET", "/dashboards/hotspot-records"): [Case("/dashboards/hotspot-records?area=T-W&level=warning",
                                                  leads(anonymous=302))],
    ("GET", "/dashboards/layer-records"): [
        Case("/dashboards/layer-records?layer=tram-bom&measure=count&area=T-W", leads(anonymous=302),
             secrets=INTERNAL_LAYER)],
    # The wall: a display token's cookie is its only key (bearer tokens and sessions open nothing there).
    # The wall page itself only opens a display link when it holds no token.
    ("POST", "/wall/open"): [Case("/wall/open", answers(204), json=lambda v: {"token": v["wall_secret"]})],
    ("GET", "/wall"): [Case("/wall", PUBLIC)],
    ("GET", "/wall/data/<int:dashboard_id>"): [Case("/wall/data/{dash_w}", answers(401))],
    # Dossier exports come from the one-stop shops' system: admins, or a machine token for that job.
    ("POST", "/api/dossiers/import"): [Case("/api/dossiers/import", admins(201), form=dossier_file)],
}


def _rules(app) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    rules = _rules(app)
    missing = sorted(rules - set(ROUTES))
    stale = sorted(set(ROUTES) - rules)
    assert not missing, f"routes with no row in ROUTES (say who may use them): {missing}"
    assert not stale, f"rows in ROUTES for routes that no longer exist: {stale}"


@pytest.fixture
def world(app, db, tmp_path):
    from reports.areas.gazetteer import build_gazetteer

    built = build_world(app, db, tmp_path)
    build_gazetteer(db, "tram-bom", ["ten"])
    db.commit()
    return built


def _send(client, world, method: str, case: Case, headers: dict):
    values = dict(world.names)
    if case.prepare:
        values.update(case.prepare(world) or {})
    path = case.path.format(**values)
    body = case.json(values) if callable(case.json) else case.json
    form = case.form(values) if callable(case.form) else case.form
    response = client.open(path, method=method, headers={**headers, **case.headers}, json=body, data=form)
    return path, response


def _problems(caller: str, method: str, path: str, case: Case, response, expected: int, how: str = "") -> list[str]:
    where = f"{method} {path} as {caller}{how}"
    if response.status_code != expected:
        return [f"{where}: expected {expected}, got {response.status_code} {response.get_data()[:160]!r}"]
    body = response.get_data().decode("utf-8", "replace")  # tiles, images and PDFs too
    # Every answer carries the security headers; no page holds inline code the policy's nonce does not cover.
    problems = [f"{where}: {problem}" for problem in header_problems(response) + page_problems(response)]
    for secret in SECRETS + tuple(s for s in case.secrets if s not in SECRETS):
        insiders = case.secrets.get(secret, NOBODY)
        allowed = caller in insiders and response.status_code < 400
        if secret in body and not allowed:
            problems.append(f"{where}: answer ({response.status_code}) discloses {secret!r}")
        elif allowed and case.must_show and secret not in body and response.status_code < 300:
            problems.append(f"{where}: an insider did not get {secret!r}")
    return problems


def test_matrix_of_callers_and_routes(app, world):
    """Every row, every caller (bearer tokens): the expected status and no text the caller may not have."""
    problems = []
    for (method, _rule), cases in ROUTES.items():
        for case in cases:
            for caller in CALLERS:
                path, response = _send(app.test_client(), world, method, case, world.headers[caller])
                problems += _problems(caller, method, path, case, response, case.expect[caller])
    assert not problems, "\n".join(problems)


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf-token" content="([^"]+)"', html).group(1).decode()


def signed_in(app, caller: str):
    """A browser signed in as *caller* through the login form (admins and planners set up their code on the way)."""
    client = app.test_client()
    response, _secret = sign_in(client, caller.replace("_", "-"), PASSWORD)
    assert response.status_code in (200, 302), response.data[:300]
    return client


# Posts that never carry a CSRF token, and why they change nothing a forger could want.
CSRF_EXEMPT = {"/csp-report": "browsers post their own violation reports; the view only logs them"}


def test_csrf_exempt_views_are_the_listed_ones(app):
    from gisserver.core.access import CSRF_EXEMPT_ATTRIBUTE

    exempt = {rule.rule for rule in app.url_map.iter_rules()
              if getattr(app.view_functions[rule.endpoint], CSRF_EXEMPT_ATTRIBUTE, None)}
    assert exempt == set(CSRF_EXEMPT)


# With a session (not a token), the password form is the signed-in user's own.
SESSION_DIFFERENCES = {("GET", "/account/password"): 200, ("GET", "/account"): 200}


def test_pages_and_reads_with_a_session_cookie_answer_as_with_a_token(app, world):
    """The same rows read through a signed-in browser: one rule, whichever way the caller proves who it is."""
    problems = []
    for caller in PEOPLE:
        client = signed_in(app, caller)
        for (method, rule), cases in ROUTES.items():
            if method != "GET" or rule == "/lang/<code>":  # keep the browser's language as it is
                continue
            for case in cases:
                expected = SESSION_DIFFERENCES.get((method, rule), case.expect[caller])
                path, response = _send(client, world, method, case, {})
                problems += _problems(caller, method, path, case, response, expected, " (session)")
    assert not problems, "\n".join(problems)


def test_no_state_change_rides_on_a_session_without_its_csrf_token(app, world):
    """Every unsafe route, posted from a signed-in browser without the CSRF token: refused, nothing written."""
    client = signed_in(app, "admin")
    problems = []
    for (method, rule), cases in ROUTES.items():
        if method not in UNSAFE or rule in CSRF_EXEMPT:
            continue
        path, response = _send(client, world, method, cases[0], {})
        refused = response.status_code == 400 and response.get_json()["error"]["code"] == "csrf_failed"
        if not refused:
            problems.append(f"{method} {path}: {response.status_code} {response.get_data()[:120]!r}")
    assert not problems, "\n".join(problems)
    world.session.rollback()
    assert world.session.execute(text("SELECT count(*) FROM audit_log WHERE actor = 'user:admin'")).scalar() == 0
    # The same browser with its token in the header gets through: the check above is not vacuous.
    token = _csrf(client.get("/").data)
    report_id = world.new_report()
    done = client.post(f"/api/reports/{report_id}/transition", json={"action": "acknowledge"},
                       headers={"X-CSRFToken": token})
    assert done.status_code == 200, done.get_data(as_text=True)
