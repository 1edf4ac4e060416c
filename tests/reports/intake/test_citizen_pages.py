import gzip
import io
import re

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from reports.areas.service import area_by_code
from reports.workflow.models import Report
from tests.conftest import PUBLIC_URL


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_qr_form_files_a_report_and_shows_its_status(client, city):
    page = client.get("/r/T-W/police")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Phường Tây" in html and "0234 3822 000" in html
    # The police's matters come first; the People's Committee's are folded below (a resident may have scanned the
    # wrong code), each with an icon and a few words.
    primary, other = html.split('class="other-group"')
    assert 'value="gay_roi"' in primary and 'value="moi_truong_rac_thai"' not in primary
    assert 'value="moi_truong_rac_thai"' in other and "#trash-2" in other
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


def test_qr_codes_and_keychain_sheet(client, city, auth_headers):
    png = client.get("/api/areas/T-W/qr/police.png")
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG")
    svg = client.get("/api/areas/T-W/qr/committee.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    assert client.get("/api/areas/T-W/qr/mayor.png").status_code == 404
    assert client.get("/api/areas/T-W/qr/police.gif").status_code == 400
    assert client.get("/api/areas/T-W-01/qr/police.png").status_code == 404  # a group has no keychain
    # Sheets are for the ward's staff (and admins): the west officer prints the west ward's, not the east's.
    west = auth_headers("officer", area_ids=[area_by_code(city, "T-W").id])
    assert client.get("/api/areas/T-W/keychains.pdf").status_code == 401
    assert client.get("/api/areas/T-E/keychains.pdf", headers=west).status_code == 404
    pdf = client.get("/api/areas/T-W/keychains.pdf?copies=12", headers=west)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Phường Tây" in text and "0234 3822 000" in text
    assert client.get("/api/areas/T-W/keychains.pdf?copies=0", headers=west).status_code == 400


def _decoded(image) -> list[str]:
    return sorted(r.text for r in zxingcpp.read_barcodes(image.convert("L")))


def test_keychain_codes_decode_to_the_public_address_with_a_call_to_action(client, city, auth_headers):
    for kind, short in (("police", "ca"), ("committee", "ub")):
        png = client.get(f"/api/areas/T-W/qr/{kind}.png")
        assert _decoded(Image.open(io.BytesIO(png.data))) == [f"{PUBLIC_URL}/r/T-W/{short}"]
        svg = client.get(f"/api/areas/T-W/qr/{kind}.svg").data
        assert svg.count(b"<svg") == 1 and b"<script" not in svg
    # Each printed card carries both codes, the call to action, the short addresses, the ward and the duty phone.
    admin = auth_headers("admin")
    pdf = PdfReader(io.BytesIO(client.get("/api/areas/T-W/keychains.pdf?copies=2", headers=admin).data))
    (page,) = pdf.pages
    text = page.extract_text()
    assert text.count("Phường Tây") == 2 and text.count("Trực ban Công an: 0234 3822 000") == 2
    assert text.count("Quét để phản ánh") == 2
    assert text.count("An ninh, trật tự") == 2 and text.count("Kinh tế - xã hội") == 2
    assert text.count("phananh.example.vn/r/T-W/ca") == 2 and text.count("phananh.example.vn/r/T-W/ub") == 2
    links = sorted({link for image in page.images for link in _decoded(image.image)})
    assert links == [f"{PUBLIC_URL}/r/T-W/ca", f"{PUBLIC_URL}/r/T-W/ub"]
    # The form a code opens is that ward's, for that unit.
    police = client.get("/r/T-W/ca").get_data(as_text=True)
    assert "Phường Tây" in police and "An ninh, trật tự" in police


@pytest.mark.parametrize("address", ["", "http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]/"])
def test_no_codes_without_a_public_address(database_url, tmp_path, city, address):
    from gisserver.app import create_app

    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                      "PUBLIC_URL": address})
    client = app.test_client()
    for path in ("/api/areas/T-E/qr/police.png", "/api/areas/T-E/qr/ub.svg"):
        refused = client.get(path)
        assert refused.status_code == 409 and "GISSERVER_PUBLIC_URL" in refused.get_json()["error"]["message"]
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


def test_keychain_sheets_from_the_command_line(cli, city, tmp_path, database_url):
    target = tmp_path / "west.pdf"
    done = cli("keychains", "sheet", "T-W", "--copies", "3", "-o", str(target))
    assert done.exit_code == 0, done.output
    assert f"{PUBLIC_URL}/r/T-W/ca" in done.output
    page = PdfReader(target).pages[0]
    assert page.extract_text().count("Quét để phản ánh") == 3
    assert cli("keychains", "sheet", "T-W-01").exit_code != 0  # a residential group has no keychain


def test_a_page_echoing_input_beside_a_session_secret_is_not_compressed(client, city):
    """BREACH: the size of a compressed page must not tell an attacker how well their input matches a secret."""
    gzip_ok = {"Accept-Encoding": "gzip"}
    form = client.get("/r/T-W/ub", headers=gzip_ok)  # the QR form: a CSRF token, no input of the requester's
    assert form.headers.get("Content-Encoding") == "gzip"
    token = re.search(r'name="csrf_token" value="([^"]+)"', gzip.decompress(form.data).decode())
    assert token, "the form carries its CSRF token"
    echoed = client.get("/r/T-W/ub?category=" + token.group(1)[:8], headers=gzip_ok)
    assert echoed.status_code == 200 and "Content-Encoding" not in echoed.headers

