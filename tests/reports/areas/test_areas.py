import itertools
from datetime import date

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import select

from gisserver.core.exceptions import Conflict, Invalid
from reports.areas.models import Area
from reports.areas.service import area_by_code, area_chain_for_point, import_areas, record_area_change
from reports.intake.submit import ReportInput, submit_report
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


def small_pair(db):
    """Two wards without groups sharing the border x = 0.01; the east one has the lower code."""
    import_areas(db, gpd.GeoDataFrame({"code": ["C"], "name": ["C"]}, geometry=[box(0, 0, 0.02, 0.01)], crs=4326),
                 level="city")
    wards = gpd.GeoDataFrame({"code": ["W2", "W1"], "name": ["Tây", "Đông"], "parent": ["C", "C"]},
                             geometry=[box(0, 0, 0.01, 0.01), box(0.01, 0, 0.02, 0.01)], crs=4326)
    import_areas(db, wards, level="ward", parent_code_col="parent")


def test_a_point_exactly_on_a_shared_border_goes_to_the_lower_code(db):
    small_pair(db)
    on_border, corner = (0.01, 0.005), (0.01, 0.0)
    for point in (on_border, corner):
        chains = {tuple(codes(area_chain_for_point(db, *point))) for _ in range(3)}
        assert chains == {("W1", "C")}, point
    # Just either side of the border, each ward keeps its own points.
    assert codes(area_chain_for_point(db, 0.0099999, 0.005))[0] == "W2"
    assert codes(area_chain_for_point(db, 0.0100001, 0.005))[0] == "W1"
    # A report filed on the border lands in that ward too, and with it its unit.
    from reports.areas.units import provision_ward_units
    from reports.workflow.categories import ensure_default_categories

    ensure_default_categories(db)
    provision_ward_units(db)
    report, _ = submit_report(db, ReportInput("gay_roi", "Đánh nhau trên ranh giới", *on_border))
    assert area_by_code(db, "W1").id == report.area_filed_id == report.area_current_id
    assert report.unit.code == "W1-CA"


def test_point_lookup_is_one_query_on_the_spatial_index(city):
    from sqlalchemy import text

    from reports.areas.sql import _AREA_CHAIN

    city.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table: make the planner show its index use
    plan = "\n".join(city.execute(text("EXPLAIN " + _AREA_CHAIN.text),
                                  {"lon": 107.55, "lat": 16.42, "on": date.today()}).scalars())
    assert "ix_areas_geom" in plan


def test_import_any_boundary_file_with_mapped_columns_from_the_command_line(cli, db, tmp_path):
    gpkg = tmp_path / "ranh_gioi.gpkg"
    gpd.GeoDataFrame({"ma_tinh": ["HUE"], "ten_tinh": ["Thành phố Huế"]}, geometry=[box(107.5, 16.4, 107.7, 16.5)],
                     crs=4326).to_file(gpkg, layer="thanh_pho")
    # The second ward stops short of the city's edge (a gap) and overlaps the first by 0.002°.
    gpd.GeoDataFrame({"ma_xa": ["HUE-01", "HUE-02"], "ten_xa": ["Phường Phú Xuân", "Phường Thuận Hóa"],
                      "ma_tinh": ["HUE", "HUE"]},
                     geometry=[box(107.5, 16.4, 107.602, 16.5), box(107.6, 16.4, 107.68, 16.5)],
                     crs=4326).to_file(gpkg, layer="phuong_xa")
    result = cli("areas", "import", str(gpkg), "--layer", "thanh_pho", "--level", "city", "--code-col", "ma_tinh",
                 "--name-col", "ten_tinh")
    assert result.exit_code == 0, result.output
    args = ("areas", "import", str(gpkg), "--layer", "phuong_xa", "--level", "ward", "--code-col", "ma_xa",
            "--name-col", "ten_xa", "--parent-col", "ma_tinh")
    strict = cli(*args, "--strict")
    assert strict.exit_code != 0 and "gaps or overlaps" in strict.output
    db.rollback()
    assert [a.code for a in db.scalars(select(Area).where(Area.level == "ward"))] == []  # nothing half-stored
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "2 created" in result.output
    assert "warning: overlap HUE-01 / HUE-02" in result.output and "warning: gap HUE" in result.output
    # Re-importing updates in place.
    assert "0 created, 2 updated" in cli(*args).output


