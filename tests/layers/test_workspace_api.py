"""The workspace's API: uploads in steps with their progress endpoint and report, the style editor's outputs (style
JSON, SLD, QML), the attribute table, metadata and the attribute schema editors must follow."""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from xml.etree import ElementTree as ET

import geopandas as gpd
import pytest
from shapely.geometry import Point, box
from sqlalchemy import func, select, text

from layers.crs import province_crs
from layers.importing import ImportOptions, import_layer
from layers.models import Layer, LayerImport

SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"


@pytest.fixture
def lots(db, tmp_path):
    frame = gpd.GeoDataFrame(
        {"ma": [f"L{i}" for i in range(12)], "loai": ["ODT" if i % 3 else "CXX" for i in range(12)],
         "tang": [i % 6 for i in range(12)], "dien_tich": [100.0 + 10 * i for i in range(12)]},
        geometry=[box(107.58 + i * 0.001, 16.46, 107.5808 + i * 0.001, 16.4608) for i in range(12)], crs=4326)
    frame.to_file(tmp_path / "lots.geojson")
    import_layer(db, tmp_path / "lots.geojson", ImportOptions(name="lots", title="Lô đất", category="planning"))
    db.commit()
    return db


def _geojson(frame) -> bytes:
    return frame.to_json().encode()


class Poller:
    """The upload page's polling of GET /api/layer-imports/<id>, in a thread of its own while an upload request is
    served. The request waits after each progress note it writes until the poller has seen that note (up to 10 s):
    a note committed late, or a poll held back by the upload's locks, fails the test instead of passing unseen."""

    def __init__(self, client, headers, monkeypatch):
        from layers import api

        self.client, self.headers, self.seen, self.missed = client, headers, [], []
        self.changed = threading.Condition()
        self.import_id = None
        self.stop = threading.Event()
        real = api._progress_writer

        def writer(import_id):
            write = real(import_id)

            def write_and_wait(step, detail=None):
                write(step, detail)
                with self.changed:
                    if not self.changed.wait_for(lambda: self.seen[-1] == (step, detail), timeout=10):
                        self.missed.append((step, detail))

            return write_and_wait

        monkeypatch.setattr(api, "_progress_writer", writer)

    def last_note(self):
        body = self.client.get(f"/api/layer-imports/{self.import_id}", headers=self.headers).get_json()
        return (body["steps"][-1]["step"], body["steps"][-1].get("detail")) if body["steps"] else None

    def poll(self):
        while not self.stop.is_set():
            last = self.last_note()
            with self.changed:
                if last is not None and last != self.seen[-1]:
                    self.seen.append(last)
                self.changed.notify_all()
            time.sleep(0.005)

    def during(self, import_id, request):
        """The notes the poller saw while *request()* was being served, in order, and the request's answer."""
        self.import_id, self.missed = import_id, []
        self.seen = [self.last_note()]  # the note before the request: not one of its own
        self.stop.clear()
        thread = threading.Thread(target=self.poll)
        thread.start()
        try:
            answer = request()
        finally:
            self.stop.set()
            thread.join(10)
        assert self.missed == [], f"notes the poller never saw while the request ran: {self.missed}"
        return self.seen[1:], answer


