"""Exports (CSV, XLSX read back, PDF text), the leader map page and its indicator endpoint, summary pages."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import mapclassify
import numpy as np
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.areas.service import area_by_code
from reports.summaries.dossiers import import_dossiers
from tests.reports.summaries.helpers import TZ, build_history

FORMULA = "=HYPERLINK(\"http://evil.example\",\"x\")"


@pytest.fixture
def history(city):
    build_history(city, count=30)
    received = (datetime.now(UTC) - timedelta(days=4)).astimezone(TZ)
    quoted = '"' + FORMULA.replace('"', '""') + '"'
    rows = ["dossier_id,procedure,area_code,received,due,finished,channel,status",
            f"D-1,{quoted},T-W,{received:%Y-%m-%d %H:%M},"
            f"{received + timedelta(days=3):%Y-%m-%d},,online,in_progress",
            f"D-2,@SUM(A1:A9),T-E,{received:%Y-%m-%d %H:%M},{received + timedelta(days=3):%Y-%m-%d},,offline,"
            "in_progress"]
    import_dossiers(city, "\n".join(rows).encode(), "d.csv")
    city.commit()
    return city


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


def test_csv_export_matches_the_summary_and_defuses_formulas(client, history, admin):
    summary = client.get("/api/summaries/T", headers=admin).get_json()
    response = client.get("/api/summaries/T/export.csv", headers=admin)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert [r[0] for r in body] == [c["code"] for c in summary["children"]]
    received = header.index("Phản ánh, kiến nghị: Đã tiếp nhận")
    for row, child in zip(body, summary["children"], strict=True):
        assert int(row[received]) == child["reports"]["received"]
    records = client.get("/api/summaries/T/records.csv", headers=admin,
                         query_string={"source": "dossiers", "measure": "received"})
    cells = [c for row in csv.reader(io.StringIO(records.data.decode("utf-8-sig"))) for c in row]
    assert "'" + FORMULA in cells and "'@SUM(A1:A9)" in cells
    assert not [c for c in cells if c.startswith(("=", "@", "+"))]
    english = client.get("/api/summaries/T/export.csv?table=category&lang=en", headers=admin).data.decode("utf-8-sig")
    assert english.splitlines()[0].startswith("Category,Received")
    assert client.get("/api/summaries/T/export.csv?table=nope", headers=admin).status_code == 400
    assert client.get("/api/summaries/T/export.doc", headers=admin).status_code == 400


def test_xlsx_export_reads_back(client, history, admin):
    summary = client.get("/api/summaries/T?lang=en", headers=admin).get_json()
    response = client.get("/api/summaries/T/export.xlsx?lang=en", headers=admin)
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:3] == ["Overview", "Areas side by side", "By category"]
    children = workbook["Areas side by side"]
    header = [c.value for c in children[1]]
    assert header[:3] == ["Code", "Name", "Rank"]
    col = header.index("Citizen reports: Overdue") + 1
    for r, child in enumerate(summary["children"], start=2):
        assert children.cell(row=r, column=1).value == child["code"]
        assert children.cell(row=r, column=col).value == child["reports"]["overdue"]
    overview = {row[0].value: row[1].value for row in workbook["Overview"].iter_rows(min_row=2)}
    assert overview["Citizen reports: Received"] == summary["reports"]["totals"]["received"]
    assert overview["Administrative dossiers: In progress"] == 2
    records = client.get("/api/summaries/T/records.xlsx", headers=admin,
                         query_string={"source": "dossiers", "measure": "in_progress"})
    sheet = load_workbook(io.BytesIO(records.data)).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value == FORMULA]
    assert len(cells) == 1 and cells[0].data_type == "s"  # text, never a formula


def test_pdf_is_one_page_with_the_figures(client, history, admin):
    summary = client.get("/api/summaries/T", headers=admin).get_json()
    response = client.get("/api/summaries/T/export.pdf", headers=admin)
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "Thành phố Thử" in text and "Phường Tây" in text and "Phường Đông" in text
    assert "Tỷ lệ đúng hạn" in text
    assert str(summary["reports"]["totals"]["received"]) in text


def test_leader_map_page_renders_offline(client, history, auth_headers):
    leader = auth_headers("leader", area_ids=[area_by_code(history, "T").id])
    assert client.get("/leader", headers=leader).headers["Location"].endswith("/maps/leader?area=T")
    page = client.get("/maps/leader?area=T&indicator=reports_overdue", headers=leader)
    assert page.status_code == 200
    html = page.data.decode()
    config = json.loads(re.search(r'<script id="leader-config" type="application/json">(.*?)</script>', html,
                                  re.S).group(1))
    assert config["area"] == "T" and config["indicator"] == "reports_overdue"
    assert config["api"] == "/api/summaries/CODE/map"
    assert "js/leader_map.js" in html and "Tồn đọng quá hạn" in html
    # Every script and stylesheet comes from this server.
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    english = client.get("/maps/leader?area=T&lang=en", headers=leader).data.decode()
    assert "Overdue backlog" in english and "Indicator" in english
    assert client.get("/maps/leader?area=T").status_code == 302  # to the sign-in page
    assert client.get("/maps/leader?area=T&indicator=bogus", headers=leader).status_code == 400


@pytest.mark.filterwarnings("ignore:Numba not installed")
def test_indicator_endpoint_gives_class_breaks(client, history, auth_headers):
    leader = auth_headers("leader", area_ids=[area_by_code(history, "T").id])
    for indicator in ("reports_received", "reports_on_time_rate", "reports_overdue", "dossiers_on_time_rate"):
        body = client.get(f"/api/summaries/T/map?indicator={indicator}", headers=leader).get_json()
        assert body["type"] == "FeatureCollection" and len(body["features"]) == 2
        values = [f["properties"]["value"] for f in body["features"]]
        present = [v for v in values if v is not None]
        legend = body["legend"]
        if len(set(present)) >= 2:
            expected = mapclassify.FisherJenks(np.array(present, dtype=float), k=len(set(present))).bins
            assert legend["bins"] == pytest.approx(list(expected)) and legend["scheme"] == "fisher_jenks"
        assert len(legend["colours"]) == legend["k"]
        for feature in body["features"]:
            props = feature["properties"]
            assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")
            if props["value"] is None:
                assert props["class"] is None and props["colour"] == legend["no_data"]
            else:
                assert props["value"] <= legend["bins"][props["class"]]
                assert props["colour"] == legend["colours"][props["class"]]
    west = client.get("/api/summaries/T-W/map?indicator=reports_received", headers=leader).get_json()
    assert [a["code"] for a in west["breadcrumb"]] == ["T", "T-W"]
    assert {f["properties"]["code"] for f in west["features"]} == {"T-W-01", "T-W-02"}
    assert all(not f["properties"]["has_children"] for f in west["features"])
    city = client.get("/api/summaries/T/map?indicator=reports_received", headers=leader).get_json()
    assert {f["properties"]["code"]: f["properties"]["has_children"] for f in city["features"]} == \
        {"T-W": True, "T-E": False}


def test_summary_and_records_pages(client, history, auth_headers):
    leader = auth_headers("leader", area_ids=[area_by_code(history, "T").id])
    page = client.get("/summaries/T", headers=leader)
    assert page.status_code == 200
    html = page.data.decode()
    assert "chart.umd.min.js" in html and "js/summary.js" in html
    links = re.findall(r'href="(/summaries/T/records\?[^"]+)"', html)
    assert len(links) > 50
    # A figure's link leads to a page listing exactly that many records.
    overdue = [link for link in links if "measure=overdue" in link and "child=" not in link and "dim=" not in link]
    listing = client.get(overdue[0].replace("&amp;", "&"), headers=leader).data.decode()
    total = int(re.search(r'<strong id="record-total">(\d+)</strong>', listing).group(1))
    summary = client.get("/api/summaries/T", headers=leader).get_json()
    assert total == summary["reports"]["totals"]["overdue"]
    assert client.get("/summaries/T-W?lang=en", headers=leader).status_code == 200
    ward_leader = auth_headers("leader", area_ids=[area_by_code(history, "T-W").id])
    assert client.get("/summaries/T-E", headers=ward_leader).status_code == 404


def test_records_pages_speak_the_readers_language(client, history, auth_headers):
    leader = auth_headers("leader", area_ids=[area_by_code(history, "T").id])
    listing = client.get("/summaries/T/records?source=reports&measure=received&per_page=200", headers=leader)
    rows = re.findall(r"<tr>\s*<td>.*?</tr>", listing.data.decode(), re.S)
    assert rows
    cells = [re.findall(r"<td>(.*?)</td>", row, re.S) for row in rows]
    statuses = {re.sub(r"<[^>]+>", "", c[1]).split(" · ")[0].strip() for c in cells}
    assert statuses <= {"Đã tiếp nhận", "Đã xác nhận", "Đang xử lý", "Đã xử lý xong", "Không xử lý"}
    # Dates in the city's time and the reader's format; a group named with its ward.
    assert all(re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}", c[2]) for c in cells), cells[:3]
    areas = {c[5] for c in cells}
    assert {"Tổ 1, Phường Tây", "Tổ 2, Phường Tây"} & areas and not {"Tổ 1", "Tổ 2"} & areas
    dossiers = client.get("/summaries/T/records?source=dossiers&measure=in_progress", headers=leader).data.decode()
    assert dossiers.count("<td>Đang giải quyết") == 2 and "<td>in_progress" not in dossiers
