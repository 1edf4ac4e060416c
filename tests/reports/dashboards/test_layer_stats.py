"""Layer statistics per area on hand-made geometries, checked against areas and lengths computed here on the
WGS84 ellipsoid (pyproj's Geod) from the same shapes cut with shapely; their records; the cache by data version;
internal layers."""

from __future__ import annotations

import re

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import LineString, Point, box

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Invalid, NotFound
from layers.importing import ImportOptions, import_layer
from reports.dashboards.layerstats import CACHE, LayerStat, features_counted, resolve, statistic
from reports.summaries.hierarchy import load_hierarchy

GEOD = Geod(ellps="WGS84")
WARDS = {"T-W": box(107.5, 16.4, 107.6, 16.5), "T-E": box(107.6, 16.4, 107.7, 16.5)}
CITY = box(107.5, 16.4, 107.7, 16.5)
# Zoning polygons: wholly west, across the border x = 107.60, wholly east, and one without a kind.
ZONES = [("A", box(107.52, 16.42, 107.54, 16.44)), ("B", box(107.59, 16.45, 107.62, 16.47)),
         ("A", box(107.65, 16.41, 107.66, 16.43)), (None, box(107.55, 16.46, 107.56, 16.48))]
DRAINS = [LineString([(107.55, 16.43), (107.65, 16.44)]), LineString([(107.62, 16.41), (107.62, 16.48)])]
SHELTERS = [Point(107.53, 16.43), Point(107.55, 16.47), Point(107.58, 16.41), Point(107.61, 16.46),
            Point(107.69, 16.49)]
FLOOD = box(107.525, 16.40, 107.615, 16.455)  # across the border, over some zones, drains and shelters


def hectares(geometry) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0]) / 10_000 if not geometry.is_empty else 0.0


def kilometres(geometry) -> float:
    return GEOD.geometry_length(geometry) / 1000 if not geometry.is_empty else 0.0


def _layer(session, tmp_path, name, frame, **options):
    path = tmp_path / f"{name}.geojson"
    frame.to_file(path, driver="GeoJSON")
    import_layer(session, path, ImportOptions(name=name, **options))


@pytest.fixture
def layers(city, tmp_path):
    _layer(city, tmp_path, "zoning", gpd.GeoDataFrame({"kind": [k for k, _ in ZONES]},
                                                      geometry=[g for _, g in ZONES], crs=4326))
    _layer(city, tmp_path, "drains", gpd.GeoDataFrame({"size": [400, 600]}, geometry=DRAINS, crs=4326),
           visibility="internal")
    _layer(city, tmp_path, "shelters", gpd.GeoDataFrame({"name": [f"S{i}" for i in range(5)]}, geometry=SHELTERS,
                                                        crs=4326))
    _layer(city, tmp_path, "flood", gpd.GeoDataFrame({"level": ["high"]}, geometry=[FLOOD], crs=4326))
    city.commit()
    CACHE.clear()
    return city


STAFF = Principal(kind="user", id=0, name="t", roles=frozenset({"admin"}))


def _run(session, stat: LayerStat, code: str = "T", include_internal: bool = True):
    hierarchy = load_hierarchy(session)
    area = hierarchy.by_code(code)
    targets = [area.id, *(c.id for c in hierarchy.children_now(area))]
    result = statistic(session, resolve(session, stat, include_internal=include_internal), targets)
    names = {hierarchy.areas[t].code: t for t in targets}
    return result, names


def test_area_length_and_count_per_ward_match_the_ellipsoid(layers):
    result, ids = _run(layers, LayerStat("area", "zoning", by="kind"))
    assert result.unit == "ha"
    for code, ward in WARDS.items():
        expected = sum(hectares(g.intersection(ward)) for _, g in ZONES)
        assert result.totals[ids[code]] == pytest.approx(expected, rel=1e-6)
        for kind in ("A", "B", None):
            part = sum(hectares(g.intersection(ward)) for k, g in ZONES if k == kind)
            assert result.groups[ids[code]][kind] == pytest.approx(part, rel=1e-6, abs=1e-9)
    assert result.totals[ids["T"]] == pytest.approx(sum(hectares(g) for _, g in ZONES), rel=1e-6)
    assert result.group_keys[0] == "A"  # largest first; the kindless zone is a group of its own (None)

    lengths, ids = _run(layers, LayerStat("length", "drains"))
    assert lengths.unit == "km"
    for code, ward in WARDS.items():
        assert lengths.totals[ids[code]] == pytest.approx(sum(kilometres(d.intersection(ward)) for d in DRAINS),
                                                          rel=1e-6)

    # A feature counts once, where its point on surface lies: the zone across the border counts in one ward.
    counts, ids = _run(layers, LayerStat("count", "zoning"))
    assert counts.totals[ids["T-W"]] + counts.totals[ids["T-E"]] == counts.totals[ids["T"]] == 4
    shelters, ids = _run(layers, LayerStat("count", "shelters"))
    assert (shelters.totals[ids["T-W"]], shelters.totals[ids["T-E"]]) == (3, 2)