def test_an_upload_in_steps_with_progress_choices_and_report(client, db, auth_headers, tmp_path, monkeypatch):
    from layers import storage

    monkeypatch.setattr(storage, "PROGRESS_ROWS", 1)  # a note per row stored, so that three rows show progress
    planner = auth_headers("planner")
    assert client.post("/api/layer-imports", json={"file_name": "a.dwg"}, headers=planner).status_code == 415
    assert client.post("/api/layer-imports", json={"file_name": "a.gpkg"}, headers=auth_headers("officer")) \
        .status_code == 403
    # A GeoPackage with two layers: the import stops to ask which one.
    gpkg = tmp_path / "two.gpkg"
    good = gpd.GeoDataFrame({"ten": ["A", "B", "C"]}, geometry=[Point(107.58, 16.46), Point(107.59, 16.47),
                                                                Point(200, 95)], crs=4326)
    good.to_file(gpkg, layer="diem", driver="GPKG")
    gpd.GeoDataFrame({"x": [1]}, geometry=[Point(107.6, 16.5)], crs=4326).to_file(gpkg, layer="khac", driver="GPKG")
    created = client.post("/api/layer-imports", json={"file_name": "two.gpkg", "bytes": gpkg.stat().st_size},
                          headers=planner)
    assert created.status_code == 201
    imp = created.get_json()["id"]
    poller = Poller(client, planner, monkeypatch)
    seen, sent = poller.during(imp, lambda: client.put(
        f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(gpkg.read_bytes()), "two.gpkg")},
        headers=planner, content_type="multipart/form-data"))
    # Each step was visible to the page while the upload request was still being served, in order.
    assert seen == [("upload", {"bytes": gpkg.stat().st_size}), ("read", None), ("needs_choice", None)]
    body = sent.get_json()
    assert body["status"] == "needs_choice" and body["report"] == {"choice": "layer", "layers": ["diem", "khac"]}
    assert [(s["step"], s.get("detail")) for s in body["steps"]] == seen
    # Publishing before the file is read is refused; the choice reads it into the staging table.
    assert client.post(f"/api/layer-imports/{imp}/publish", json={"name": "diem"}, headers=planner).status_code == 409
    seen, answer = poller.during(imp, lambda: client.post(f"/api/layer-imports/{imp}/read", json={"layer": "diem"},
                                                          headers=planner))
    # Reading and storing, row by row, seen as it happened (the file's third point is dropped: 2 rows stored).
    assert seen == [("read", None), ("store", {"rows": 0, "of": 2}), ("store", {"rows": 1, "of": 2}),
                    ("store", {"rows": 2, "of": 2}), ("ready", None)]
    read = answer.get_json()
    assert read["status"] == "ready" and read["step"] == "ready"
    report = read["report"]
    assert report["counts"] == {"read": 3, "stored": 2, "repaired": 0, "dropped": 1,
                                "dropped_reasons": {"coordinates out of range": 1}}
    assert report["preview"] == [{"ten": "A"}, {"ten": "B"}] and report["geometry_type"] == "Point"
    assert [(s["step"], s.get("detail")) for s in read["steps"]][-5:] == seen
    assert db.execute(text(f"SELECT count(*) FROM layer_data.s{imp}")).scalar() == 2
    db.rollback()  # the staging table is renamed at publication: no reader may hold it
    assert client.get("/api/layers/diem").status_code == 404  # nothing published yet
    published = client.post(f"/api/layer-imports/{imp}/publish",
                            json={"name": "diem-so-tan", "title": "Điểm sơ tán", "category": "disaster",
                                  "comment": "from the survey"}, headers=planner)
    assert published.status_code == 201, published.get_json()
    layer = client.get("/api/layers/diem-so-tan").get_json()
    assert layer["feature_count"] == 2 and layer["title"] == "Điểm sơ tán"
    items = client.get("/ogc/collections/diem-so-tan/items").get_json()
    assert sorted(f["properties"]["ten"] for f in items["features"]) == ["A", "B"]
    assert client.get("/ogc/collections/diem-so-tan/items/1").headers["ETag"]
    changes = client.get("/api/layers/diem-so-tan/changes", headers=planner).get_json()["changes"]
    assert changes[0]["kind"] == "import" and changes[0]["comment"] == "from the survey"
    assert db.execute(text(f"SELECT to_regclass('layer_data.s{imp}')")).scalar() is None
    assert client.post(f"/api/layer-imports/{imp}/publish", json={"name": "x"}, headers=planner).status_code == 409
    assert client.delete(f"/api/layer-imports/{imp}", headers=planner).status_code == 409


def _upload(client, headers, frame, name="f.geojson", **json):
    """Create an import, send *frame* as GeoJSON and let it be read; the import's id."""
    imp = client.post("/api/layer-imports", json={"file_name": name, **json}, headers=headers).get_json()["id"]
    sent = client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(_geojson(frame)), name)},
                      headers=headers, content_type="multipart/form-data")
    assert sent.status_code == 200 and sent.get_json()["status"] == "ready", sent.get_json()
    return imp


POINTS = gpd.GeoDataFrame({"ten": ["A", "B"]}, geometry=[Point(107.58, 16.46), Point(107.59, 16.47)], crs=4326)


