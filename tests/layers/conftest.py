import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

from layers.importing import ImportOptions, import_layer
from tests.layers.real_files import vietnam_provinces

VI_NAMES = ["Đất ở đô thị", "Đất cây xanh – công viên", "Đường Lê Lợi (đoạn Hùng Vương)"]


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"ten_lo": VI_NAMES, "dien_tich": [120.5, 300.0, 45.25], "so_tang": [3, 0, 1]},
        geometry=[box(107.58, 16.46, 107.581, 16.461), box(107.582, 16.46, 107.583, 16.461),
                  Polygon([(107.584, 16.46), (107.585, 16.461), (107.585, 16.46), (107.584, 16.461)])],  # bow-tie
        crs=4326,
    )


@pytest.fixture
def points() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"ten": ["Trạm bơm An Cựu", "Trạm bơm Vỹ Dạ"]},
                            geometry=[Point(107.59, 16.45), Point(107.61, 16.47)], crs=4326)


@pytest.fixture(scope="module")
def provinces_file():
    """Vietnam's provinces (a real file from the npm registry, see real_files.py)."""
    return vietnam_provinces()


@pytest.fixture
def provinces(db, provinces_file):
    import_layer(db, provinces_file, ImportOptions(name="vn", title="Tỉnh thành", category="administrative"))
    db.commit()
    return gpd.read_file(provinces_file)
