"""Every geometry served of a Natural Earth layer is valid, as the client reads it (issue 21, item 3).

Natural Earth's Sudan is valid as stored, but written with 7 decimals it was not: the server must snap to
its output grid in PostGIS and keep what it serves valid.
"""

import io
import zipfile

import geopandas as gpd
import mapbox_vector_tile
import pytest
import shapely
from shapely.geometry import shape
from sqlalchemy import text

from layers.catalog import data_table, get_layer
from layers.importing import ImportOptions, import_layer
from tests.layers.real_files import copy_natural_earth


@pytest.fixture
def countries(db, tmp_path):
    result = import_layer(db, copy_natural_earth(tmp_path), ImportOptions(name="countries", category="administrative"))
    db.commit()
    return result


def invalid(geometries) -> list[str]:
    return [shapely.is_valid_reason(g) for g in geometries if not g.is_valid]


def test_the_file_has_the_trap(db, countries):
    """Plain rounding to 7 decimals breaks Sudan (so the test below means something)."""
    table = data_table(get_layer(db, "countries"))
    broken = db.execute(text(
        f"SELECT a2 FROM layer_data.{table.name} "  # noqa: S608 - our generated table name
        "WHERE ST_IsValid(geom) AND NOT (ST_IsValidDetail(ST_GeomFromGeoJSON(ST_AsGeoJSON(geom, 7)))).valid"
    )).scalars().all()
    assert "Sudan" in broken


def test_every_item_page_and_item_is_valid(client, db, countries):
    assert countries.counts["stored"] == 177  # all of them, Russia's 180.00000000000006 included
    served, url = [], "/ogc/collections/countries/items?limit=25"
    while url:
        body = client.get(url).get_json()
        served += body["features"]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(served) == 177
    geometries = [shape(f["geometry"]) for f in served]
    assert invalid(geometries) == []
    for feature in served:
        one = client.get(f"/ogc/collections/countries/items/{feature['id']}").get_json()
        assert one["geometry"] == feature["geometry"]
    # PostGIS reads the served GeoJSON as valid too, and it is the same area as stored (to the centimetre).
    sudan = next(f for f in served if f["properties"]["name"] == "Sudan")
    table = data_table(get_layer(db, "countries"))
    row = db.execute(text(
        "SELECT (ST_IsValidDetail(g)).valid, ST_Area(ST_SymDifference(g, geom)) / ST_Area(geom) "
        f"FROM layer_data.{table.name}, ST_GeomFromGeoJSON(:served) AS g WHERE fid = :fid"),  # noqa: S608
        {"served": __import__("json").dumps(sudan["geometry"]), "fid": sudan["id"]}).one()
    assert row[0] is True and row[1] < 1e-6


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp", "csv"])
def test_every_export_is_valid(client, countries, tmp_path, fmt):
    resp = client.get(f"/api/layers/countries/export?format={fmt}")
    assert resp.status_code == 200
    path = tmp_path / f"export.{'zip' if fmt == 'shp' else fmt}"
    path.write_bytes(resp.data)
    if fmt == "csv":
        frame = gpd.pd.read_csv(io.BytesIO(resp.data), encoding="utf-8-sig")
        geometries = shapely.from_wkt(frame["wkt"])
    else:
        if fmt == "shp":
            assert zipfile.ZipFile(path).namelist()
        geometries = gpd.read_file(path).geometry
    assert len(geometries) == 177 and invalid(geometries) == []


@pytest.mark.parametrize("tile", ["0/0/0", "1/0/0", "1/1/0", "1/0/1", "1/1/1"])
def test_vector_tiles_are_valid(client, countries, tile):
    decoded = mapbox_vector_tile.decode(client.get(f"/ogc/collections/countries/tiles/WebMercatorQuad/{tile}").data)
    geometries = [shape(f["geometry"]) for f in decoded["countries"]["features"]]
    assert geometries and invalid(geometries) == []