def test_an_upload_is_its_creators_own(client, db, auth_headers, app):
    from gisserver.accounts.models import User
    from gisserver.accounts.users import issue_token

    owner, other, admin = auth_headers("planner"), auth_headers("planner"), auth_headers("admin")
    imp = _upload(client, owner, POINTS)
    # Another planner: every route answers as if the import did not exist, and nothing changes.
    for method, path, kwargs in (
            ("get", "", {}), ("post", "/read", {"json": {}}), ("post", "/publish", {"json": {"name": "theirs"}}),
            ("delete", "", {}),
            ("put", "/file", {"data": {"file": (io.BytesIO(_geojson(POINTS)), "f.geojson")},
                              "content_type": "multipart/form-data"})):
        resp = getattr(client, method)(f"/api/layer-imports/{imp}{path}", headers=other, **kwargs)
        assert resp.status_code == 404, (method, path, resp.get_json())
        assert resp.get_json()["error"]["message"] == f"no import {imp}"
    assert client.get(f"/api/layer-imports/{imp}", headers=owner).get_json()["status"] == "ready"
    # The same person through another of their tokens is still its creator.
    with app.extensions["gisserver.db"].transaction() as session:
        creator = session.get(User, db.scalar(select(LayerImport.created_by_user_id).where(LayerImport.id == imp)))
        _, secret = issue_token(session, "laptop", user=creator)
    db.rollback()
    assert client.get(f"/api/layer-imports/{imp}", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    # Admins see and act on every upload.
    assert client.get(f"/api/layer-imports/{imp}", headers=admin).status_code == 200
    published = client.post(f"/api/layer-imports/{imp}/publish", json={"name": "cua-ai"}, headers=admin)
    assert published.status_code == 201 and published.get_json()["published_layer"] == "cua-ai"


def _import_audit(db, imp: int) -> list[tuple[str, str | None, str]]:
    """(action, the status it set, actor) of each audit entry of the import's row, oldest first."""
    db.rollback()
    rows = db.execute(text("SELECT action, changes, actor FROM audit_log WHERE table_name = 'layer_imports' "
                           "AND row_id = :id ORDER BY id"), {"id": str(imp)}).all()
    status = [(c.get("status") if a == "insert" else (c.get("status") or [None, None])[1]) for a, c, _ in rows]
    return [(a, st, actor) for (a, _, actor), st in zip(rows, status, strict=True)]


def test_every_state_change_of_an_upload_is_audited(client, db, auth_headers):
    planner = auth_headers("planner")
    imp = client.post("/api/layer-imports", json={"file_name": "f.geojson"}, headers=planner).get_json()["id"]
    actor = client.get(f"/api/layer-imports/{imp}", headers=planner).get_json()["created_by"]
    client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(b"{not json"), "f.geojson")},
               headers=planner, content_type="multipart/form-data")
    client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(_geojson(POINTS)), "f.geojson")},
               headers=planner, content_type="multipart/form-data")
    client.post(f"/api/layer-imports/{imp}/publish", json={"name": "kiem-toan"}, headers=planner)
    audited = _import_audit(db, imp)
    assert {a for _, _, a in audited} == {actor}
    # Every status the import went through, each committed with its audit entry (receiving a file changes its
    # size, not its status).
    assert [st for _, st, _ in audited if st] == ["created", "reading", "failed", "reading", "ready", "published"]
    assert audited[0][0] == "insert" and all(a == "update" for a, _, _ in audited[1:])
    discarded = _upload(client, planner, POINTS)
    client.delete(f"/api/layer-imports/{discarded}", headers=planner)
    assert [st for _, st, _ in _import_audit(db, discarded) if st][-1] == "discarded"


