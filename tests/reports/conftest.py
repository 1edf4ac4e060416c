"""A small city for report tests: two wards sharing the border x = 107.60, the west one with two groups."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import box

from reports.areas.service import import_areas
from reports.areas.units import provision_ward_units
from reports.cameras.alert_types import ensure_default_alert_types
from reports.workflow.categories import ensure_default_categories

WEST_INSIDE = (107.55, 16.42)  # in group T-W-01
EAST_INSIDE = (107.65, 16.45)
ON_BORDER = (107.60, 16.43)
OUTSIDE = (108.50, 16.45)


def _frame(rows):
    return gpd.GeoDataFrame(
        [{k: v for k, v in r.items() if k != "geom"} for r in rows], geometry=[r["geom"] for r in rows], crs=4326
    )


def build_small_city(session):
    import_areas(session, _frame([{"code": "T", "name": "Thành phố Thử", "geom": box(107.5, 16.4, 107.7, 16.5)}]),
                 level="city")
    import_areas(
        session,
        _frame([
            {"code": "T-W", "name": "Phường Tây", "parent": "T", "geom": box(107.5, 16.4, 107.6, 16.5)},
            {"code": "T-E", "name": "Phường Đông", "parent": "T", "geom": box(107.6, 16.4, 107.7, 16.5)},
        ]),
        level="ward", parent_code_col="parent",
    )
    import_areas(
        session,
        _frame([
            {"code": "T-W-01", "name": "Tổ 1", "parent": "T-W", "geom": box(107.5, 16.4, 107.6, 16.45)},
            {"code": "T-W-02", "name": "Tổ 2", "parent": "T-W", "geom": box(107.5, 16.45, 107.6, 16.5)},
        ]),
        level="group", parent_code_col="parent",
    )
    ensure_default_categories(session)
    ensure_default_alert_types(session)
    provision_ward_units(session, phone_for=lambda ward: "0234 3822 000")


@pytest.fixture
def city(db):
    build_small_city(db)
    db.commit()
    return db
