"""Dashboards: sharing re-evaluated under the viewer's rights, ward templates and where a leader lands, every
refusal of bad input (nothing changed), and the wall display's token."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from shapely.geometry import LineString
from sqlalchemy import func, select, text

from gisserver.accounts.users import create_user, grant
from gisserver.core.audit import AuditEntry
from layers.importing import ImportOptions, import_layer
from reports.areas.service import area_by_code
from reports.dashboards.models import Dashboard
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.reports.summaries.helpers import file

PASSWORD = "correct horse battery"
NUMBER = {"id": "n", "chart": "number", "indicators": [{"key": "reports_received"}]}
BY_AREA = {"id": "t", "chart": "table", "indicators": [{"key": "reports_received"}]}


@pytest.fixture
def world(city, auth_headers, tmp_path):
    for days in (1, 2):
        file(city, WEST_INSIDE, days)
    file(city, EAST_INSIDE, 3)
    drains = gpd.GeoDataFrame({"size": [400]}, geometry=[LineString([(107.55, 16.43), (107.65, 16.44)])], crs=4326)
    drains.to_file(tmp_path / "drains.geojson")
    import_layer(city, tmp_path / "drains.geojson", ImportOptions(name="drains", visibility="internal"))
    city.commit()
    ids = {code: area_by_code(city, code).id for code in ("T", "T-W", "T-E")}
    return {"db": city, "admin": auth_headers("admin"), "city": auth_headers("leader", area_ids=[ids["T"]]),
            "west": auth_headers("leader", area_ids=[ids["T-W"]]),
            "east": auth_headers("leader", area_ids=[ids["T-E"]]), "officer": auth_headers("officer")}


def make(client, headers, **body):
    body.setdefault("title", "Bảng điều hành")
    response = client.post("/api/dashboards", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def data(client, headers, dashboard_id, **query):
    return client.get(f"/api/dashboards/{dashboard_id}/data", headers=headers, query_string=query)


def test_shared_dashboards_show_each_viewer_only_their_own_areas(client, world):
    pinned = {"id": "east", "chart": "number", "indicators": [{"key": "reports_received"}], "area": "T-E"}
    shared = make(client, world["city"], area="T", panels=[BY_AREA, pinned], share={"roles": ["leader"]})
    private = make(client, world["city"], area="T", panels=[NUMBER])
    by_area = make(client, world["city"], area="T", panels=[NUMBER], share={"areas": ["T-E"]})
    # The author sees the city, its wards and the panel fixed on the east ward.
    mine = data(client, world["city"], shared["id"]).get_json()
    assert mine["area"]["code"] == "T"
    assert {p["key"] for p in mine["panels"][0]["series"][0]["points"]} == {"T-E", "T-W"}
    assert mine["panels"][1]["series"][0]["value"] == 1
    # The west ward's leader: the dashboard opens on their ward, the east panel says it is not theirs.
    west = data(client, world["west"], shared["id"]).get_json()
    assert west["area"]["code"] == "T-W" and west["breadcrumb"] == [{"code": "T-W", "name": "Phường Tây"}]
    assert west["panels"][0]["series"][0]["value"] == 2
    assert west["panels"][1]["error"]["status"] == 404 and west["panels"][1]["series"] == []
    assert data(client, world["west"], shared["id"], area="T").status_code == 404
    assert data(client, world["west"], shared["id"], compare_area="T-E").status_code == 404
    # Not shared with them: not there at all; shared with an area: its leaders only.
    assert client.get(f"/api/dashboards/{private['id']}", headers=world["west"]).status_code == 404
    assert client.get(f"/api/dashboards/{by_area['id']}", headers=world["west"]).status_code == 404
    assert data(client, world["east"], by_area["id"]).get_json()["area"]["code"] == "T-E"
    listing = client.get("/api/dashboards", headers=world["west"]).get_json()
    assert [d["id"] for d in listing["shared"]] == [shared["id"]] and listing["mine"] == []
    # Only the owner changes it; others copy it, and a copy holds nothing its new owner may not see.
    assert client.put(f"/api/dashboards/{shared['id']}", json={"title": "x"}, headers=world["west"]).status_code == 403
    assert client.delete(f"/api/dashboards/{shared['id']}", headers=world["west"]).status_code == 403
    assert client.post(f"/api/dashboards/{shared['id']}/copy", headers=world["west"]).status_code == 404
    copy = client.post(f"/api/dashboards/{private['id']}/copy", headers=world["city"])
    assert copy.status_code == 201 and copy.get_json()["area"] == "T"
    # Officers do not open dashboards.
    assert client.get("/api/dashboards", headers=world["officer"]).status_code == 403
    # A second editor's stale save is refused.
    first = client.put(f"/api/dashboards/{private['id']}", json={"title": "Một", "version": 1}, headers=world["city"])
    assert first.status_code == 200 and first.get_json()["version"] == 2
    stale = client.put(f"/api/dashboards/{private['id']}", json={"title": "Hai", "version": 1}, headers=world["city"])
    assert stale.status_code == 409 and stale.get_json()["error"]["details"]["version"] == 2


def _sign_in(app, username):
    browser = app.test_client()
    page = browser.get("/login").data
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page).group(1).decode()
    return browser.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})


def test_ward_templates_open_on_each_leaders_own_ward_and_greet_them(app, client, world):
    panels = [NUMBER, {"id": "groups", "chart": "ranking", "indicators": [{"key": "reports_received"}]}]
    refused = client.post("/api/dashboards", json={"title": "Mẫu", "template": True, "panels": panels},
                          headers=world["city"])
    assert refused.status_code == 403
    template = make(client, world["admin"], title="Phường của tôi", template=True, panels=panels)
    west = data(client, world["west"], template["id"]).get_json()
    assert west["area"]["code"] == "T-W" and west["panels"][0]["series"][0]["value"] == 2
    ranking = west["panels"][1]["series"][0]["points"]  # the ward's groups, most reports first
    assert [(p["key"], p["value"], p["rank"]) for p in ranking] == [("T-W-01", 2, 1), ("T-W-02", 0, 2)]
    east = data(client, world["east"], template["id"]).get_json()
    assert east["area"]["code"] == "T-E" and east["panels"][0]["series"][0]["value"] == 1
    assert data(client, world["city"], template["id"]).get_json()["area"]["code"] == "T-E"  # the first ward
    assert client.get("/api/dashboards", headers=world["west"]).get_json()["templates"][0]["id"] == template["id"]
    # A newcomer leading a ward signs in and lands on the template, on their ward; others on the start page.
    db = world["db"]
    newcomer = create_user(db, "ward-newcomer", PASSWORD, ["leader"])
    grant(db, newcomer, area_id=area_by_code(db, "T-W").id)
    create_user(db, "an-officer", PASSWORD, ["officer"])
    db.commit()
    landed = _sign_in(app, "ward-newcomer")
    assert landed.status_code == 302 and landed.headers["Location"].endswith(f"/dashboards/{template['id']}")
    assert _sign_in(app, "an-officer").headers["Location"] == "/"


def _snapshot(db) -> tuple:
    db.rollback()
    return (db.scalar(select(func.count()).select_from(Dashboard)),
            db.execute(text("SELECT string_agg(id || ':' || version, ',' ORDER BY id) FROM dashboards")).scalar(),
            db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.table_name != "api_tokens")))


BAD_PANELS = {
    "unknown indicator": ([{"id": "a", "chart": "number", "indicators": [{"key": "reports_stolen"}]}], 400),
    "area outside the caller's scope": ([{**NUMBER, "area": "T-E"}], 404),
    "unknown area": ([{**NUMBER, "area": "NOWHERE"}], 404),
    "unknown layer": ([{"id": "a", "chart": "number", "indicators": [{"key": "layer_count", "layer": "nope"}]}],
                      404),
    "length of points": ([{"id": "a", "chart": "number", "indicators": [{"key": "layer_area", "layer": "drains"}]}],
                         400),
    "from after to": ([{**NUMBER, "period": {"from": "2026-03-01", "to": "2026-01-01"}}], 400),
    "four years": ([{**NUMBER, "period": {"from": "2021-01-01", "to": "2025-01-01"}}], 400),
    "year 1900": ([{**NUMBER, "period": {"from": "1900-01-01", "to": "1900-02-01"}}], 400),
    "year 9999": ([{**NUMBER, "period": {"from": "9999-12-01", "to": "9999-12-31"}}], 400),
    "no days": ([{**NUMBER, "period": {"last_days": 0}}], 400),
    "a million days": ([{**NUMBER, "period": {"last_days": 1_000_000}}], 400),
    "not a date": ([{**NUMBER, "period": {"from": "hôm qua", "to": "2026-01-01"}}], 400),
    "a line of a figure of now": ([{"id": "a", "chart": "line", "indicators": [{"key": "cameras_online"}]}], 400),
    "a gauge of a count": ([{"id": "a", "chart": "gauge", "indicators": [{"key": "reports_received"}]}], 400),
    "two maps in one": ([{"id": "a", "chart": "choropleth", "indicators": [{"key": "reports_received"},
                                                                          {"key": "reports_overdue"}]}], 400),
    "kind without by": ([{"id": "a", "chart": "bar", "dimension": "group",
                          "indicators": [{"key": "reports_received"}]}], 400),
    "same id twice": ([NUMBER, NUMBER], 400),
    "unknown field": ([{**NUMBER, "script": "alert(1)"}], 400),
    "bad id": ([{**NUMBER, "id": "<b>"}], 400),
    "width 13": ([{**NUMBER, "width": 13}], 400),
    "width true": ([{**NUMBER, "width": True}], 400),
    "25 panels": ([{**NUMBER, "id": f"p{i}"} for i in range(25)], 400),
    "not a list": ({"id": "a"}, 400),
}


def test_every_refusal_is_clear_and_changes_nothing(client, world):
    west = world["west"]
    kept = make(client, west, panels=[NUMBER])
    before = _snapshot(world["db"])
    problems = []

    def expect(response, status, what):
        body = response.get_json(silent=True) or {}
        if response.status_code != status or not body.get("error", {}).get("message"):
            problems.append(f"{what}: {response.status_code} {str(body)[:200]}")

    for what, (panels, status) in BAD_PANELS.items():
        expect(client.post("/api/dashboards", json={"title": "x", "panels": panels}, headers=west), status, what)
        expect(client.put(f"/api/dashboards/{kept['id']}", json={"panels": panels}, headers=west), status, what)
        expect(client.post("/api/dashboards/preview", json={"panels": panels}, headers=west), status, what)
    for what, body, status in (
            ("malformed JSON", b'{"title": ', 400), ("NaN", b'{"title": "x", "panels": [], "version": NaN}', 400),
            ("deep", b"[" * 5000 + b"]" * 5000, 400), ("huge", b'{"title": "' + b"x" * 300_000 + b'"}', 413),
            ("long title", ('{"title": "' + "x" * 201 + '"}').encode(), 400),
            ("share with officers", b'{"title": "x", "share": {"roles": ["officer"]}}', 400),
            ("share outside", b'{"title": "x", "share": {"areas": ["T-E"]}}', 404),
            ("template", b'{"title": "x", "template": true}', 403),
            ("unknown category", b'{"title": "x", "filters": {"category": "khong_co"}}', 400)):
        expect(client.post("/api/dashboards", data=body, content_type="application/json", headers=west), status,
               what)
    for query, status in (({"from": "2026-02-01", "to": "2026-01-01"}, 400), ({"last_days": "-3"}, 400),
                          ({"area": "T"}, 404), ({"compare_area": "T-E"}, 404), ({"category": "x y"}, 400),
                          ({"from": "2026-01-01"}, 400), ({"compare_area": "T-W", "compare_last_days": "7"}, 400)):
        expect(data(client, west, kept["id"], **query), status, f"data {query}")
    expect(client.get(f"/api/dashboards/{kept['id']}/export.doc", headers=west), 400, "export as doc")
    expect(client.post("/api/dashboard-displays", json={"name": "x", "dashboards": [kept["id"] + 99]},
                       headers=west), 404, "a display of someone else's dashboard")
    expect(client.post("/api/dashboard-displays", json={"name": "x", "dashboards": [kept["id"]],
                                                         "refresh_seconds": 1}, headers=west), 400, "refresh 1 s")
    assert not problems, "\n".join(problems)
    assert _snapshot(world["db"]) == before


def test_wall_display_token_read_only_scoped_and_revocable(app, client, world):
    internal = {"id": "drains", "chart": "number", "indicators": [{"key": "layer_length", "layer": "drains"}]}
    shown = make(client, world["west"], panels=[NUMBER, internal])
    other = make(client, world["west"], panels=[NUMBER])
    # The leader sees the internal layer's statistic; the wall, a machine, does not.
    assert data(client, world["west"], shown["id"]).get_json()["panels"][1]["series"][0]["value"] > 0
    made = client.post("/api/dashboard-displays", json={"name": "Phòng điều hành", "dashboards": [shown["id"]],
                                                         "refresh_seconds": 30}, headers=world["west"])
    assert made.status_code == 201
    secret = made.get_json()["token"]
    # The secret travels in the link's fragment (never sent in a GET, never in a log), posted once by the page.
    assert made.get_json()["url"].endswith(f"/wall#{secret}") and secret.startswith("gsd_")
    screen = app.test_client()
    assert b'"dashboards": null' in screen.get("/wall").data  # no token yet: the page only opens a link
    assert screen.get(f"/wall/data/{shown['id']}").status_code == 401
    opened = screen.post("/wall/open", json={"token": secret})
    assert opened.status_code == 204
    assert "HttpOnly" in opened.headers["Set-Cookie"] and "Path=/wall" in opened.headers["Set-Cookie"]
    page = screen.get("/wall")
    assert page.status_code == 200 and f'"id": {shown["id"]}'.encode() in page.data and b"<script>" not in page.data
    wall = screen.get(f"/wall/data/{shown['id']}", headers={"Accept": "application/json"})
    assert wall.status_code == 200 and wall.headers["Cache-Control"] == "no-store"
    panels = wall.get_json()["panels"]
    assert panels[0]["series"][0]["value"] == 2 and wall.get_json()["area"]["code"] == "T-W"
    assert panels[1]["error"]["status"] == 404 and panels[1]["series"] == []
    assert screen.get(f"/wall/data/{other['id']}").status_code == 404  # not one of its dashboards
    # The token is no key to the API or to a leader's pages, and it writes nothing.
    assert client.get("/api/dashboards", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert screen.get(f"/dashboards/{shown['id']}").status_code == 302
    assert screen.post(f"/wall/data/{shown['id']}").status_code == 405
    assert app.test_client().post("/wall/open", json={"token": "gsd_not-a-real-one"}).status_code == 401
    # Revoked: the screen stops at its next refresh.
    display = made.get_json()["id"]
    assert client.delete(f"/api/dashboard-displays/{display}", headers=world["east"]).status_code == 404
    assert client.get("/api/dashboard-displays", headers=world["west"]).get_json()["displays"][0]["id"] == display
    assert client.delete(f"/api/dashboard-displays/{display}", headers=world["west"]).status_code == 204
    assert screen.get(f"/wall/data/{shown['id']}").status_code == 401