def test_a_failure_while_publishing_leaves_nothing_half_published(client, db, auth_headers, lots, monkeypatch):
    from layers import storage

    planner = auth_headers("planner")
    real = storage.publish_staged

    def publish_then_fail(*args, **kwargs):  # the staging table is the layer's table by now
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    replacement = gpd.GeoDataFrame({"ma": ["N1"], "loai": ["ODT"], "tang": [1], "dien_tich": [5.0]},
                                   geometry=[box(107.58, 16.46, 107.581, 16.461)], crs=4326)
    before = client.get("/api/layers/lots").get_json()
    items_before = client.get("/ogc/collections/lots/items?limit=100").get_json()["features"]
    new = _upload(client, planner, POINTS)
    replacing = _upload(client, planner, replacement, replace="lots")
    audit_before = db.scalar(text("SELECT count(*) FROM audit_log"))
    tables_before = set(db.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'layer_data'")))
    db.rollback()
    monkeypatch.setattr(storage, "publish_staged", publish_then_fail)
    assert client.post(f"/api/layer-imports/{new}/publish", json={"name": "moi"}, headers=planner).status_code == 500
    assert client.post(f"/api/layer-imports/{replacing}/publish", json={}, headers=planner).status_code == 500
    # Nothing of either: no new layer, the replaced one serves its old data, the tables and the audit log are as
    # they were, and both imports are still ready to publish with their staging tables.
    assert client.get("/api/layers/moi").status_code == 404
    after = client.get("/api/layers/lots").get_json()
    assert (after["data_version"], after["feature_count"]) == (before["data_version"], before["feature_count"])
    assert client.get("/ogc/collections/lots/items?limit=100").get_json()["features"] == items_before
    assert set(db.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'layer_data'"))) == tables_before
    assert db.scalar(text("SELECT count(*) FROM audit_log")) == audit_before
    db.rollback()
    for imp in (new, replacing):
        assert client.get(f"/api/layer-imports/{imp}", headers=planner).get_json()["status"] == "ready"
    monkeypatch.setattr(storage, "publish_staged", real)
    assert client.post(f"/api/layer-imports/{new}/publish", json={"name": "moi"}, headers=planner).status_code == 201
    assert client.post(f"/api/layer-imports/{replacing}/publish", json={}, headers=planner).status_code == 200
    assert client.get("/api/layers/lots").get_json()["feature_count"] == 1


def test_a_failure_while_storing_marks_the_import_failed_and_keeps_nothing(client, db, auth_headers, monkeypatch):
    from layers import storage

    planner = auth_headers("planner")
    real = storage.create_and_load

    def load_then_fail(*args, **kwargs):  # every row is in the staging table by now
        real(*args, **kwargs)
        raise RuntimeError("connection to the disk lost")

    imp = client.post("/api/layer-imports", json={"file_name": "f.geojson"}, headers=planner).get_json()["id"]
    monkeypatch.setattr(storage, "create_and_load", load_then_fail)
    sent = client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(_geojson(POINTS)), "f.geojson")},
                      headers=planner, content_type="multipart/form-data")
    assert sent.status_code == 500
    state = client.get(f"/api/layer-imports/{imp}", headers=planner).get_json()
    assert state["status"] == "failed" and "read it again" in state["error"]["message"]  # not "reading" for ever
    assert db.scalar(text(f"SELECT to_regclass('layer_data.s{imp}')")) is None
    assert [st for _, st, _ in _import_audit(db, imp) if st][-2:] == ["reading", "failed"]
    monkeypatch.setattr(storage, "create_and_load", real)
    again = client.post(f"/api/layer-imports/{imp}/read", json={}, headers=planner).get_json()
    assert again["status"] == "ready" and again["report"]["count"] == 2


