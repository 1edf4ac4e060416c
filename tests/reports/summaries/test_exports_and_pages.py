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


def test_xlsx_export_reads_back_with_formats_widths_frozen_headers_and_explanations(client, history, admin):
    summary = client.get("/api/summaries/T?lang=en", headers=admin).get_json()
    response = client.get("/api/summaries/T/export.xlsx?lang=en", headers=admin)
    workbook = load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames[:3] == ["Overview", "Areas side by side", "By category"]
    assert workbook.sheetnames[-1] == "Explanations"
    children = workbook["Areas side by side"]
    header = [c.value for c in children[1]]
    assert header[:3] == ["Code", "Area name", "Rank"]  # a place's name, not a person's
    col = header.index("Citizen reports: Overdue") + 1
    rate = header.index("Citizen reports: On-time rate") + 1
    for r, child in enumerate(summary["children"], start=2):
        assert children.cell(row=r, column=1).value == child["code"]
        assert children.cell(row=r, column=col).value == child["reports"]["overdue"]
        assert children.cell(row=r, column=col).number_format == "#,##0"
        if child["reports"]["on_time_rate"] is not None:  # a share stays a number, shown as a percent
            assert children.cell(row=r, column=rate).value == pytest.approx(child["reports"]["on_time_rate"])
            assert children.cell(row=r, column=rate).number_format == "0.0%"
    assert children.freeze_panes == "C2"  # the header row and the areas' code and name stay in view
    assert children.cell(row=1, column=col).alignment.wrap_text
    assert 6 <= children.column_dimensions["B"].width <= 50
    overview = {row[0].value: row[1] for row in workbook["Overview"].iter_rows(min_row=2)}
    assert overview["Citizen reports: Received"].value == summary["reports"]["totals"]["received"]
    assert overview["Administrative dossiers: In progress"].value == 2
    assert overview["City"].value == "Thành phố Thử"
    as_of = overview["As of"]
    assert as_of.is_date and as_of.value.date().isoformat() == summary["period"]["as_of"]
    assert as_of.number_format == "mm/dd/yyyy"  # the English reader's days
    assert overview["Citizen reports: On-time rate"].number_format == "0.0%"
    trend = workbook["Trend"]
    assert trend["A2"].is_date and trend.freeze_panes == "B2"
    notes = {row[1].value: row[2].value for row in workbook["Explanations"].iter_rows(min_row=2)}
    assert "Overdue" in notes and "deadline" in notes["Overdue"] and "On-time rate" in notes
    vietnamese = load_workbook(io.BytesIO(client.get("/api/summaries/T/export.xlsx", headers=admin).data))
    assert [c.value for c in vietnamese["So sánh các địa bàn"][1]][1] == "Tên địa bàn"
    assert vietnamese["Tổng quan"]["B6"].number_format == "dd/mm/yyyy"
    records = client.get("/api/summaries/T/records.xlsx", headers=admin,
                         query_string={"source": "dossiers", "measure": "in_progress"})
    sheet = load_workbook(io.BytesIO(records.data)).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row if c.value == FORMULA]
    assert len(cells) == 1 and cells[0].data_type == "s"  # text, never a formula
    assert sheet["C2"].is_date and sheet["C2"].number_format == "dd/mm/yyyy hh:mm"


def _pdf_words(page) -> list[tuple[float, float, float, str]]:
    """Every piece of text a PDF page draws: (x, y, width, text), from the content stream's own positions."""
    found = []

    def visit(text, cm, tm, font_dict, font_size):
        if text.strip():
            scale = tm[0] * cm[0] or 1
            x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            found.append((x, y, len(text.strip()) * font_size * 0.5 * abs(scale), text.strip()))

    page.extract_text(visitor_text=visit)
    return found


def test_pdf_has_wrapped_headers_that_never_overlap_reader_numbers_and_the_city_on_every_page(client, history,
                                                                                               admin):
    summary = client.get("/api/summaries/T", headers=admin).get_json()
    response = client.get("/api/summaries/T/export.pdf", headers=admin)
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Phường Tây" in text and "Phường Đông" in text and "Tỷ lệ đúng hạn" in text
    assert str(summary["reports"]["totals"]["received"]) in text
    rate = summary["reports"]["totals"]["on_time_rate"]
    if rate is not None:  # 83,8% for a Vietnamese reader
        assert f"{rate * 100:.1f}%".replace(".", ",") in text
    period = summary["period"]
    days = [datetime.fromisoformat(period[k]).strftime("%d/%m/%Y") for k in ("from", "to")]
    for page in reader.pages:  # whose figures and which period, on every page
        words = page.extract_text()
        assert "Thành phố Thử" in words and all(d in words for d in days)
    # The header cells of the areas' table: each is wrapped inside its column, so no two on one line overlap.
    cells = [w for w in _pdf_words(reader.pages[0]) if w[3] in (
        "Hạng", "Tên địa bàn", "Đã tiếp nhận", "Tỷ lệ đúng", "hạn", "Quá hạn", "Nộp trực", "tuyến")]
    assert len({w[3] for w in cells}) >= 5, cells
    by_line: dict[int, list] = {}
    for x, y, width, word in cells:
        by_line.setdefault(round(y), []).append((x, x + width, word))
    for line in by_line.values():
        line.sort()
        for (_, right, a), (left, _, b) in zip(line, line[1:], strict=False):
            assert right <= left + 0.5, f"{a!r} runs into {b!r}: {line}"


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
    assert re.search(r"js/leader_map\.[0-9a-f]{10}\.js", html) and "Tồn đọng quá hạn" in html
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
    assert re.search(r"chart\.umd\.min\.[0-9a-f]{10}\.js", html) and re.search(r"js/summary\.[0-9a-f]{10}\.js", html)
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
