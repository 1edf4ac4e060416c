import zipfile

import geopandas as gpd
import pytest
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import func, select, text

from gisserver.core.exceptions import Conflict, Invalid, PayloadTooLarge, UnsupportedMedia
from layers import importing
from layers.archives import ArchiveLimits
from layers.catalog import data_table, get_layer
from layers.importing import ImportOptions, import_layer
from layers.models import Layer
from layers.storage import attribute_columns
from tests.layers.conftest import VI_NAMES


def rows(db, name):
    layer = get_layer(db, name, include_internal=True)
    table = data_table(layer)
    labels = [c.label(c.info["name"]) for c in attribute_columns(table)]
    return [r._asdict() for r in db.execute(select(*labels).order_by(table.c.fid))]


def zip_dir(directory, target):
    with zipfile.ZipFile(target, "w") as zf:
        for part in sorted(directory.iterdir()):
            zf.write(part, part.name)
    return target


def test_geojson_import_counts_repairs_and_keeps_vietnamese(db, tmp_path, parcels):
    path = tmp_path / "lo_dat.geojson"
    parcels.to_file(path)
    result = import_layer(db, path, ImportOptions(name="lo-dat", title="Lô đất", category="planning"))
    db.commit()
    assert result.counts == {"read": 3, "stored": 3, "repaired": 1, "dropped": 0, "dropped_reasons": {}}
    assert [r["ten_lo"] for r in rows(db, "lo-dat")] == VI_NAMES
    layer = get_layer(db, "lo-dat")
    assert layer.geometry_type == "MultiPolygon"  # the repaired bow-tie is two triangles: promoted
    assert layer.feature_count == 3 and layer.source_crs == "EPSG:4326"
    assert [a["type"] for a in layer.attributes] == ["text", "double", "integer"]
    table = data_table(layer)
    assert db.scalar(select(func.bool_and(func.ST_IsValid(table.c.geom))))
    indexes = db.scalars(text("SELECT indexdef FROM pg_indexes WHERE schemaname = 'layer_data' AND tablename = :t"),
                         {"t": table.name}).all()
    assert any("USING gist (geom)" in definition for definition in indexes)
    options = db.scalar(text("SELECT reloptions FROM pg_class WHERE oid = to_regclass(:t)"),
                        {"t": f"layer_data.{table.name}"})
    assert options == ["parallel_workers=0"]


def test_empty_and_out_of_range_features_are_dropped_with_reasons(db, tmp_path):
    frame = gpd.GeoDataFrame({"n": [1, 2, 3]}, geometry=[Point(107.5, 16.4), None, Point(107.5, 95.0)], crs=4326)
    path = tmp_path / "p.geojson"
    frame.to_file(path)
    result = import_layer(db, path, ImportOptions(name="p"))
    assert result.counts["stored"] == 1 and result.counts["dropped"] == 2
    assert result.counts["dropped_reasons"] == {"no geometry": 1, "coordinates out of range": 1}


def test_zipped_shapefile_with_cpg_and_without(db, tmp_path, parcels):
    for encoding_file in (True, False):
        shp_dir = tmp_path / f"shp{encoding_file}"
        shp_dir.mkdir()
        parcels.to_file(shp_dir / "lo_dat.shp", encoding="UTF-8")
        if not encoding_file:
            (shp_dir / "lo_dat.cpg").unlink()
        archive = zip_dir(shp_dir, tmp_path / f"lo_dat_{encoding_file}.zip")
        import_layer(db, archive, ImportOptions(name=f"shp-{str(encoding_file).lower()}"))
        assert [r["ten_lo"] for r in rows(db, f"shp-{str(encoding_file).lower()}")] == VI_NAMES


