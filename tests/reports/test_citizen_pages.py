import io
import re

from pypdf import PdfReader
from sqlalchemy import select

from reports.models import Report


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_qr_form_files_a_report_and_shows_its_status(client, city):
    page = client.get("/r/T-W/police")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Phường Tây" in html and "0234 3822 000" in html
    assert "gay_roi" in html and "moi_truong_rac_thai" not in html  # police handle security and order
    assert "cdn" not in html.lower() and "unpkg" not in html
    resp = client.post("/r/T-W/police", data={
        "csrf_token": csrf(html), "category": "gay_roi", "description": "Đánh nhau ở chợ",
        "lon": "107.55", "lat": "16.42", "reporter_phone": "0905000111"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    report = city.scalar(select(Report))
    assert report.channel == "qr_web" and report.unit.code == "T-W-CA"
    status = client.get(resp.headers["Location"])
    body = status.get_data(as_text=True)
    assert status.status_code == 200 and report.tracking_code in body and "0905000111" not in body


def test_form_errors_render_the_form_again(client, city):
    html = client.get("/r/T-E/committee").get_data(as_text=True)
    resp = client.post("/r/T-E/committee", data={"csrf_token": csrf(html), "category": "dien_chieu_sang",
                                                  "description": "Đèn hỏng", "lon": "108.5", "lat": "16.45"})
    assert resp.status_code == 400
    assert "Đèn hỏng" in resp.get_data(as_text=True)  # what the resident typed is kept
    # Without the CSRF token the post is refused.
    assert client.post("/r/T-E/committee", data={"category": "dien_chieu_sang"}).status_code == 400
    assert client.get("/r/NOPE/police").status_code == 404
    assert city.scalar(select(Report)) is None


def test_qr_codes_and_keychain_sheet(client, city):
    png = client.get("/api/areas/T-W/qr/police.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get("/api/areas/T-W/qr/committee.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert client.get("/api/areas/T-W/qr/mayor.png").status_code == 404
    assert client.get("/api/areas/T-W/qr/police.gif").status_code == 400
    assert client.get("/api/areas/T-W-01/qr/police.png").status_code == 404  # a group has no keychain
    pdf = client.get("/api/areas/T-W/keychains.pdf?copies=12")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Phường Tây" in text and "0234 3822 000" in text
    assert client.get("/api/areas/T-W/keychains.pdf?copies=0").status_code == 400
