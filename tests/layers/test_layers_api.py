import io
import json
import zipfile

import geopandas as gpd
import pyogrio

from gisserver.app import create_app


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