def test_geopackage_layer_choice(db, tmp_path, parcels, points):
    path = tmp_path / "quy_hoach.gpkg"
    parcels.to_file(path, layer="lo_dat", driver="GPKG")
    points.to_file(path, layer="tram_bom", driver="GPKG")
    with pytest.raises(Invalid) as ambiguous:
        import_layer(db, path, ImportOptions(name="x"))
    assert ambiguous.value.details["layers"] == ["lo_dat", "tram_bom"]
    with pytest.raises(Invalid) as unknown:
        import_layer(db, path, ImportOptions(name="x", layer="nope"))
    assert "tram_bom" in unknown.value.details["layers"]
    result = import_layer(db, path, ImportOptions(name="tram-bom", layer="tram_bom", category="infrastructure"))
    assert result.geometry_type == "Point" and result.counts["stored"] == 2


def test_geopackage_stored_as_read_matches_the_full_way(db, tmp_path, monkeypatch):
    """A clean EPSG:4326 GeoPackage is stored from its Arrow columns (layers/reading.py read_plain): the same
    rows, types, extent and counts as when it goes through read_vector_file."""
    frame = gpd.GeoDataFrame(
        {"ten": ["Lô A", "", "Lô C"], "dien_tich": [120.5, float("nan"), 45.25], "so_tang": [3, 0, 5_000_000_000],
         "tam": [True, False, True]},
        geometry=[box(107.58, 16.46, 107.581, 16.461), box(107.582, 16.46, 107.583, 16.461),
                  box(107.584, 16.46, 107.585, 16.461)], crs=4326)
    path = tmp_path / "lo.gpkg"
    frame.to_file(path, driver="GPKG")
    assert importing.read_plain(path) is not None
    fast = import_layer(db, path, ImportOptions(name="nhanh"))
    monkeypatch.setattr(importing, "read_plain", lambda *args, **kwargs: None)
    full = import_layer(db, path, ImportOptions(name="day-du"))
    assert fast.counts == full.counts == {"read": 3, "stored": 3, "repaired": 0, "dropped": 0, "dropped_reasons": {}}
    fast_layer, full_layer = get_layer(db, "nhanh"), get_layer(db, "day-du")
    assert fast_layer.attributes == full_layer.attributes
    assert [a["type"] for a in fast_layer.attributes] == ["text", "double", "bigint", "boolean"]
    assert fast_layer.extent == full_layer.extent and fast_layer.geometry_type == full_layer.geometry_type == "Polygon"
    assert rows(db, "nhanh") == rows(db, "day-du")
    assert rows(db, "nhanh")[1] == {"ten": None, "dien_tich": None, "so_tang": 0, "tam": False}
    geometries = [db.scalars(select(func.ST_AsEWKB(data_table(layer).c.geom)).order_by(data_table(layer).c.fid)).all()
                  for layer in (fast_layer, full_layer)]
    assert geometries[0] == geometries[1]