def test_replacing_through_an_upload_and_files_that_need_a_crs(client, db, auth_headers, tmp_path, lots):
    planner = auth_headers("planner")
    # A Shapefile in VN-2000 without its .prj: the planner names the province's zone.
    shp = tmp_path / "shp"
    shp.mkdir()
    gpd.GeoDataFrame({"ma": ["N1"]}, geometry=[box(107.58, 16.46, 107.581, 16.461)], crs=4326) \
        .to_crs(province_crs("hue")).to_file(shp / "lo.shp", encoding="UTF-8")
    (shp / "lo.prj").unlink()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.iterdir():
            zf.write(part, part.name)
    imp = client.post("/api/layer-imports", json={"file_name": "lo.zip", "replace": "lots"},
                      headers=planner).get_json()["id"]
    stopped = client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(archive.getvalue()), "lo.zip")},
                         headers=planner, content_type="multipart/form-data").get_json()
    assert stopped["status"] == "needs_choice" and stopped["report"]["choice"] == "crs"
    assert "hue" in stopped["report"]["provinces"]
    assert client.post(f"/api/layer-imports/{imp}/read", json={"province": "hue", "crs": "EPSG:3405"},
                       headers=planner).status_code == 400
    ready = client.post(f"/api/layer-imports/{imp}/read", json={"province": "hue"}, headers=planner).get_json()
    assert ready["status"] == "ready" and "107" in ready["report"]["source_crs"]
    resp = client.post(f"/api/layer-imports/{imp}/publish", json={"comment": "resurveyed"}, headers=planner)
    assert resp.status_code == 200, resp.get_json()
    assert client.get("/api/layers/lots").get_json()["feature_count"] == 1
    bounds = client.get("/ogc/collections/lots/items").get_json()["features"][0]["geometry"]["coordinates"][0]
    assert abs(min(x for x, _ in bounds) - 107.58) < 1e-6  # placed where it was surveyed
    # A file that cannot be imported says why; discarding drops what was staged.
    bad = client.post("/api/layer-imports", json={"file_name": "x.geojson"}, headers=planner).get_json()["id"]
    failed = client.put(f"/api/layer-imports/{bad}/file", data={"file": (io.BytesIO(b"{not json"), "x.geojson")},
                        headers=planner, content_type="multipart/form-data").get_json()
    assert failed["status"] == "failed" and failed["error"]["message"]
    assert client.delete(f"/api/layer-imports/{bad}", headers=planner).status_code == 204
    assert client.get(f"/api/layer-imports/{bad}", headers=planner).get_json()["status"] == "discarded"
    assert client.get("/api/layer-imports/999999", headers=planner).status_code == 404
    assert db.scalar(select(func.count()).select_from(LayerImport)) == 2


def test_attribute_table_values_and_breaks(client, lots):
    rows = client.get("/api/layers/lots/rows?sort=tang&order=desc&per_page=5").get_json()
    assert rows["total"] == 12 and [r["properties"]["tang"] for r in rows["rows"]] == [5, 5, 4, 4, 3]
    filtered = client.get("/api/layers/lots/rows?where.loai=cx&where.tang=0").get_json()
    assert [r["properties"]["ma"] for r in filtered["rows"]] == ["L0", "L6"]
    second = client.get("/api/layers/lots/rows?per_page=5&page=3").get_json()
    assert [r["id"] for r in second["rows"]] == [11, 12]
    for bad in ("sort=nope", "where.nope=1", "where.tang=abc", "per_page=0", "order=up", "page=x"):
        assert client.get(f"/api/layers/lots/rows?{bad}").status_code == 400, bad
    values = client.get("/api/layers/lots/values?attribute=loai").get_json()["values"]
    assert values == [{"value": "ODT", "count": 8}, {"value": "CXX", "count": 4}]
    equal = client.get("/api/layers/lots/breaks?attribute=dien_tich&classes=2&method=equal").get_json()["breaks"]
    assert equal == [100.0, 155.0, 210.0]
    quantile = client.get("/api/layers/lots/breaks?attribute=tang&classes=3").get_json()["breaks"]
    assert quantile[0] == 0 and quantile[-1] == 5 and len(quantile) == 4
    lots.execute(text("UPDATE layer_data.l1_v1 SET a2 = 0 WHERE fid < 10"))
    lots.commit()
    assert client.get("/api/layers/lots/breaks?attribute=tang&classes=4").get_json()["breaks"] == [0, 0.75, 5]
    for bad in ("attribute=loai", "attribute=tang&classes=12", "attribute=tang&method=jenks", "attribute=x"):
        assert client.get(f"/api/layers/lots/breaks?{bad}").status_code == 400, bad


STYLES = {
    "single": {"mode": "single", "fill": "#1f78b4", "stroke": "#08306b", "weight": 1.5, "opacity": 0.8,
               "fill_opacity": 0.5, "label": "ma"},
    "categories": {"mode": "categories", "by": "loai", "categories": {"ODT": "#f4a582", "CXX": "#4dac26"},
                   "stroke": "#7f6000", "fill_opacity": 0.6},
    "graduated": {"mode": "graduated", "by": "dien_tich", "classes": [
        {"min": 100, "max": 150, "colour": "#fee5d9"}, {"min": 150, "max": 210, "colour": "#a50f15",
                                                      "label": "large"}]},
}


def test_style_json_sld_and_qml(client, lots, auth_headers):
    for kind, style in STYLES.items():
        _check_style_files(client, auth_headers, kind, style)


