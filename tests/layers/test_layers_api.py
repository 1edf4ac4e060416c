import io
import json
import re
import zipfile

import geopandas as gpd
import pyogrio
import pytest
from sqlalchemy import func, select

from gisserver.app import create_app
from layers.catalog import data_table, get_layer
from layers.importing import ImportOptions, import_layer
from layers.storage import attribute_columns
from tests.layers.conftest import VI_NAMES


def upload(client, frame, headers, name="tram-bom", **fields):
    buf = io.BytesIO(frame.to_json(drop_id=True).encode())
    data = {"file": (buf, "tram.geojson"), "name": name, "title": "Trạm bơm", "category": "infrastructure", **fields}
    return client.post("/api/layers", data=data, headers=headers, content_type="multipart/form-data")


def test_upload_list_update_delete(client, auth_headers, points):
    planner = auth_headers("planner")
    assert upload(client, points, {}).status_code == 401
    assert upload(client, points, auth_headers("officer")).status_code == 403
    resp = upload(client, points, planner)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["import"]["counts"]["stored"] == 2 and body["layer"]["attributes"] == [{"name": "ten", "type": "text"}]
    assert upload(client, points, planner).status_code == 409
    listing = client.get("/api/layers").get_json()["layers"]
    assert [layer["name"] for layer in listing] == ["tram-bom"]
    resp = client.patch("/api/layers/tram-bom", json={"style": {"fill": "blue"}}, headers=planner)
    assert resp.status_code == 400
    resp = client.patch("/api/layers/tram-bom", json={"visibility": "internal", "style": {"fill": "#1f78b4"}},
                        headers=planner)
    assert resp.status_code == 200 and resp.get_json()["style"] == {"fill": "#1f78b4"}
    # Internal layers do not exist for the public.
    assert client.get("/api/layers/tram-bom").status_code == 404
    assert client.get("/api/layers").get_json()["layers"] == []
    assert client.get("/api/layers/tram-bom/export").status_code == 404
    assert client.get("/api/layers/tram-bom", headers=auth_headers("leader")).status_code == 200
    assert client.delete("/api/layers/tram-bom", headers=planner).status_code == 204
    assert client.get("/api/layers/tram-bom", headers=planner).status_code == 404


def test_replace_data_through_the_api(client, auth_headers, points, parcels):
    planner = auth_headers("planner")
    upload(client, points, planner)
    buf = io.BytesIO(parcels.to_json(drop_id=True).encode())
    resp = client.put("/api/layers/tram-bom/data", data={"file": (buf, "new.geojson")}, headers=planner,
                      content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["layer"]["data_version"] == 2 and resp.get_json()["layer"]["feature_count"] == 3
    no_file = client.put("/api/layers/tram-bom/data", data={}, headers=planner, content_type="multipart/form-data")
    assert no_file.status_code == 400


def test_oversize_upload_is_413(database_url, tmp_path, auth_headers, points):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True, "MAX_UPLOAD_MB": 1})
    big = io.BytesIO(b" " * (2 * 1024 * 1024))
    resp = app.test_client().post("/api/layers", data={"file": (big, "big.geojson"), "name": "big"},
                                  headers=auth_headers("planner"), content_type="multipart/form-data")
    assert resp.status_code == 413 and resp.get_json()["error"]["code"]
    app.extensions["gisserver.db"].dispose()


def test_exports_keep_names_and_defuse_formulas(client, auth_headers, tmp_path, parcels):
    parcels.loc[0, "ten_lo"] = "=HYPERLINK(\"http://evil\")"
    upload(client, parcels, auth_headers("planner"), name="lo-dat")
    geojson = client.get("/api/layers/lo-dat/export?format=geojson")
    assert geojson.status_code == 200
    features = json.loads(geojson.data)["features"]
    assert features[1]["properties"]["ten_lo"] == "Đất cây xanh – công viên"
    clipped = client.get("/api/layers/lo-dat/export?format=geojson&bbox=107.5815,16.459,107.5835,16.462")
    assert len(json.loads(clipped.data)["features"]) == 1
    assert client.get("/api/layers/lo-dat/export?format=geojson&bbox=1,2,3").status_code == 400
    assert client.get("/api/layers/lo-dat/export?format=dwg").status_code == 400
    gpkg = tmp_path / "x.gpkg"
    gpkg.write_bytes(client.get("/api/layers/lo-dat/export?format=gpkg").data)
    assert list(pyogrio.read_dataframe(gpkg)["ten_lo"])[1] == "Đất cây xanh – công viên"
    shp = client.get("/api/layers/lo-dat/export?format=shp")
    names = zipfile.ZipFile(io.BytesIO(shp.data)).namelist()
    assert {"lo-dat.shp", "lo-dat.dbf", "lo-dat.cpg", "lo-dat.prj"} <= set(names)
    shp_path = tmp_path / "x.zip"
    shp_path.write_bytes(shp.data)
    assert gpd.read_file(f"zip://{shp_path}")["ten_lo"][1] == "Đất cây xanh – công viên"
    csv = client.get("/api/layers/lo-dat/export?format=csv").data.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv and "POLYGON" in csv and "Đất cây xanh – công viên" in csv


