"""Planning projects through the API, the CLI and their pages: search with or without diacritics, filters by
area, status and year, drafts kept from the public, documents checked like photos before they are stored."""

from __future__ import annotations

import io

import geopandas as gpd
import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from reportlab.pdfgen import canvas
from shapely.geometry import box
from sqlalchemy import func, select

from gisserver.core.audit import AuditEntry
from layers.importing import ImportOptions, import_layer
from planning.models import Project, ProjectDocument
from tests.reports.conftest import build_small_city

ZONING = {"code": "QHPK-01", "name": "Quy hoạch phân khu Đông Ba", "decision_number": "1234/QĐ-UBND",
          "decision_date": "2024-06-12", "approving_body": "UBND tỉnh", "status": "approved", "areas": ["T"],
          "layers": ["lo-dat"]}


def pdf(pages: int = 2) -> bytes:
    out = io.BytesIO()
    c = canvas.Canvas(out)
    for page in range(pages):
        c.drawString(72, 720, f"Quyet dinh - trang {page + 1}")
        c.showPage()
    c.save()
    return out.getvalue()


def rewritten(raw: bytes, change) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(raw)))
    change(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def script_on_open(writer: PdfWriter) -> None:
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject({
        NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert('x');")})


@pytest.fixture
def city(db, tmp_path):
    build_small_city(db)
    frame = gpd.GeoDataFrame({"ma": ["A"]}, geometry=[box(107.55, 16.42, 107.56, 16.43)], crs=4326)
    frame.to_file(tmp_path / "lo.geojson")
    import_layer(db, tmp_path / "lo.geojson", ImportOptions(name="lo-dat", title="Lô đất"))
    import_layer(db, tmp_path / "lo.geojson", ImportOptions(name="cong", title="Cống", visibility="internal"))
    db.commit()
    return db


def codes(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [p["code"] for p in response.get_json()["projects"]]


def test_projects_api_search_and_filters(client, city, auth_headers, db):
    planner = auth_headers("planner")
    assert client.post("/api/projects", json=ZONING).status_code == 401
    assert client.post("/api/projects", json=ZONING, headers=auth_headers("officer")).status_code == 403
    created = client.post("/api/projects", json=ZONING, headers=planner)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["layers"][0]["name"] == "lo-dat"
    client.post("/api/projects", json={"code": "HT-02", "name": "Hạ tầng kỹ thuật phường Tây", "status": "consultation",
                                       "decision_date": "2025-01-05", "areas": ["T-W"], "layers": ["cong"]},
                headers=planner)
    client.post("/api/projects", json={"code": "NHAP-03", "name": "Dự án nháp", "areas": ["T-E"]}, headers=planner)
    assert codes(client.get("/api/projects")) == ["HT-02", "QHPK-01"]  # the draft is the planners' own
    assert codes(client.get("/api/projects", headers=planner)) == ["HT-02", "QHPK-01", "NHAP-03"]
    # With or without diacritics, in any case; by code or decision number too.
    for q in ("phân khu", "phan khu", "PHAN KHU", "đông ba", "dong ba", "1234/QĐ", "1234/qd", "qhpk"):
        assert codes(client.get("/api/projects", query_string={"q": q})) == ["QHPK-01"], q
    assert codes(client.get("/api/projects?q=tay")) == ["HT-02"]
    assert codes(client.get("/api/projects?q=100%25")) == []
    # An area: projects covering it, an area it lies in, or a part of it.
    assert codes(client.get("/api/projects?area=T-W")) == ["HT-02", "QHPK-01"]
    assert codes(client.get("/api/projects?area=T-W-01")) == ["HT-02", "QHPK-01"]
    assert codes(client.get("/api/projects?area=T-E")) == ["QHPK-01"]
    assert codes(client.get("/api/projects?area=T-E", headers=planner)) == ["QHPK-01", "NHAP-03"]
    assert codes(client.get("/api/projects?status=consultation")) == ["HT-02"]
    assert codes(client.get("/api/projects?year=2024")) == ["QHPK-01"]
    for bad in ("?area=NOWHERE", "?status=done", "?year=24"):
        assert client.get("/api/projects" + bad).status_code == 400
    # A project's page data: internal layers and drafts only for staff.
    assert client.get("/api/projects/HT-02").get_json()["layers"] == []
    assert client.get("/api/projects/HT-02", headers=planner).get_json()["layers"][0]["name"] == "cong"
    assert client.get("/api/projects/NHAP-03").status_code == 404
    changed = client.patch("/api/projects/NHAP-03", json={"status": "consultation", "layers": ["lo-dat", "cong"]},
                           headers=planner)
    assert changed.status_code == 200 and len(changed.get_json()["layers"]) == 2
    assert client.get("/api/projects/NHAP-03").status_code == 200
    assert db.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.table_name == "planning_projects")) >= 4


BAD_PROJECTS = [
    ({"code": "QHPK-01", "name": "again"}, 409),
    ({"code": "bad code!", "name": "x"}, 400),
    ({"code": "X1"}, 400),
    ({"code": "X1", "name": "x", "status": "done"}, 400),
    ({"code": "X1", "name": "x", "decision_date": "12/06/2024"}, 400),
    ({"code": "X1", "name": "x", "areas": ["NOWHERE"]}, 400),
    ({"code": "X1", "name": "x", "layers": ["no-such-layer"]}, 400),
    ({"code": "X1", "name": "x", "budget": 5}, 400),
    ({"code": "X1", "name": ["x"]}, 400),
]


def test_bad_projects_are_refused(client, city, auth_headers, db):
    planner = auth_headers("planner")
    client.post("/api/projects", json=ZONING, headers=planner)
    for body, status in BAD_PROJECTS:
        resp = client.post("/api/projects", json=body, headers=planner)
        assert resp.status_code == status and resp.get_json()["error"]["message"], body
    assert client.patch("/api/projects/QHPK-01", json={"status": "done"}, headers=planner).status_code == 400
    assert db.scalar(select(func.count()).select_from(Project)) == 1
    assert client.get("/api/projects/QHPK-01").get_json()["status"] == "approved"


def test_documents_are_real_plain_pdfs(client, city, auth_headers, db, app):
    planner = auth_headers("planner")
    client.post("/api/projects", json=ZONING, headers=planner)

    def send(raw, name="quyet-dinh.pdf", **fields):
        return client.post("/api/projects/QHPK-01/documents", data={"file": (io.BytesIO(raw), name), **fields},
                           headers=planner, content_type="multipart/form-data")

    decision = pdf(3)
    good = send(decision, title="Quyết định phê duyệt")
    assert good.status_code == 201, good.get_json()
    document = good.get_json()
    assert document["pages"] == 3 and document["title"] == "Quyết định phê duyệt"
    download = client.get(f"/api/projects/QHPK-01/documents/{document['id']}")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert "sandbox" in download.headers.getlist("Content-Security-Policy") and download.data == decision
    refusals = {
        "not_pdf": send(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "anh.pdf"),
        "unreadable": send(b"%PDF-1.7\n garbage without objects"),
        "active_content": send(rewritten(pdf(), script_on_open)),
        "encrypted": send(rewritten(pdf(), lambda w: w.encrypt("secret"))),
    }
    for reason, resp in refusals.items():
        assert resp.status_code == 400 and resp.get_json()["error"]["details"]["reason"] == reason, (reason, resp.data)
    attached = rewritten(pdf(), lambda w: w.add_attachment("payload.exe", b"MZ..."))
    assert send(attached).get_json()["error"]["details"]["found"] in ("EmbeddedFiles", "EmbeddedFile")
    assert send(pdf(), title="x" * 600).status_code == 400
    assert client.post("/api/projects/QHPK-01/documents", data={}, headers=planner,
                       content_type="multipart/form-data").status_code == 400
    assert db.scalar(select(func.count()).select_from(ProjectDocument)) == 1
    stored = list((app.config["SETTINGS"].document_dir).rglob("*.pdf"))
    assert len(stored) == 1  # nothing refused was written
    # Deleting the document removes its file; deleting the project removes the rest.
    second = send(pdf()).get_json()
    assert client.delete(f"/api/projects/QHPK-01/documents/{second['id']}", headers=planner).status_code == 204
    assert len(list(app.config["SETTINGS"].document_dir.rglob("*.pdf"))) == 1
    assert client.delete("/api/projects/QHPK-01", headers=planner).status_code == 204
    assert list(app.config["SETTINGS"].document_dir.rglob("*.pdf")) == []


def test_oversize_and_too_many_documents(database_url, tmp_path, auth_headers):
    from gisserver.app import create_app

    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                      "DOCUMENT_MAX_MB": 1, "DOCUMENT_MAX_COUNT": 1})
    with app.extensions["gisserver.db"].transaction() as session:
        build_small_city(session)
    client, planner = app.test_client(), auth_headers("planner")
    client.post("/api/projects", json={"code": "P", "name": "P"}, headers=planner)
    big = pdf(1).replace(b"%%EOF", b"%" + b"x" * (1024 * 1024 + 10) + b"\n%%EOF")
    resp = client.post("/api/projects/P/documents", data={"file": (io.BytesIO(big), "big.pdf")}, headers=planner,
                       content_type="multipart/form-data")
    assert resp.status_code == 413
    for status in (201, 409):
        resp = client.post("/api/projects/P/documents", data={"file": (io.BytesIO(pdf()), "a.pdf")},
                           headers=planner, content_type="multipart/form-data")
        assert resp.status_code == status
    app.extensions["gisserver.db"].dispose()