def _check_style_files(client, auth_headers, kind, style):
    resp = client.patch("/api/layers/lots", json={"style": style}, headers=auth_headers("planner"))
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["style"] == style
    sld = ET.fromstring(client.get("/api/layers/lots/style.sld").data)
    assert sld.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor" and sld.get("version") == "1.1.0"
    rules = sld.findall(f".//{SE}Rule")
    qml = ET.fromstring(client.get("/api/layers/lots/style.qml").data)
    renderer = qml.find("renderer-v2")
    assert qml.find("layerGeometryType").text == "2"
    if kind == "single":
        assert [r.find(f"{SE}Name").text for r in rules] == ["lots", "label"]
        fill = rules[0].find(f".//{SE}PolygonSymbolizer/{SE}Fill")
        assert {p.get("name"): p.text for p in fill} == {"fill": "#1f78b4", "fill-opacity": "0.5"}
        assert rules[1].find(f".//{SE}TextSymbolizer/{SE}Label/{OGC}PropertyName").text == "ma"
        assert renderer.get("type") == "singleSymbol" and qml.find(".//text-style").get("fieldName") == "ma"
        colour = qml.find(".//layer[@class='SimpleFill']/Option/Option[@name='color']").get("value")
        assert colour == "31,120,180,128"
    elif kind == "categories":
        literals = [r.findtext(f".//{OGC}Literal") for r in rules]
        # (JSONB keeps an object's keys in its own order.)
        assert sorted(literals[:-1]) == ["CXX", "ODT"] and rules[-1].find(f"{SE}ElseFilter") is not None
        assert literals[-1] is None
        assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "loai"
        assert sorted(c.get("value") for c in renderer.iter("category")) == ["", "CXX", "ODT"]
        assert len(renderer.find("symbols")) == 3
    else:
        bounds = [(r.find(f".//{OGC}PropertyIsGreaterThanOrEqualTo/{OGC}Literal").text,
                   r.find(f".//{OGC}PropertyIsLessThanOrEqualTo/{OGC}Literal").text) for r in rules]
        assert bounds == [("100", "150"), ("150", "210")]
        assert renderer.get("type") == "graduatedSymbol" and [r.get("label") for r in renderer.iter("range")] == [
            "100 - 150", "large"]
    assert client.get("/api/layers/lots/style.dxf").status_code == 404