def test_layers_cli(cli, tmp_path, points):
    path = tmp_path / "tram.geojson"
    points.to_file(path)
    result = cli("layers", "import", str(path), "--name", "tram", "--category", "infrastructure")
    assert result.exit_code == 0, result.output
    assert "stored 2" in result.output
    assert "tram\tinfrastructure\tPoint\t2" in cli("layers", "list").output
    assert cli("layers", "import", str(path), "--name", "tram").exit_code != 0
    out = tmp_path / "out.csv"
    assert cli("layers", "export", "tram", "--format", "csv", "-o", str(out)).exit_code == 0
    assert "Trạm bơm Vỹ Dạ" in out.read_text(encoding="utf-8-sig")
    assert cli("layers", "update", "tram", "--title", "Trạm bơm tiêu").exit_code == 0
    assert '"title": "Trạm bơm tiêu"' in cli("layers", "show", "tram").output
    assert cli("layers", "delete", "tram", "--yes").exit_code == 0
    assert "tram" not in cli("layers", "list").output


def test_catalog_entry_and_filters(client, auth_headers, cli, points, parcels):
    planner = auth_headers("planner")
    upload(client, points, planner, name="tram-bom", group="Thoát nước 2030")
    upload(client, parcels, planner, name="lo-dat", category="planning", group="QHPK Vỹ Dạ",
           style=json.dumps({"by": "ten_lo", "categories": {"Đất ở đô thị": "#e31a1c"}}))
    entry = client.get("/api/layers/lo-dat").get_json()
    assert entry["created_by"].endswith("planner") and entry["updated_by"] == entry["created_by"]
    assert entry["created_at"] and entry["updated_at"] and entry["source_file"] == "tram.geojson"
    assert entry["source_crs"] == "EPSG:4326" and entry["geometry_type"] == "MultiPolygon"
    assert entry["extent"] == pytest.approx([107.58, 16.46, 107.585, 16.461])
    assert entry["style"]["by"] == "ten_lo" and entry["group"] == "QHPK Vỹ Dạ"
    assert [a["type"] for a in entry["attributes"]] == ["text", "double", "integer"]
    names = lambda query: [layer["name"] for layer in client.get(f"/api/layers{query}").get_json()["layers"]]  # noqa: E731
    assert names("?category=planning") == ["lo-dat"]
    assert names("?group=Thoát nước 2030") == ["tram-bom"]
    assert names("?q=vỹ dạ") == ["lo-dat"]
    assert client.get("/api/layers?category=roads").status_code == 400
    style_by_unknown = client.patch("/api/layers/lo-dat", json={"style": {"by": "nope"}}, headers=planner)
    assert style_by_unknown.status_code == 400
    assert cli("layers", "list", "--group", "Thoát nước 2030").output.startswith("tram-bom\t")
    assert cli("layers", "list", "--search", "lo-").output.startswith("lo-dat\t")
    assert cli("layers", "list", "--search", "zzz").output == ""


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
def test_every_export_reads_back_through_the_importer(client, auth_headers, db, tmp_path, parcels, fmt):
    """Each export is a file our own importer (and GDAL) reads back: same features, same Vietnamese names."""
    upload(client, parcels, auth_headers("planner"), name="lo-dat")
    resp = client.get(f"/api/layers/lo-dat/export?format={fmt}&bbox=107.579,16.459,107.5835,16.462")
    assert resp.status_code == 200
    suffix = {"geojson": ".geojson", "gpkg": ".gpkg", "shp": ".zip", "csv": ".csv"}[fmt]
    path = tmp_path / f"back{suffix}"
    path.write_bytes(resp.data)
    # A CSV's WKT column carries no CRS: the importer asks for one, as for any file without CRS.
    result = import_layer(db, path, ImportOptions(name="back", crs="EPSG:4326" if fmt == "csv" else None))
    assert result.counts["stored"] == 2  # the bbox holds the first two parcels
    table = data_table(get_layer(db, "back"))
    names = {c.info["name"]: c for c in attribute_columns(table)}
    got = db.execute(select(names["ten_lo"], func.ST_Area(table.c.geom)).order_by(names["ten_lo"])).all()
    assert [r[0] for r in got] == sorted(VI_NAMES[:2])
    assert all(r[1] == pytest.approx(1e-6, rel=1e-3) for r in got)