def test_geopackage_needing_repair_is_undone_and_read_the_full_way(db, tmp_path, parcels):
    """The geometries of a GeoPackage stored as read are checked while they are stored; a bow-tie undoes that load
    and the file is repaired as any other, leaving no table of the attempt behind."""
    path = tmp_path / "lo.gpkg"
    parcels.to_file(path, driver="GPKG")
    before = set(db.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'layer_data'")))
    result = import_layer(db, path, ImportOptions(name="lo-dat"))
    db.commit()
    assert result.counts == {"read": 3, "stored": 3, "repaired": 1, "dropped": 0, "dropped_reasons": {}}
    layer = get_layer(db, "lo-dat")
    assert layer.geometry_type == "MultiPolygon" and layer.data_version == 1
    after = set(db.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'layer_data'")))
    assert after - before == {layer.data_table, layer.data_table + "_h"}
    assert [r["ten_lo"] for r in rows(db, "lo-dat")] == VI_NAMES


def test_kml_kmz_and_dtd_refusal(db, tmp_path, points):
    kml = tmp_path / "tram.kml"
    points.to_file(kml, driver="KML")
    import_layer(db, kml, ImportOptions(name="kml"))
    assert sorted(r["ten"] for r in rows(db, "kml")) == ["Trạm bơm An Cựu", "Trạm bơm Vỹ Dạ"]
    kmz = tmp_path / "tram.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.write(kml, "doc.kml")
    assert import_layer(db, kmz, ImportOptions(name="kmz")).counts["stored"] == 2
    evil = tmp_path / "evil.kml"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE kml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark><name>&x;</name>'
                    "<Point><coordinates>107.5,16.4</coordinates></Point></Placemark></kml>")
    with pytest.raises(Invalid, match="DOCTYPE"):
        import_layer(db, evil, ImportOptions(name="evil"))


def test_csv_with_coordinates_or_wkt(db, tmp_path):
    csv = tmp_path / "diem.csv"
    csv.write_text("ten_diem,kinh_do,vi_do,suc_chua\nTrường THCS Nguyễn Tri Phương,107.5912,16.4601,500\n"
                   "Nhà văn hóa,107.60,16.47,300\nSai,abc,16.4,1\n", encoding="utf-8")
    result = import_layer(db, csv, ImportOptions(name="so-tan", category="disaster"))
    assert result.counts["stored"] == 2 and result.counts["dropped_reasons"] == {"no geometry": 1}
    assert rows(db, "so-tan")[0]["ten_diem"] == "Trường THCS Nguyễn Tri Phương"
    wkt = tmp_path / "wkt.csv"
    wkt.write_text('ten,wkt\nA,"POLYGON((556000 1817000,556100 1817000,556100 1817100,556000 1817000))"\n')
    with pytest.raises(Invalid, match="no coordinate system"):
        import_layer(db, wkt, ImportOptions(name="wkt"))
    assert import_layer(db, wkt, ImportOptions(name="wkt", province="hue")).counts["stored"] == 1
    nocoords = tmp_path / "none.csv"
    nocoords.write_text("a,b\n1,2\n")
    with pytest.raises(Invalid, match="longitude"):
        import_layer(db, nocoords, ImportOptions(name="none"))


# Known WGS84 positions of Hue landmarks, to land on after the round trip through VN-2000.
LANDMARKS = {"Ngọ Môn": (107.57900, 16.46690), "Cầu Trường Tiền": (107.58810, 16.46990),
             "Chùa Thiên Mụ": (107.54470, 16.45320)}


def epsg_vn2000(conversion_proj: str | None = None) -> CRS:
    """A VN-2000 CRS on EPSG's own datum (EPSG:4756), so PROJ transforms it with EPSG's published operation."""
    if conversion_proj is None:
        return CRS("EPSG:3405")
    definition = CRS("EPSG:3405").to_json_dict()
    definition["name"] = "VN-2000 / TM-3 107-00"
    definition["conversion"] = CRS.from_proj4(conversion_proj).to_json_dict()["conversion"]
    definition.pop("id", None)
    return CRS.from_json_dict(definition)


HUE_TM3 = epsg_vn2000("+proj=tmerc +lat_0=0 +lon_0=107 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +units=m")


def reference(source: CRS) -> Transformer:
    """EPSG:6960 "VN-2000 to WGS 84 (2)" (Decision 05/2007) from PROJ's database: independent of layers.crs."""
    group = TransformerGroup(source, "EPSG:4326", always_xy=True)
    (chosen,) = [t for t in group.transformers if "VN-2000 to WGS 84 (2)" in t.description]
    return chosen


def metres_off(db, name: str, expected: dict[str, tuple[float, float]]) -> list[float]:
    table = data_table(get_layer(db, name))
    got = db.execute(select(table.c.a0, func.ST_X(table.c.geom), func.ST_Y(table.c.geom))).all()
    utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    errors = []
    for label, lon, lat in got:
        ex, ey = utm.transform(*expected[label])
        gx, gy = utm.transform(lon, lat)
        errors.append(((ex - gx) ** 2 + (ey - gy) ** 2) ** 0.5)
    assert len(errors) == len(expected)
    return errors


def vn2000_frame(source: CRS, crs) -> gpd.GeoDataFrame:
    to_vn2000 = reference(source)
    points = [Point(*to_vn2000.transform(lon, lat, direction="INVERSE")) for lon, lat in LANDMARKS.values()]
    return gpd.GeoDataFrame({"ten": list(LANDMARKS)}, geometry=points, crs=crs)


def test_vn2000_tm3_shapefile_lands_on_known_positions(db, tmp_path):
    # The file holds VN-2000 TM-3 107°00' coordinates of the landmarks, computed with EPSG's transformation.
    no_prj = tmp_path / "no_prj"
    no_prj.mkdir()
    vn2000_frame(HUE_TM3, None).to_file(no_prj / "moc.shp", encoding="UTF-8")
    assert not (no_prj / "moc.prj").exists()
    archive = zip_dir(no_prj, tmp_path / "moc.zip")
    with pytest.raises(Invalid, match="no coordinate system"):
        import_layer(db, archive, ImportOptions(name="moc"))
    result = import_layer(db, archive, ImportOptions(name="moc", province="Thừa Thiên Huế"))
    assert result.source_crs.startswith("VN-2000 TM-3 107")
    # The target is 5 m; with the national shift applied right the error is centimetres, and the sign slip of
    # the rotations (coordinate frame vs position vector) would show as ~0.7 m.
    assert max(metres_off(db, "moc", LANDMARKS)) < 0.1
    import_layer(db, archive, ImportOptions(name="moc-crs", crs="vn2000:107"))
    assert max(metres_off(db, "moc-crs", LANDMARKS)) < 0.1
    # The same coordinates with a .prj naming the VN-2000 TM-3 zone (as GDAL writes it, without a datum shift).
    with_prj = tmp_path / "with_prj"
    with_prj.mkdir()
    vn2000_frame(HUE_TM3, HUE_TM3).to_file(with_prj / "moc.shp", encoding="UTF-8")
    assert "VN-2000" in (with_prj / "moc.prj").read_text() or "Vietnam" in (with_prj / "moc.prj").read_text()
    import_layer(db, zip_dir(with_prj, tmp_path / "moc_prj.zip"), ImportOptions(name="moc-prj"))
    assert max(metres_off(db, "moc-prj", LANDMARKS)) < 0.1
    with pytest.raises(Invalid, match="unknown province"):
        import_layer(db, archive, ImportOptions(name="moc2", province="Atlantis"))


def test_vn2000_utm_from_epsg_code_and_prj(db, tmp_path):
    utm48 = epsg_vn2000()
    path = tmp_path / "utm.geojson"
    vn2000_frame(utm48, None).to_file(path)
    import_layer(db, path, ImportOptions(name="utm", crs="EPSG:3405"))
    assert max(metres_off(db, "utm", LANDMARKS)) < 0.1
    gpkg = tmp_path / "utm.gpkg"
    vn2000_frame(utm48, "EPSG:3405").to_file(gpkg, driver="GPKG")
    result = import_layer(db, gpkg, ImportOptions(name="utm-gpkg"))
    assert result.source_crs == "EPSG:3405"
    assert max(metres_off(db, "utm-gpkg", LANDMARKS)) < 0.1


def test_zip_safety(db, tmp_path):
    traversal = tmp_path / "traversal.zip"
    with zipfile.ZipFile(traversal, "w") as zf:
        zf.writestr("../../etc/evil.shp", b"x")
    with pytest.raises(Invalid, match="unsafe path"):
        import_layer(db, traversal, ImportOptions(name="t"))
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.shp", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(PayloadTooLarge):
        import_layer(db, bomb, ImportOptions(name="b"))
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(20):
            zf.writestr(f"f{i}.txt", b"x")
    with pytest.raises(Invalid, match="more than"):
        import_layer(db, many, ImportOptions(name="m", limits=ArchiveLimits(max_files=10)))
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("a.shp")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(Invalid, match="symbolic link"):
        import_layer(db, link, ImportOptions(name="l"))
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"hello")
    with pytest.raises(Invalid, match="zip"):
        import_layer(db, not_zip, ImportOptions(name="x"))
    with pytest.raises(UnsupportedMedia):
        import_layer(db, tmp_path / "x.docx", ImportOptions(name="x"))
    assert db.scalar(select(func.count()).select_from(Layer)) == 0
    assert db.scalar(text("SELECT count(*) FROM information_schema.tables WHERE table_schema='layer_data'")) == 0


