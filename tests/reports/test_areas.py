from datetime import date

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import select

from gisserver.exceptions import Conflict, Invalid
from reports.areas import area_by_code, area_chain_for_point, import_areas, record_area_change
from reports.intake import ReportInput, submit_report
from reports.models import Area
from tests.reports.conftest import EAST_INSIDE, ON_BORDER, OUTSIDE, WEST_INSIDE


def codes(chain):
    return [a.code for a in chain]


def test_point_gets_its_chain_deepest_first(city):
    assert codes(area_chain_for_point(city, *WEST_INSIDE)) == ["T-W-01", "T-W", "T"]
    assert codes(area_chain_for_point(city, *EAST_INSIDE)) == ["T-E", "T"]
    assert area_chain_for_point(city, *OUTSIDE) == []


def test_point_on_a_shared_border_always_lands_in_the_same_area(city):
    results = {tuple(codes(area_chain_for_point(city, *ON_BORDER))) for _ in range(5)}
    assert len(results) == 1
    chain = results.pop()
    # The chain is consistent: the group belongs to the ward listed after it.
    assert chain[-1] == "T" and chain[-2] in ("T-W", "T-E")
    # A point on the group border inside the west ward.
    assert codes(area_chain_for_point(city, 107.55, 16.45)) == ["T-W-01", "T-W", "T"]


def test_lookup_api(client, city):
    body = client.get(f"/api/areas/lookup?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}").get_json()
    assert [a["code"] for a in body["areas"]] == ["T-W-01", "T-W", "T"]
    assert client.get("/api/areas/lookup?lon=nan&lat=16").status_code == 400
    assert client.get("/api/areas/lookup?lon=200&lat=16").status_code == 400
    assert client.get("/api/areas/lookup?lon=108.5&lat=16.45").get_json()["inside_city"] is False
    wards = client.get("/api/areas?level=ward").get_json()["areas"]
    assert [w["code"] for w in wards] == ["T-E", "T-W"]
    assert client.get("/api/areas?level=province").status_code == 400


def test_gaps_and_overlaps_between_siblings_are_reported(db):
    import_areas(db, gpd.GeoDataFrame({"code": ["C"], "name": ["C"]}, geometry=[box(0, 0, 0.02, 0.01)], crs=4326),
                 level="city")
    wards = gpd.GeoDataFrame(
        {"code": ["A", "B"], "name": ["A", "B"], "parent": ["C", "C"]},
        # A and B overlap between x=0.009 and 0.011; nothing covers x > 0.019.
        geometry=[box(0, 0, 0.011, 0.01), box(0.009, 0, 0.019, 0.01)],
        crs=4326,
    )
    result = import_areas(db, wards, level="ward", parent_code_col="parent")
    kinds = {p["kind"]: p for p in result.problems}
    assert kinds["overlap"]["areas"] == ["A", "B"] and kinds["overlap"]["m2"] > 40_000
    assert kinds["gap"]["areas"] == ["C"] and kinds["gap"]["m2"] > 100_000
    db.rollback()
    import_areas(db, gpd.GeoDataFrame({"code": ["C"], "name": ["C"]}, geometry=[box(0, 0, 0.02, 0.01)], crs=4326),
                 level="city")
    with pytest.raises(Invalid):
        import_areas(db, wards, level="ward", parent_code_col="parent", refuse_problems=True)


def test_import_refuses_bad_input(db):
    frame = gpd.GeoDataFrame({"code": ["X"], "name": ["X"], "parent": ["NOPE"]}, geometry=[box(0, 0, 1, 1)], crs=4326)
    with pytest.raises(Invalid, match="unknown parent"):
        import_areas(db, frame, level="ward", parent_code_col="parent")
    with pytest.raises(Invalid, match="column"):
        import_areas(db, frame, level="ward", code_col="ma", parent_code_col="parent")
    with pytest.raises(Invalid, match="level"):
        import_areas(db, frame, level="province")
    dup = gpd.GeoDataFrame({"code": ["X", "X"], "name": ["X", "Y"]}, geometry=[box(0, 0, 1, 1)] * 2, crs=4326)
    with pytest.raises(Invalid, match="unique"):
        import_areas(db, dup, level="city")


def test_merger_keeps_filed_and_current_area(city):
    west, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác thải ùn ứ", *WEST_INSIDE))
    east, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác thải ùn ứ", *EAST_INSIDE))
    city.commit()
    start = date(2025, 7, 1)
    merged = gpd.GeoDataFrame({"code": ["T-M"], "name": ["Phường Hợp Nhất"], "parent": ["T"]},
                              geometry=[box(107.5, 16.4, 107.7, 16.5)], crs=4326)
    # The old wards existed before the change date.
    for area in city.scalars(select(Area)):
        area.valid_from = date(2020, 1, 1)
    import_areas(city, merged, level="ward", parent_code_col="parent", valid_from=start)
    record_area_change(city, "merge", start, ["T-W", "T-E"], ["T-M"], note="Nghị quyết sáp nhập 2025")
    city.commit()
    city.refresh(west)
    city.refresh(east)
    assert area_by_code(city, "T-W").valid_to == start
    assert east.area_filed_id == area_by_code(city, "T-E").id
    assert east.area_current_id == area_by_code(city, "T-M").id
    # Groups follow the merged ward, so a report in a group keeps its group.
    assert west.area_current_id == area_by_code(city, "T-W-01").id
    assert area_by_code(city, "T-W-01").parent_id == area_by_code(city, "T-M").id
    assert codes(area_chain_for_point(city, *EAST_INSIDE, on=date(2025, 8, 1))) == ["T-M", "T"]
    assert codes(area_chain_for_point(city, *EAST_INSIDE, on=date(2025, 6, 1))) == ["T-E", "T"]
    with pytest.raises(Conflict):
        record_area_change(city, "merge", date(2025, 8, 1), ["T-W"], ["T-M"])
