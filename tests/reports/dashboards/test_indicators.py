"""Every indicator of the catalog checked against figures recomputed here from the raw rows; comparison of two
areas and of two periods; the PDF (vector, a page per screen) and the XLSX of a dashboard."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.dashboards.indicators import CATALOG
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.reports.dashboards.helpers import (
    alert_truth,
    build_everything,
    camera_truth,
    dossier_truth,
    hotspot_truth,
)
from tests.reports.summaries.helpers import TZ, Truth, ancestors_now, exact_percentile, file, local_start

DAYS = 100
REPORTS = ("reports_received", "reports_closed", "reports_resolved", "reports_open", "reports_overdue",
           "reports_late")
MIXED = ("reports_on_time_rate", "dossiers_received", "dossiers_finished", "dossiers_in_progress",
         "dossiers_overdue", "dossiers_late")
OTHERS = ("dossiers_on_time_rate", "dossiers_online_share", "alerts_received", "alerts_open", "alerts_overdue",
          "alerts_on_time_rate")
NOW_ONLY = ("cameras_online", "cameras_offline", "cameras_online_share", "hotspots_warning", "hotspots_danger")


def table(panel_id, keys, **extra):
    return {"id": panel_id, "chart": "table", "dimension": "children", "indicators": [{"key": k} for k in keys],
            **extra}


@pytest.fixture
def everything(city):
    build_everything(city)
    return city


@pytest.fixture
def leader(auth_headers, city):
    from reports.areas.service import area_by_code

    return auth_headers("leader", area_ids=[area_by_code(city, "T").id])


def preview(client, headers, panels, **query):
    response = client.post("/api/dashboards/preview", json={"panels": panels}, headers=headers,
                           query_string={"area": "T", "last_days": DAYS, **query})
    assert response.status_code == 200, response.get_json()
    return {p["id"]: p for p in response.get_json()["panels"]}


def expected(db, key: str, target: str, start: datetime, stop: datetime, t: datetime, truth: Truth):
    """One indicator for one area, from the raw rows."""
    family, figure = CATALOG[key].family, CATALOG[key].figure
    if family == "reports":
        counts = truth.counts(target)
        closed = counts["resolved"] + counts["rejected"]
        if figure == "closed":
            return closed
        if figure == "on_time_rate":
            return round(counts["on_time"] / closed, 4) if closed else None
        return counts[figure]
    if family == "dossiers":
        return dossier_truth(db, target, start, stop, t)[figure]
    if family == "alerts":
        return alert_truth(db, target, start, stop, t)[figure]
    if family == "cameras":
        return camera_truth(db, target, t)[figure]
    return hotspot_truth(db, target)[figure]


def test_every_indicator_against_the_raw_rows_then_side_by_side(client, everything, leader):
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    date_from = today - timedelta(days=DAYS - 1)
    truth = Truth(everything, date_from=date_from, date_to=today, t=now,
                  leaf_to_target=lambda r: ancestors_now(everything)(r.area_current_id))
    start, stop = local_start(date_from), now
    panels = preview(client, leader, [
        table("reports", REPORTS), table("mixed", MIXED), table("others", OTHERS), table("now", NOW_ONLY),
        {"id": "received", "chart": "number", "indicators": [{"key": "reports_received"}]},
        {"id": "median", "chart": "number", "indicators": [{"key": "reports_handling_median"}]},
        {"id": "p90", "chart": "number", "indicators": [{"key": "reports_handling_p90"}]},
        {"id": "levels", "chart": "gauge", "dimension": "items", "indicators": [{"key": "hotspot_levels"}]},
        {"id": "level", "chart": "number", "indicators": [{"key": "hotspot_levels"}]},
        {"id": "trend", "chart": "line", "indicators": [{"key": "reports_received"}, {"key": "dossiers_received"}]},
        {"id": "kinds", "chart": "bar", "dimension": "group", "indicators": [{"key": "reports_received",
                                                                              "by": "category"}]},
        {"id": "types", "chart": "bar", "dimension": "group", "indicators": [{"key": "alerts_received",
                                                                              "by": "type"}]},
    ])
    checked = set()
    for panel_id in ("reports", "mixed", "others", "now"):
        for series in panels[panel_id]["series"]:
            key = series["indicator"]
            assert series["value"] == expected(everything, key, "T", start, stop, now, truth), key
            children = {p["key"]: p["value"] for p in series["points"]}
            assert set(children) == {"T-E", "T-W"}
            for code, value in children.items():
                assert value == expected(everything, key, code, start, stop, now, truth), (key, code)
            checked.add(key)
    # A number card with its trend: the previous period of the same length, and the weeks of the period.
    received = panels["received"]["series"][0]
    before = Truth(everything, date_from=date_from - timedelta(days=DAYS), date_to=date_from - timedelta(days=1),
                   t=now, leaf_to_target=truth.leaf_to_target)
    assert received["previous"] == before.counts("T")["received"]
    assert sum(received["spark"]) == received["value"] == truth.counts("T")["received"]
    hours = truth.handling_hours("T")
    for panel_id, q in (("median", 0.5), ("p90", 0.9)):
        value = panels[panel_id]["series"][0]["value"]
        assert value == pytest.approx(exact_percentile(hours, q), rel=0.11, abs=0.1)
        checked.add(panels[panel_id]["series"][0]["indicator"])
    gauges = panels["levels"]["series"][0]["points"]
    assert [(p["key"], p["value"], p["status"]) for p in gauges] == [
        ("HS-W", 34.0, "danger"), ("HS-E2", 22.0, "warning"), ("HS-E", 4.0, "normal")]
    assert panels["level"]["series"][0]["value"] == hotspot_truth(everything, "T")["levels"] == round(34 / 30, 4)
    checked.add("hotspot_levels")
    trend, dossiers = panels["trend"]["series"]
    assert sum(p["value"] for p in trend["points"]) == truth.counts("T")["received"]
    assert sum(p["value"] for p in dossiers["points"]) == dossier_truth(everything, "T", start, stop, now)["received"]
    kinds = {p["key"]: p["value"] for p in panels["kinds"]["series"][0]["points"]}
    for code, value in kinds.items():
        assert value == truth.counts("T", lambda r, code=code: truth.categories[r.category_id] == code)["received"]
    assert {p["key"]: p["value"] for p in panels["types"]["series"][0]["points"]} == {"fire": 1, "traffic": 2}
    # Every indicator but the layer statistics (tests/reports/dashboards/test_layer_stats.py) was checked.
    assert checked == {k for k, i in CATALOG.items() if not i.is_layer}
    # Figures link to exactly the records they count (the summaries' records list).
    records = panels["reports"]["series"][4]["points"][1]["records"]
    assert records["kind"] == "summary" and records["params"]["measure"] == "overdue"
    page = client.get(f"/api/summaries/{records['area']}/records", headers=leader,
                      query_string={**records["params"], "per_page": 500}).get_json()
    assert {i["id"] for i in page["items"]} == truth.ids("T-W", "overdue")
    _comparisons_and_category(client, leader, today)


def _comparisons_and_category(client, leader, today):
    panels = [table("t", ("reports_received", "dossiers_received")),
              {"id": "n", "chart": "number", "indicators": [{"key": "reports_overdue"}]}]
    alone = preview(client, leader, panels)
    east = preview(client, leader, panels, area="T-E")
    both = preview(client, leader, panels, area="T", compare_area="T-E")
    assert [s["area"]["code"] for s in both["t"]["sides"]] == ["T", "T-E"]
    first, second = both["t"]["series"][:2], both["t"]["series"][2:]
    assert [s["side"] for s in both["t"]["series"]] == [0, 0, 1, 1]
    assert [s["value"] for s in first] == [s["value"] for s in alone["t"]["series"]]
    assert [s["points"] for s in second] == [s["points"] for s in east["t"]["series"]]
    # Two periods: the second side equals the same panels asked for that period.
    earlier = {"from": (today - timedelta(days=59)).isoformat(), "to": (today - timedelta(days=30)).isoformat()}
    shifted = preview(client, leader, panels, compare_from=earlier["from"], compare_to=earlier["to"])
    direct = preview(client, leader, panels, **earlier)
    assert shifted["n"]["series"][1]["value"] == direct["n"]["series"][0]["value"]
    assert shifted["n"]["sides"][1]["period"] == {"from": earlier["from"], "to": earlier["to"]}
    # The category filter narrows the reports, not the dossiers.
    code = "tieng_on"
    filtered = preview(client, leader, panels, category=code)
    reports, dossiers = filtered["t"]["series"]
    summary = client.get("/api/summaries/T", headers=leader,
                         query_string={"category": code, "from": (today - timedelta(days=99)).isoformat(),
                                       "to": today.isoformat()}).get_json()
    assert reports["value"] == summary["reports"]["totals"]["received"] < alone["t"]["series"][0]["value"]
    assert dossiers["value"] == alone["t"]["series"][1]["value"]
    assert reports["records"]["params"]["category"] == code


def test_pdf_is_vector_a_page_per_screen_and_xlsx_holds_the_figures(client, city, leader):
    for days in (1, 2, 3):
        file(city, WEST_INSIDE, days)
    file(city, EAST_INSIDE, 4)
    city.commit()
    panels = [{"id": f"n{i}", "chart": "number", "indicators": [{"key": "reports_received"}], "width": 3}
              for i in range(4)]
    panels += [{"id": "rank", "chart": "ranking", "indicators": [{"key": "reports_on_time_rate"}], "width": 6,
                "height": 2},
               {"id": "map", "chart": "choropleth", "indicators": [{"key": "reports_received"}], "width": 6,
                "height": 2},
               {"id": "line", "chart": "line", "indicators": [{"key": "reports_received"}], "width": 12, "height": 2},
               {"id": "gauge", "chart": "gauge", "dimension": "items", "indicators": [{"key": "hotspot_levels"}],
                "width": 6, "height": 2},
               {"id": "table", "chart": "table", "indicators": [{"key": "dossiers_received"}], "width": 6,
                "height": 2, "title": "Hồ sơ: tiếp nhận/trả [tháng]?"}]
    made = client.post("/api/dashboards", json={"title": "Họp giao ban", "panels": panels}, headers=leader)
    assert made.status_code == 201, made.get_json()
    dashboard = made.get_json()["id"]
    data = client.get(f"/api/dashboards/{dashboard}/data", headers=leader, query_string={"area": "T"}).get_json()
    received = data["panels"][0]["series"][0]["value"]
    pdf = client.get(f"/api/dashboards/{dashboard}/export.pdf", headers=leader, query_string={"area": "T"})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(pdf.data))
    # Rows 0-2 hold numbers, ranking and map; the line starts a row that would cross the page's end: page two.
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    assert "Họp giao ban" in text and str(received) in text and "Thành phố Thử" in text
    for page in reader.pages:
        resources = page["/Resources"]
        images = [x for x in (resources.get("/XObject") or {}).values() if x.get_object().get("/Subtype") ==
                  "/Image"]
        assert images == []  # charts, maps and gauges are drawn, not pictures
        content = page.get_contents().get_data()
        assert b" re" in content and b" l" in content and b" c" in content  # rectangles, lines, curves (gauges)
    xlsx = client.get(f"/api/dashboards/{dashboard}/export.xlsx", headers=leader, query_string={"area": "T"})
    book = load_workbook(io.BytesIO(xlsx.data))
    assert book.sheetnames[0] and book.sheetnames[-1]
    first = book.worksheets[1]
    assert first.cell(row=2, column=2).value == received
    ranking = book.worksheets[5]
    assert {ranking.cell(row=r, column=1).value for r in (2, 3)} == {"Phường Tây", "Phường Đông"}
    definitions = book.worksheets[-1]
    assert any("Citizen reports filed" in str(c.value) or "Phản ánh" in str(c.value) for c in definitions["C"])


def _rows(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S).group(1)
    return [r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S) if "colspan" not in r]


def test_camera_and_hotspot_figures_link_to_the_records_they_count(client, everything, leader):
    """Every camera and hotspot figure (the area's and each child's) opens the cameras or hotspots it counts."""
    links = {"cameras": "/dashboards/camera-records", "hotspots": "/dashboards/hotspot-records"}
    panels = preview(client, leader, [table("now", NOW_ONLY)])
    opened = 0
    for series in panels["now"]["series"]:
        key, unit = series["indicator"], series["unit"]
        for figure in [series, *series["points"]]:
            records = figure["records"]
            assert records is not None and records["kind"] in links, (key, figure)
            page = client.get(links[records["kind"]], query_string=records["params"], headers=leader)
            assert page.status_code == 200
            rows = _rows(page.get_data(as_text=True))
            area = records["params"]["area"]
            if unit == "count":
                assert len(rows) == figure["value"], (key, area)
            else:  # the share of cameras online: every camera of the area, each with its health
                assert len(rows) == len(_rows(client.get(links["cameras"], query_string={"area": area},
                                                         headers=leader).get_data(as_text=True)))
                online = sum("health-online" in r for r in re.findall(r"<tr[^>]*>", page.get_data(as_text=True)))
                assert figure["value"] in (None, round(online / len(rows), 4)) if rows else figure["value"] is None
            opened += 1
    assert opened == 15  # five indicators, the city and its two wards
    hotspots = client.get(links["hotspots"], query_string={"area": "T", "level": "warning"}, headers=leader)
    html = hotspots.get_data(as_text=True)
    assert 'href="/flood/HS-W"' in html and 'href="/flood/HS-E2"' in html and "HS-E<" not in html
    for query, field in (({"area": "T", "level": "high"}, "level"), ({"area": "T", "health": "busy"}, "health"),
                         ({"area": "T W"}, "area")):
        path = links["hotspots"] if "level" in query else links["cameras"]
        refused = client.get(path, query_string=query, headers=leader)
        assert refused.status_code == 400 and f"{field} must be" in refused.get_data(as_text=True), query
    assert client.get(links["cameras"], query_string={"area": "NOPE"}, headers=leader).status_code == 404