def test_overlays_count_and_cut_by_the_other_layer(layers):
    counts, ids = _run(layers, LayerStat("count", "shelters", within="flood"))
    inside = [p for p in SHELTERS if p.intersects(FLOOD)]
    assert counts.totals[ids["T"]] == len(inside) == 2
    assert counts.totals[ids["T-W"]] == sum(1 for p in inside if p.intersects(WARDS["T-W"]))
    flooded, ids = _run(layers, LayerStat("area", "zoning", by="kind", within="flood"))
    for code, ward in WARDS.items():
        expected = sum(hectares(g.intersection(ward).intersection(FLOOD)) for _, g in ZONES)
        assert flooded.totals[ids[code]] == pytest.approx(expected, rel=1e-6)
    drains, ids = _run(layers, LayerStat("length", "drains", within="flood"))
    assert drains.totals[ids["T"]] == pytest.approx(sum(kilometres(d.intersection(FLOOD)) for d in DRAINS),
                                                     rel=1e-6)


def test_the_records_behind_a_figure_add_up_to_it(layers):
    result, ids = _run(layers, LayerStat("area", "zoning", by="kind"))
    resolved = resolve(layers, LayerStat("area", "zoning", by="kind"), include_internal=True)
    page = features_counted(layers, resolved, ids["T-E"], group="A", grouped=True)
    assert page.total == 1 and page.items[0]["properties"]["kind"] == "A"
    assert sum(i["measure"] for i in page.items) == pytest.approx(result.groups[ids["T-E"]]["A"], rel=1e-6)
    everything = features_counted(layers, resolved, ids["T-E"])
    assert sum(i["measure"] for i in everything.items) == pytest.approx(result.totals[ids["T-E"]], rel=1e-6)
    none = features_counted(layers, resolved, ids["T-W"], group=None, grouped=True)
    assert [i["properties"]["kind"] for i in none.items] == [None]


def test_cached_by_data_version_never_stale(layers, tmp_path):
    stat = LayerStat("count", "shelters")
    first, ids = _run(layers, stat)
    hits = CACHE.hits
    again, _ = _run(layers, stat)
    assert CACHE.hits == hits + 1 and again is first
    # New data for the layer: a new version, a new figure at once.
    frame = gpd.GeoDataFrame({"name": ["only"]}, geometry=[Point(107.53, 16.43)], crs=4326)
    frame.to_file(tmp_path / "one.geojson", driver="GeoJSON")
    import_layer(layers, tmp_path / "one.geojson", ImportOptions(name="shelters", replace=True))
    layers.commit()
    after, ids = _run(layers, stat)
    assert after.totals[ids["T"]] == 1 and after.totals[ids["T-E"]] == 0


def test_refusals(layers):
    with pytest.raises(NotFound):  # an internal layer does not exist for a machine (a wall display)
        resolve(layers, LayerStat("length", "drains"), include_internal=False)
    with pytest.raises(NotFound):
        resolve(layers, LayerStat("count", "shelters", within="drains"), include_internal=False)
    for stat, field in ((LayerStat("length", "zoning"), "measure"), (LayerStat("area", "shelters"), "measure"),
                        (LayerStat("count", "zoning", by="colour"), "by"),
                        (LayerStat("area", "zoning", within="shelters"), "within"),
                        (LayerStat("volume", "zoning"), "measure")):
        with pytest.raises(Invalid) as refused:
            resolve(layers, stat, include_internal=True)
        assert refused.value.details["field"] == field


def test_the_other_group_links_to_the_features_it_holds(layers, client, auth_headers, monkeypatch):
    """Beyond the largest groups a panel names, the rest is "other": its link opens exactly those features."""
    from reports.areas.service import area_by_code
    from reports.dashboards import layerstats

    monkeypatch.setattr(layerstats, "MAX_GROUPS", 2)  # kinds A and B by name; the zone without a kind is "other"
    leader = auth_headers("leader", area_ids=[area_by_code(layers, "T").id])
    panel = {"id": "kinds", "chart": "bar", "dimension": "group",
             "indicators": [{"key": "layer_area", "layer": "zoning", "by": "kind"}]}
    answer = client.post("/api/dashboards/preview", json={"panels": [panel]}, headers=leader,
                         query_string={"area": "T"})
    points = {p["key"]: p for p in answer.get_json()["panels"][0]["series"][0]["points"]}
    assert set(points) == {"A", "B", "__other"}
    other = points["__other"]
    assert other["value"] == pytest.approx(hectares(ZONES[3][1]), rel=1e-3)
    params = other["records"]["params"]
    assert params["grouped"] == "other" and params["of"] == "T"
    page = client.get("/dashboards/layer-records", query_string={**params, "lang": "en"}, headers=leader)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "kind: other values" in html
    assert len(re.findall(r"<tr><td>(\d+)</td>", html)) == 1
    resolved = resolve(layers, LayerStat("area", "zoning", by="kind"), include_internal=True)
    _, ids = _run(layers, LayerStat("area", "zoning", by="kind"))
    listed = features_counted(layers, resolved, ids["T"], grouped=True, others_than=["A", "B"])
    assert [i["properties"]["kind"] for i in listed.items] == [None]
    assert sum(i["measure"] for i in listed.items) == pytest.approx(other["value"], rel=1e-6)
    # With the zone without a kind named among the groups, "other" holds the values not named (here: none).
    assert features_counted(layers, resolved, ids["T"], grouped=True, others_than=["A", None]).total == 1
    assert features_counted(layers, resolved, ids["T"], grouped=True, others_than=["A", "B", None]).total == 0