def test_export_of_an_area(client, auth_headers, cli, tmp_path, parcels):
    upload(client, parcels, auth_headers("planner"), name="lo-dat")
    ward = {"type": "Polygon", "coordinates": [[[107.5795, 16.4595], [107.5812, 16.4595], [107.5812, 16.4612],
                                                [107.5795, 16.4612], [107.5795, 16.4595]]]}
    resp = client.get("/api/layers/lo-dat/export", query_string={"format": "geojson", "area": json.dumps(ward)})
    assert resp.status_code == 200
    assert [f["properties"]["ten_lo"] for f in json.loads(resp.data)["features"]] == [VI_NAMES[0]]
    feature_collection = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                                                     "geometry": ward}]}
    area_file = tmp_path / "phuong.geojson"
    area_file.write_text(json.dumps(feature_collection))
    out = tmp_path / "out.geojson"
    assert cli("layers", "export", "lo-dat", "--area", str(area_file), "-o", str(out)).exit_code == 0
    assert len(json.loads(out.read_text())["features"]) == 1
    for bad in ('{"type": "Point", "coordinates": [107.58, 16.46]}', "{", '{"type": "Polygon", "coordinates": '
                '[[[0, 0], [500000, 0], [500000, 1800000], [0, 0]]]}', '{"type": "Polygon", "coordinates": NaN}'):
        resp = client.get("/api/layers/lo-dat/export", query_string={"format": "geojson", "area": bad})
        assert resp.status_code == 400, bad
        assert resp.get_json()["error"]["details"]["field"] == "area"


def test_what_readers_see_defaults_order_labels_aliases_and_formats(client, auth_headers, parcels, points):
    planner = auth_headers("planner")
    buf = io.BytesIO(parcels.to_json(drop_id=True).encode())
    client.post("/api/layers", data={"file": (buf, "lo.geojson"), "name": "lo-dat", "category": "planning"},
                headers=planner, content_type="multipart/form-data")
    upload(client, points, planner)
    meta = [{"name": "so_tang", "alias": "Năm hoàn thành", "format": "plain"},
            {"name": "dien_tich", "alias": "Diện tích", "unit": "m²", "decimals": 1}]
    changed = client.patch("/api/layers/lo-dat", headers=planner, json={
        "shown_by_default": False, "sort_order": 5, "attributes": meta,
        "style": {"fill": "#ff0000", "by": "ten_lo", "categories": {VI_NAMES[0]: "#00ff00"},
                  "labels": {VI_NAMES[0]: "Đất ở tại đô thị"}}})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["shown_by_default"] is False and body["sort_order"] == 5
    assert {"name": "so_tang", "type": "integer", "alias": "Năm hoàn thành", "format": "plain"} in body["attributes"]
    for bad in ({"attributes": [{"name": "nope", "alias": "x"}]}, {"attributes": [{"name": "so_tang", "format": "x"}]},
                {"attributes": "all"}, {"sort_order": "first"}, {"shown_by_default": "yes"},
                {"style": {"labels": {"a": ""}}}):
        assert client.patch("/api/layers/lo-dat", headers=planner, json=bad).status_code == 400, bad
    # The catalog's order: tram-bom (0) before lo-dat (5).
    assert [layer["name"] for layer in client.get("/api/layers").get_json()["layers"]] == ["tram-bom", "lo-dat"]
    # Identify gives the aliases and formats; the planner's map starts with the layer off and reads its labels.
    hit = client.get("/api/identify?lon=107.5805&lat=16.4605&layers=lo-dat").get_json()["layers"][0]
    area = {"name": "dien_tich", "type": "double", "alias": "Diện tích", "unit": "m²", "decimals": 1}
    assert area in hit["attributes"]
    page = client.get("/maps/layers").get_data(as_text=True)
    assert re.search(r'value="lo-dat"\s*>', page) and re.search(r'value="tram-bom"\s*checked>', page)
    assert "Đất ở tại đô thị" in page and "Quy hoạch" in page
    # New data keeps the aliases; the data catalogue's pages read them too, numbers by their format.
    buf = io.BytesIO(parcels.to_json(drop_id=True).encode())
    client.put("/api/layers/lo-dat/data", data={"file": (buf, "new.geojson")}, headers=planner,
               content_type="multipart/form-data")
    items = client.get("/ogc/collections/lo-dat/items?f=html", headers=planner).get_data(as_text=True)
    assert "<th>Năm hoàn thành</th>" in items and "<td>120,5 m²</td>" in items and "<td>3</td>" in items
    assert "Quy hoạch" in client.get("/ogc/collections/lo-dat?f=html", headers=planner).get_data(as_text=True)
