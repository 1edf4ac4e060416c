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


def test_an_upload_in_steps_with_progress_choices_and_report(client, db, auth_headers, tmp_path):
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
    seen = []

    def watch():  # the page's polling, while the upload request is being served
        while len(seen) < 200 and (not seen or seen[-1] not in ("needs_choice", "ready", "failed")):
            seen.append(client.get(f"/api/layer-imports/{imp}", headers=planner).get_json()["step"])
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    sent = client.put(f"/api/layer-imports/{imp}/file", data={"file": (io.BytesIO(gpkg.read_bytes()), "two.gpkg")},
                      headers=planner, content_type="multipart/form-data")
    watcher.join(10)
    body = sent.get_json()
    assert body["status"] == "needs_choice" and body["report"] == {"choice": "layer", "layers": ["diem", "khac"]}
    assert [s["step"] for s in body["steps"]] == ["upload", "read", "needs_choice"]
    assert body["steps"][0]["detail"]["bytes"] == gpkg.stat().st_size
    assert seen and seen[-1] in ("read", "needs_choice")
    # Publishing before the file is read is refused; the choice reads it into the staging table.
    assert client.post(f"/api/layer-imports/{imp}/publish", json={"name": "diem"}, headers=planner).status_code == 409
    read = client.post(f"/api/layer-imports/{imp}/read", json={"layer": "diem"}, headers=planner).get_json()
    assert read["status"] == "ready" and read["step"] == "ready"
    report = read["report"]
    assert report["counts"] == {"read": 3, "stored": 2, "repaired": 0, "dropped": 1,
                                "dropped_reasons": {"coordinates out of range": 1}}
    assert report["preview"] == [{"ten": "A"}, {"ten": "B"}] and report["geometry_type"] == "Point"
    assert [s["step"] for s in read["steps"]][-3:] == ["read", "store", "ready"]
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