def test_projects_from_the_command_line_and_pages(cli, city, client, tmp_path, auth_headers):
    result = cli("projects", "create", "QHPK-01", "--name", "Quy hoạch phân khu Đông Ba", "--status", "approved",
                 "--decision-number", "1234/QĐ-UBND", "--decision-date", "2024-06-12", "--areas", "T-W",
                 "--layers", "lo-dat")
    assert result.exit_code == 0, result.output
    assert cli("projects", "create", "Q2", "--name", "x", "--areas", "NOWHERE").exit_code != 0
    assert "QHPK-01\tapproved\t2024-06-12" in cli("projects", "list", "--search", "dong ba").output
    (tmp_path / "qd.pdf").write_bytes(pdf(2))
    attached = cli("projects", "add-document", "QHPK-01", str(tmp_path / "qd.pdf"), "--title", "Quyết định")
    assert attached.exit_code == 0 and "(2 pages)" in attached.output
    (tmp_path / "bad.pdf").write_bytes(b"not a pdf")
    assert cli("projects", "add-document", "QHPK-01", str(tmp_path / "bad.pdf")).exit_code != 0
    assert '"pages": 2' in cli("projects", "show", "QHPK-01").output
    assert cli("projects", "update", "QHPK-01", "--status", "superseded").exit_code == 0
    listing = client.get("/planning/projects?q=phan+khu")
    assert listing.status_code == 200 and "Quy hoạch phân khu Đông Ba".encode() in listing.data
    assert client.get("/planning/projects?status=nope").status_code == 400
    page = client.get("/planning/projects/QHPK-01")
    assert page.status_code == 200 and "Quyết định".encode() in page.data and b"project-config" in page.data
    assert b"document-form" not in page.data  # the public reads; planners upload
    assert b"document-form" in client.get("/planning/projects/QHPK-01", headers=auth_headers("planner")).data
    assert cli("projects", "delete", "QHPK-01", "--yes").exit_code == 0
    assert client.get("/planning/projects/QHPK-01").status_code == 404
