import geopandas as gpd
from shapely.geometry import box


def test_areas_import_list_and_units_from_the_command_line(cli, tmp_path):
    city = tmp_path / "city.geojson"
    gpd.GeoDataFrame({"ma": ["HUE"], "ten": ["Thành phố Huế"]}, geometry=[box(107.5, 16.4, 107.7, 16.5)],
                     crs=4326).to_file(city)
    wards = tmp_path / "wards.geojson"
    gpd.GeoDataFrame({"ma": ["HUE-01", "HUE-02"], "ten": ["Phường Phú Xuân", "Phường Thuận Hóa"],
                      "cha": ["HUE", "HUE"]},
                     geometry=[box(107.5, 16.4, 107.6, 16.5), box(107.6, 16.4, 107.7, 16.5)], crs=4326).to_file(wards)
    result = cli("areas", "import", str(city), "--level", "city", "--code-col", "ma", "--name-col", "ten")
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    result = cli("areas", "import", str(wards), "--level", "ward", "--code-col", "ma", "--name-col", "ten",
                 "--parent-col", "cha")
    assert result.exit_code == 0, result.output
    listing = cli("areas", "list", "--level", "ward")
    assert "HUE-01\tward\tPhường Phú Xuân" in listing.output
    bad = cli("areas", "import", str(wards), "--level", "ward", "--code-col", "nope")
    assert bad.exit_code != 0 and "column" in bad.output
    assert "15 categories added" in cli("categories", "defaults").output
    assert "8 units created" in cli("units", "provision").output
    units = cli("units", "list", "--type", "ward_police").output
    assert "HUE-02-CA\tward_police" in units and "Công an Phường Thuận Hóa" in units
