import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import select

from layers.importing import ImportOptions, import_layer
from reports.areas.gazetteer import build_gazetteer
from reports.workflow.models import Report


@pytest.fixture
def addresses(city, tmp_path):
    frame = gpd.GeoDataFrame(
        {"so_nha": ["12", "14", "5"], "ten_duong": ["Trần Hưng Đạo", "Trần Hưng Đạo", "Lê Lợi"],
         "phuong": ["Phường Tây", "Phường Tây", "Phường Đông"]},
        geometry=[Point(107.551, 16.421), Point(107.5512, 16.421), Point(107.65, 16.45)], crs=4326)
    frame.to_file(tmp_path / "dia_chi.geojson")
    import_layer(city, tmp_path / "dia_chi.geojson", ImportOptions(name="dia-chi", category="administrative"))
    assert build_gazetteer(city, "dia-chi", ["so_nha", "ten_duong", "phuong"]) == 3
    city.commit()
    return city


def test_search_with_or_without_diacritics(client, addresses):
    for q in ("12 Trần Hưng Đạo", "12 tran hung dao", "12 TRAN HUNG DAO"):
        places = client.get("/api/geocode", query_string={"q": q}).get_json()["places"]
        assert places[0]["label"] == "12, Trần Hưng Đạo, Phường Tây", q
    assert client.get("/api/geocode?q=le loi").get_json()["places"][0]["label"] == "5, Lê Lợi, Phường Đông"
    assert client.get("/api/geocode?q=zzzzqqq").get_json()["places"] == []
    assert client.get("/api/geocode?q=a").status_code == 400


def test_reverse_geocoding(client, addresses):
    near = client.get("/api/geocode/reverse?lon=107.55104&lat=16.4211").get_json()
    assert near["label"].startswith("12, Trần Hưng Đạo") and near["distance_m"] < 20
    assert client.get("/api/geocode/reverse?lon=107.6&lat=16.48").status_code == 404
    assert client.get("/api/geocode/reverse?lon=nan&lat=16.48").status_code == 400


def test_address_only_report_is_geocoded_and_points_get_addresses(client, addresses):
    resp = client.post("/api/reports", json={"category": "dien_chieu_sang", "description": "Đèn đường tắt",
                                             "address": "5 le loi"})
    assert resp.status_code == 201
    assert resp.get_json()["area"]["code"] == "T-E"  # placed by the gazetteer, not left at a ward
    resp = client.post("/api/reports", json={"category": "dien_chieu_sang", "description": "Đèn đường tắt",
                                             "lon": 107.55104, "lat": 16.4211}, headers={})
    code = resp.get_json()["tracking_code"]
    assert addresses.scalar(select(Report.address).where(Report.tracking_code == code)).startswith("12, Trần")
