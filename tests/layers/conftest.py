import geopandas as gpd
import pytest
from shapely.geometry import Point, Polygon, box

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