def test_bad_options_are_refused(db, tmp_path, points):
    path = tmp_path / "p.geojson"
    points.to_file(path)
    for options in (ImportOptions(name="Bad Name"), ImportOptions(name="ok", category="roads"),
                    ImportOptions(name="ok", visibility="secret"), ImportOptions(name="ok", style={"fill": "red"}),
                    ImportOptions(name="ok", crs="EPSG:999999")):
        with pytest.raises(Invalid):
            import_layer(db, path, options)
    import_layer(db, path, ImportOptions(name="ok"))
    with pytest.raises(Conflict):
        import_layer(db, path, ImportOptions(name="ok"))


def test_replace_is_atomic(db, app, tmp_path, points, parcels):
    first = tmp_path / "a.geojson"
    points.to_file(first)
    import_layer(db, first, ImportOptions(name="tram"))
    db.commit()
    second = tmp_path / "b.geojson"
    gpd.GeoDataFrame({"ten": ["Mới"]}, geometry=[MultiPolygon([box(107.5, 16.4, 107.51, 16.41)])],
                     crs=4326).to_file(second)
    other = app.extensions["gisserver.db"].session()
    try:
        import_layer(db, second, ImportOptions(name="tram", replace=True))
        # Before commit another reader still sees the old version, whole.
        old = other.scalar(select(Layer).where(Layer.name == "tram"))
        assert old.data_version == 1
        assert [r[0] for r in other.execute(select(data_table(old).c.a0).order_by(data_table(old).c.fid))] == [
            "Trạm bơm An Cựu", "Trạm bơm Vỹ Dạ"]
        other.rollback()
        db.commit()
        new = other.scalar(select(Layer).where(Layer.name == "tram"))
        assert new.data_version == 2 and new.feature_count == 1 and new.geometry_type == "MultiPolygon"
    finally:
        other.close()
    # A failed replace leaves the layer as it was.
    bad = tmp_path / "bad.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, '
                   '"geometry": null}]}')
    with pytest.raises(Invalid, match="no usable feature"):
        import_layer(db, bad, ImportOptions(name="tram", replace=True))
    db.rollback()
    layer = get_layer(db, "tram")
    assert layer.data_version == 2 and [r["ten"] for r in rows(db, "tram")] == ["Mới"]
    # The failed replace left no table behind; the replaced one is kept as the layer's past, each with its history.
    tables = db.scalars(text("SELECT table_name FROM information_schema.tables WHERE table_schema='layer_data'"))
    assert sorted(tables) == ["l1_v1", "l1_v1_h", "l1_v2", "l1_v2_h"] and layer.data_table == "l1_v2"


@pytest.mark.parametrize("content", [
    "Name,Longitude,Latitude\nCầu Trường Tiền,107.5881,16.4699\n",
    "name,LNG,LAT\nCầu Trường Tiền,107.5881,16.4699\n",
    "ten,x_wgs84,y_wgs84\nCầu Trường Tiền,107.5881,16.4699\n",
    # Decimal commas, as Vietnamese spreadsheets write them, and a BOM.
    "\ufefften,kinh độ,vĩ độ\nCầu Trường Tiền,\"107,5881\",\"16,4699\"\n",
])
def test_csv_coordinate_columns_are_autodetected(db, tmp_path, content):
    path = tmp_path / "diem.csv"
    path.write_text(content, encoding="utf-8")
    result = import_layer(db, path, ImportOptions(name="diem"))
    assert result.counts["stored"] == 1 and result.geometry_type == "Point"
    table = data_table(get_layer(db, "diem"))
    label, lon, lat = db.execute(select(table.c.a0, func.ST_X(table.c.geom), func.ST_Y(table.c.geom))).one()
    assert label == "Cầu Trường Tiền" and (lon, lat) == pytest.approx((107.5881, 16.4699))