def test_split_records_links_and_moves_reports_by_their_point(city):
    from reports.areas.models import AreaChange, AreaChangeLink

    for area in city.scalars(select(Area)):
        area.valid_from = date(2020, 1, 1)
    north_point, south_point = (107.65, 16.48), (107.65, 16.42)
    north, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ở phía bắc", *north_point))
    south, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ở phía nam", *south_point))
    addressed, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ở đâu đó", address="kiệt 3",
                                                   area_code="T-E", channel="qr_web"))
    city.commit()
    start = date(2025, 7, 1)
    halves = gpd.GeoDataFrame({"code": ["T-EN", "T-ES"], "name": ["Phường Đông Bắc", "Phường Đông Nam"],
                               "parent": ["T", "T"]},
                              geometry=[box(107.6, 16.45, 107.7, 16.5), box(107.6, 16.4, 107.7, 16.45)], crs=4326)
    import_areas(city, halves, level="ward", parent_code_col="parent", valid_from=start)
    change = record_area_change(city, "split", start, ["T-E"], ["T-EN", "T-ES"], note="Chia tách phường Đông")
    city.commit()
    links = {(city.get(Area, link.old_area_id).code, city.get(Area, link.new_area_id).code)
             for link in city.scalars(select(AreaChangeLink).where(AreaChangeLink.change_id == change.id))}
    assert links == {("T-E", "T-EN"), ("T-E", "T-ES")}
    assert city.get(AreaChange, change.id).effective_date == start
    for report in (north, south, addressed):
        city.refresh(report)
    assert [city.get(Area, r.area_filed_id).code for r in (north, south, addressed)] == ["T-E"] * 3
    assert city.get(Area, north.area_current_id).code == "T-EN"
    assert city.get(Area, south.area_current_id).code == "T-ES"
    assert city.get(Area, addressed.area_current_id).code == "T-EN"  # no point: the first successor
    with pytest.raises(Invalid):
        record_area_change(city, "split", start, ["T-W", "T-EN"], ["T-ES"])
    with pytest.raises(Invalid):
        record_area_change(city, "merge", start, ["T-W"], ["T-EN", "T-ES"])


def test_area_change_from_the_command_line(cli, city, tmp_path):
    for area in city.scalars(select(Area)):
        area.valid_from = date(2020, 1, 1)
    city.commit()
    merged = tmp_path / "merged.geojson"
    gpd.GeoDataFrame({"code": ["T-M"], "name": ["Phường Hợp Nhất"], "parent": ["T"]},
                     geometry=[box(107.5, 16.4, 107.7, 16.5)], crs=4326).to_file(merged)
    result = cli("areas", "import", str(merged), "--level", "ward", "--parent-col", "parent",
                 "--valid-from", "2025-07-01")
    assert result.exit_code == 0, result.output
    result = cli("areas", "change", "merge", "--date", "2025-07-01", "--old", "T-W", "--old", "T-E", "--new", "T-M")
    assert result.exit_code == 0, result.output
    assert "T-M" in cli("areas", "list", "--level", "ward").output
    assert "T-W" not in cli("areas", "list", "--level", "ward").output
    again = cli("areas", "change", "merge", "--date", "2025-08-01", "--old", "T-W", "--new", "T-M")
    assert again.exit_code != 0 and "already retired" in again.output


def test_lookup_on_the_demo_city_irregular_borders(db):
    """Ward borders of the demo city (irregular, digitised like real ones): every point on a border shared by
    two wards goes to the lower code, every point inside a ward to that ward."""
    import shapely

    from gisserver.demo.geography import build_geography

    geography = build_geography(2025, groups_per_ward=(1, 1))
    import_areas(db, geography.city, level="city")
    import_areas(db, geography.wards, level="ward", parent_code_col="parent_code")
    wards = geography.wards.set_index("code")

    def vertices(geom):
        return {c for part in shapely.get_parts(geom) for ring in [part.exterior, *part.interiors] for c in ring.coords}

    checked = 0
    for a, b in itertools.combinations(sorted(wards.index), 2):
        # Corners both wards share lie exactly on both boundaries, to the last bit.
        for x, y in sorted(vertices(wards.geometry[a]) & vertices(wards.geometry[b]))[:3]:
            # The lowest code among every ward touching the point (a corner may touch three).
            touching = [c for c in wards.index if wards.geometry[c].intersects(shapely.Point(x, y))]
            assert {a, b} <= set(touching)
            chains = {tuple(codes(area_chain_for_point(db, x, y))) for _ in range(2)}
            assert chains == {(min(touching), "HUE")}, (a, b, x, y)
            checked += 1
    assert checked >= 20
    for code in sorted(wards.index):
        inside = wards.geometry[code].representative_point()
        assert codes(area_chain_for_point(db, inside.x, inside.y)) == [code, "HUE"]