def test_bad_styles_metadata_and_schema_are_refused(client, lots, auth_headers, db, tmp_path):
    planner = auth_headers("planner")
    for change in (
        {"style": {"mode": "graduated", "by": "loai", "classes": [{"min": 0, "max": 1, "colour": "#000000"}]}},
        {"style": {"mode": "graduated", "by": "tang", "classes": [{"min": 5, "max": 1, "colour": "#000000"}]}},
        {"style": {"mode": "categories", "by": "nope", "categories": {}}},
        {"style": {"label": "nope"}},
        {"style": {"mode": "mosaic"}},
        {"metadata": {"licence": 5}},
        {"metadata": {"update_frequency": "hourly"}},
        {"metadata": {"keywords": "a,b"}},
        {"metadata": {"colour": "red"}},
        {"attributes": [{"name": "tang", "type": "text"}]},
        {"attributes": [{"name": "tang", "values": ["a"]}]},
        {"attributes": [{"name": "nope", "required": True}]},
        {"basemap": "yes"},
        {"basemap_order": 10**6},
    ):
        assert client.patch("/api/layers/lots", json=change, headers=planner).status_code == 400, change
    metadata = {"title_en": "Land lots", "description_en": "Zoning", "keywords": ["quy hoạch"],
                "keywords_en": ["zoning"], "source": "Sở Xây dựng", "licence": "CC BY 4.0", "contact": "qh@hue.gov.vn",
                "update_frequency": "weekly"}
    resp = client.patch("/api/layers/lots", headers=planner, json={
        "metadata": metadata, "basemap": True, "basemap_order": 2,
        "attributes": [{"name": "loai", "required": True, "values": ["ODT", "CXX", "TMD"]}]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["metadata"] == metadata and body["basemap"] is True
    assert body["attributes"][1] == {"name": "loai", "type": "text", "required": True, "values": ["ODT", "CXX", "TMD"]}
    # Editors now must give loai, from its list; the check endpoint says so without writing.
    feature = {"type": "Feature", "geometry": json.loads(gpd.GeoSeries([box(107.6, 16.46, 107.601, 16.461)]).to_json())
               ["features"][0]["geometry"], "properties": {"ma": "N", "loai": "XYZ"}}
    checked = client.post("/api/layers/lots/check", json=feature, headers=planner).get_json()
    assert checked["valid"] is False and "loai must be one of" in checked["problems"][0]["message"]
    assert client.post("/ogc/collections/lots/items", json=feature, headers=planner).status_code == 400
    feature["properties"] = {"ma": "N"}
    assert client.post("/ogc/collections/lots/items", json=feature, headers=planner).get_json()["error"]["details"][
        "reason"] == "required"
    feature["properties"]["loai"] = "TMD"
    assert client.post("/api/layers/lots/check", json=feature, headers=planner).get_json() == {"valid": True,
                                                                                             "problems": []}
    assert client.post("/ogc/collections/lots/items", json=feature, headers=planner).status_code == 201
    # New data keeps what was said of an attribute whose name and type stay.
    gpd.GeoDataFrame({"loai": ["ODT"]}, geometry=[box(107.6, 16.46, 107.601, 16.461)], crs=4326).to_file(
        tmp_path / "new.geojson")
    import_layer(db, tmp_path / "new.geojson", ImportOptions(name="lots", replace=True))
    db.commit()
    kept = client.get("/api/layers/lots").get_json()["attributes"]
    assert next(a for a in kept if a["name"] == "loai").get("required") is True


def test_workspace_pages_render_for_planners(client, lots, auth_headers, db):
    planner = auth_headers("planner")
    assert b'href="/planning"' in client.get("/", headers=planner).data  # the start page leads there
    assert client.get("/planning").status_code == 302
    assert client.get("/planning", headers=auth_headers("officer")).status_code == 403
    catalog = client.get("/planning?q=lô&category=planning", headers=planner)
    assert catalog.status_code == 200 and b'data-layer="lots"' in catalog.data
    assert b'data-layer="lots"' not in client.get("/planning?visibility=internal", headers=planner).data
    assert client.get("/planning?category=nope", headers=planner).status_code == 400
    for path in ("/planning/layers/lots", "/planning/layers/lots/style", "/planning/layers/lots/edit",
                 "/planning/layers/lots/features/3", "/planning/upload", "/planning/upload?replace=lots"):
        page = client.get(path, headers=planner)
        assert page.status_code == 200, path
        assert b"<script>" not in page.data and b"onclick" not in page.data  # ready for a strict CSP
    assert client.get("/planning/layers/nope", headers=planner).status_code == 404
    assert client.get("/planning/layers/lots/features/99", headers=planner).status_code == 404
    assert db.scalar(select(Layer.name)) == "lots"


def test_map_pages_draw_the_citys_base_map_unless_one_is_configured(client, lots, auth_headers, database_url,
                                                                    tmp_path):
    from gisserver.app import create_app

    planner = auth_headers("planner")
    assert "citybase" not in client.get("/maps/layers").get_data(as_text=True)  # nothing marked yet
    assert client.patch("/api/layers/lots", json={"basemap": True}, headers=planner).status_code == 200
    page = client.get("/maps/layers").get_data(as_text=True)
    assert "citybase" in page and "/api/layers/lots/tiles/{z}/{x}/{y}.mvt" in page
    workspace = client.get("/planning/layers/lots", headers=planner).get_data(as_text=True)
    assert '"layers": [{"geometry": "Polygon", "name": "lots"' in workspace.replace("\n", "")
    # An internal layer is never part of everyone's base map.
    client.patch("/api/layers/lots", json={"visibility": "internal"}, headers=planner)
    assert "citybase" not in client.get("/maps/layers").get_data(as_text=True)
    client.patch("/api/layers/lots", json={"visibility": "public"}, headers=planner)
    # With an external base map configured, that one is drawn instead.
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True,
                      "BASEMAP_URL": "http://tiles.example/{z}/{x}/{y}.png"})
    page = app.test_client().get("/maps/layers").get_data(as_text=True)
    assert "citybase" not in page and "http://tiles.example/{z}/{x}/{y}.png" in page
    app.extensions["gisserver.db"].dispose()
