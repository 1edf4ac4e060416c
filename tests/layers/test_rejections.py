"""Every refused upload answers 4xx with the JSON error body and leaves the catalog and database as they were."""

import io
import zipfile

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import func, select, text

from layers import storage
from layers.catalog import data_table, get_layer
from layers.importing import ImportOptions, import_layer
from layers.models import Layer


def data_tables(db) -> list[str]:
    return sorted(db.scalars(text("SELECT table_name FROM information_schema.tables "
                                  "WHERE table_schema = 'layer_data'")))


def post(client, headers, filename: str, payload: bytes, **fields):
    data = {"file": (io.BytesIO(payload), filename), "name": fields.pop("name", "lop"), **fields}
    return client.post("/api/layers", data=data, headers=headers, content_type="multipart/form-data")


def zipped(members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return buffer.getvalue()


def shapefile_without_prj(tmp_path) -> bytes:
    folder = tmp_path / "noprj"
    folder.mkdir(exist_ok=True)
    gpd.GeoDataFrame({"ma": ["A"]}, geometry=[Point(556000, 1817000)], crs=None).to_file(folder / "moc.shp")
    return zipped({p.name: p.read_bytes() for p in folder.iterdir()})


def two_layer_geopackage(tmp_path, points) -> bytes:
    path = tmp_path / "two.gpkg"
    path.unlink(missing_ok=True)
    points.to_file(path, layer="tram_bom", driver="GPKG")
    points.to_file(path, layer="cong_thoat", driver="GPKG")
    return path.read_bytes()


def geojson(coordinates: list[str]) -> bytes:
    """A FeatureCollection of points written by hand, so that it can hold what JSON encoders refuse (NaN)."""
    features = ", ".join(
        f'{{"type": "Feature", "properties": {{"n": {i}}}, "geometry": {{"type": "Point", "coordinates": {c}}}}}'
        for i, c in enumerate(coordinates)
    )
    return f'{{"type": "FeatureCollection", "features": [{features}]}}'.encode()


def rejections(tmp_path, points):
    """(label, file name, bytes, extra form fields, status, reason fragment)."""
    return [
        ("no CRS", "moc.zip", shapefile_without_prj(tmp_path), {}, 400, "no coordinate system"),
        ("zip path traversal", "evil.zip", zipped({"../../etc/cron.d/x.shp": b"x"}), {}, 400, "unsafe path"),
        ("zip absolute path", "evil.zip", zipped({"/etc/x.shp": b"x"}), {}, 400, "unsafe path"),
        ("zip bomb", "bomb.zip", zipped({"big.shp": b"\0" * (30 * 1024 * 1024)}, zipfile.ZIP_DEFLATED), {}, 413,
         "compressed suspiciously"),
        ("too many files", "many.zip", zipped({f"f{i}.txt": b"x" for i in range(201)}), {}, 400, "more than 200"),
        ("not a zip", "fake.zip", b"PK but not really", {}, 400, "not a valid zip"),
        ("unsupported format", "plan.dwg", b"AC1032", {}, 415, "unsupported file type"),
        ("GeoPackage layer missing", "two.gpkg", two_layer_geopackage(tmp_path, points), {"layer": "nope"}, 400,
         "no layer 'nope'"),
        ("GeoPackage layer ambiguous", "two.gpkg", two_layer_geopackage(tmp_path, points), {}, 400,
         "several layers"),
        ("out-of-range coordinates", "far.geojson", geojson(["[107.5, 95.0]", "[250.0, 16.4]"]), {}, 400,
         "no usable feature"),
        ("NaN coordinates", "nan.geojson", geojson(["[NaN, 16.4]", "[107.5, NaN]"]), {}, 400, "no usable feature"),
        ("NaN in CSV", "nan.csv", b"ten,lon,lat\nA,NaN,16.4\nB,107.5,nan\nC,inf,16.4\n", {}, 400,
         "no usable feature"),
        ("KML with DTD", "evil.kml", b'<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         b'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
         b"<Point><coordinates>107.5,16.4</coordinates></Point></Placemark></kml>", {}, 400, "DOCTYPE"),
        ("unknown province", "moc.zip", shapefile_without_prj(tmp_path), {"province": "Atlantis"}, 400,
         "unknown province"),
        ("broken GeoJSON", "x.geojson", b'{"type": "FeatureCollection", "features": [', {}, 400, "cannot read"),
    ]


def test_every_rejection_is_4xx_and_leaves_nothing(client, auth_headers, db, tmp_path, points):
    planner = auth_headers("planner")
    for label, filename, payload, fields, status, reason in rejections(tmp_path, points):
        resp = post(client, planner, filename, payload, **fields)
        assert resp.status_code == status, (label, resp.get_json())
        error = resp.get_json()["error"]
        assert reason in error["message"], (label, error)
        assert error["code"]
        assert db.scalar(select(func.count()).select_from(Layer)) == 0, label
        assert data_tables(db) == [], label
    # The ambiguous GeoPackage tells which layers it holds, so that the client can pick one.
    resp = post(client, planner, "two.gpkg", two_layer_geopackage(tmp_path, points))
    assert resp.get_json()["error"]["details"]["layers"] == ["tram_bom", "cong_thoat"]
    assert post(client, planner, "two.gpkg", two_layer_geopackage(tmp_path, points), layer="cong_thoat",
                name="cong").status_code == 201


def test_rejected_replacement_keeps_the_old_data(client, auth_headers, db, tmp_path, points):
    planner = auth_headers("planner")
    assert post(client, planner, "tram.geojson", points.to_json(drop_id=True).encode(), name="tram").status_code == 201
    before = data_tables(db)
    for label, filename, payload, fields, status, _ in rejections(tmp_path, points):
        resp = client.put("/api/layers/tram/data", data={"file": (io.BytesIO(payload), filename), **fields},
                          headers=planner, content_type="multipart/form-data")
        assert resp.status_code == status, label
    db.expire_all()
    layer = get_layer(db, "tram")
    assert layer.data_version == 1 and layer.feature_count == 2 and data_tables(db) == before


def test_a_failure_after_loading_leaves_nothing(client, auth_headers, db, monkeypatch, points):
    """A failure once the new table is written rolls the whole import back."""
    planner = auth_headers("planner")
    assert post(client, planner, "tram.geojson", points.to_json(drop_id=True).encode(), name="tram").status_code == 201
    tables = data_tables(db)

    load = storage.create_and_load

    def broken(conn, table, frame, attributes):
        load(conn, table, frame, attributes)  # the new table is complete, with its index...
        raise RuntimeError("disk full")  # ...when something fails

    monkeypatch.setattr(storage, "create_and_load", broken)
    app_client = client.application.test_client()
    client.application.config["PROPAGATE_EXCEPTIONS"] = False
    resp = app_client.post("/api/layers", data={"file": (io.BytesIO(points.to_json().encode()), "b.geojson"),
                                                "name": "moi"}, headers=planner, content_type="multipart/form-data")
    assert resp.status_code == 500
    resp = app_client.put("/api/layers/tram/data", data={"file": (io.BytesIO(points.to_json().encode()), "b.geojson")},
                          headers=planner, content_type="multipart/form-data")
    assert resp.status_code == 500
    db.expire_all()
    assert [layer.name for layer in db.scalars(select(Layer))] == ["tram"]
    assert get_layer(db, "tram").data_version == 1 and data_tables(db) == tables


def test_cli_rejection_leaves_nothing(cli, db, tmp_path):
    path = tmp_path / "far.geojson"
    path.write_bytes(geojson(["[107.5, 95.0]"]))
    result = cli("layers", "import", str(path), "--name", "far")
    assert result.exit_code != 0 and "no usable feature" in result.output
    assert db.scalar(select(func.count()).select_from(Layer)) == 0 and data_tables(db) == []


def test_out_of_range_and_nan_features_are_dropped_with_reasons(db, tmp_path):
    path = tmp_path / "mixed.geojson"
    path.write_bytes(geojson(["[107.5, 16.4]", "[107.5, 95.0]", "[NaN, 16.4]", "[107.6, 16.5]"]))
    result = import_layer(db, path, ImportOptions(name="mixed"))
    assert result.counts["read"] == 4 and result.counts["stored"] == 2
    assert result.counts["dropped_reasons"] == {"coordinates out of range": 2}
    table = data_table(get_layer(db, "mixed", include_internal=True))
    assert db.scalar(select(func.count()).select_from(table).where(func.ST_IsEmpty(table.c.geom))) == 0
