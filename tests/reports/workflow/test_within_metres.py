"""The distance test the nearby-report searches share: the bounding box the index answers never drops a point the
spheroid distance keeps, at any latitude or bearing."""

import pytest
from sqlalchemy import text

from reports.workflow.sql import within_metres


@pytest.mark.parametrize("lat", [0.0, 16.46, 45.0, 70.0, -35.0])
@pytest.mark.parametrize("metres", [20.0, 50.0, 500.0])
def test_points_just_inside_are_kept_and_just_outside_are_not(db, lat, metres):
    rows = db.execute(text(f"""
        SELECT bearing, share, {within_metres("p.geom", "c.geom", ":metres")} AS near
        FROM (SELECT ST_SetSRID(ST_MakePoint(107.59, :lat), 4326) AS geom) AS c,
             generate_series(0, 345, 15) AS bearing, unnest(ARRAY[0.995, 1.005]) AS share,
             LATERAL (SELECT ST_Project(c.geom::geography, :metres * share, radians(bearing))::geometry AS geom) AS p
    """), {"lat": lat, "metres": metres}).all()  # noqa: S608 - the fragment under test, no input
    assert len(rows) == 48
    wrong = [(r.bearing, r.share) for r in rows if r.near != (r.share < 1)]
    assert not wrong, wrong
