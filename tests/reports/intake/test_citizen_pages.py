import io
import re

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from reports.workflow.models import Report


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


def test_keychain_codes_decode_to_the_ward_intake_links(client, city):
    def decoded(image) -> list[str]:
        return sorted(r.text for r in zxingcpp.read_barcodes(image.convert("L")))

    for kind in ("police", "committee"):
        png = client.get(f"/api/areas/T-W/qr/{kind}.png")
        assert decoded(Image.open(io.BytesIO(png.data))) == [f"http://localhost/r/T-W/{kind}"]
        svg = client.get(f"/api/areas/T-W/qr/{kind}.svg").data
        assert svg.count(b"<svg") == 1 and b"<script" not in svg
    # Each printed card carries both codes, the ward's name and the police duty phone.
    pdf = PdfReader(io.BytesIO(client.get("/api/areas/T-W/keychains.pdf?copies=2").data))
    (page,) = pdf.pages
    text = page.extract_text()
    assert text.count("Phường Tây") == 2 and text.count("Trực ban Công an: 0234 3822 000") == 2
    assert text.count("An ninh, trật tự") == 2 and text.count("Kinh tế - xã hội") == 2
    links = sorted({link for image in page.images for link in decoded(image.image)})
    assert links == ["http://localhost/r/T-W/committee", "http://localhost/r/T-W/police"]
    # The form a code opens is that ward's, for that unit.
    assert "Phường Tây" in client.get("/r/T-W/committee").get_data(as_text=True)


def test_keychains_print_the_configured_public_address(database_url, tmp_path, city):
    from gisserver.app import create_app

    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                      "PUBLIC_URL": "https://phananh.hue.gov.vn"})
    png = app.test_client().get("/api/areas/T-E/qr/police.png").data
    (result,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert result.text == "https://phananh.hue.gov.vn/r/T-E/police"
    app.extensions["gisserver.db"].dispose()


def test_qr_form_with_only_an_address_is_placed_in_the_ward(client, city):
    html = client.get("/r/T-E/committee").get_data(as_text=True)
    resp = client.post("/r/T-E/committee", data={"csrf_token": csrf(html), "category": "dien_chieu_sang",
                                                  "description": "Đèn đường tắt cả kiệt", "address": "kiệt 7 Lê Lợi"})
    assert resp.status_code == 302
    report = city.scalar(select(Report))
    # No gazetteer match: the report stays at the ward of the QR code, with the unit the code names.
    assert report.geom is None and report.address == "kiệt 7 Lê Lợi"
    assert report.area_current.code == "T-E" and report.unit.code == "T-E-UB"


def test_a_failed_commit_leaves_no_photo_behind(app, city, tmp_path, monkeypatch):
    from reports.intake.filing import commit_filed, file_report
    from reports.intake.submit import ReportInput
    from reports.workflow.models import ReportPhoto
    from reports.workflow.photos import process_photo

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (1, 2, 3)).save(out, "JPEG")
    photo = process_photo(out.getvalue(), max_bytes=1_000_000)
    session = app.extensions["gisserver.db"].session()
    filed = file_report(session, ReportInput("cay_xanh", "Cây gãy chắn đường", 107.55, 16.42), [photo],
                        tmp_path / "photos", actor="anonymous", staff=False)
    assert filed.created and all(p.exists() for p in filed.written)

    def broken_commit():
        raise RuntimeError("the database went away")

    monkeypatch.setattr(session, "commit", broken_commit)
    with pytest.raises(RuntimeError):
        commit_filed(session, filed)
    assert not any(p.exists() for p in filed.written)
    session.close()
    city.rollback()
    assert city.scalar(select(Report)) is None and city.scalar(select(ReportPhoto)) is None
