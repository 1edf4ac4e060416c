"""Feature pages and tiles in one statement each (issue 19): the catalog check rides in the statement that serves
them, so a layer whose data changed or that was made internal is never answered from a process's cached entry,
not even once; numberMatched follows the policy the collection states."""

from __future__ import annotations

import json
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import psycopg
import pytest
from shapely.geometry import box
from sqlalchemy import event

from layers.importing import ImportOptions, import_layer

N = 300


@pytest.fixture
def grid(db, tmp_path):
    """N small squares in a row along lon 107.50 .. 107.53, fids 1..N in that order."""
    frame = gpd.GeoDataFrame(
        {"ma": [f"O{i:03d}" for i in range(N)], "tang": np.arange(N) % 5},
        geometry=[box(107.5 + i * 1e-4, 16.45, 107.5 + i * 1e-4 + 5e-5, 16.45005) for i in range(N)], crs=4326)
    path = tmp_path / "o.gpkg"
    frame.to_file(path, driver="GPKG")
    import_layer(db, path, ImportOptions(name="o-dat", title="Ô đất", category="planning"))
    db.commit()
    return path


@contextmanager
def statements(app, driver: list | None = None):
    """The statements SQLAlchemy sends meanwhile (and, into *driver*, every query the driver runs: pings too)."""
    seen = []
    engine = app.extensions["gisserver.db"].engine

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    execute = psycopg.Cursor.execute

    def counted(self, query, *args, **kwargs):
        driver.append(str(query))
        return execute(self, query, *args, **kwargs)

    event.listen(engine, "before_cursor_execute", record)
    if driver is not None:
        psycopg.Cursor.execute = counted
    try:
        yield seen
    finally:
        psycopg.Cursor.execute = execute
        event.remove(engine, "before_cursor_execute", record)


ITEMS = "/ogc/collections/o-dat/items"
TILE = "/ogc/collections/o-dat/tiles/WebMercatorQuad/14/7281/13276"


def test_a_page_and_a_tile_are_one_statement_each(app, client, grid):
    # The process reads the catalog entry once, and the ranges of ids no feature holds once per data version (what an
    # offset steps over: features.id_gaps).
    assert client.get(ITEMS + "?limit=5&offset=1").status_code == 200
    for url in (ITEMS + "?limit=5&bbox=107.5,16.4,107.5099,16.5", ITEMS + "?limit=5&offset=20", TILE):
        driver = []
        with statements(app, driver) as seen:
            answer = client.get(url)
        assert answer.status_code == 200, url
        assert len(seen) == 1, (url, seen)
        # One round trip: no ping of the pooled connection before it, no session, token or rate-limit lookup.
        assert len(driver) == 1, driver
    body = client.get(ITEMS + "?limit=5&bbox=107.5,16.4,107.5099,16.5")
    # The answer is the text PostGIS wrote, links and counts included.
    page = json.loads(body.data)
    assert body.data.startswith(b'{"type":"FeatureCollection","numberMatched":100,"numberReturned":5,')
    assert [f["properties"]["ma"] for f in page["features"]] == ["O000", "O001", "O002", "O003", "O004"]
    (nxt,) = [link["href"] for link in page["links"] if link["rel"] == "next"]
    assert nxt.endswith("cursor=5") and "bbox=107.5%2C16.4%2C107.5099%2C16.5" in nxt


def test_a_layer_made_internal_is_never_served_from_the_cache(app, client, grid, auth_headers):
    admin = auth_headers("admin")
    assert client.get(ITEMS).status_code == 200 and client.get(TILE).status_code == 200
    etag = client.get(TILE).headers["ETag"]
    assert client.patch("/api/layers/o-dat", json={"visibility": "internal"}, headers=admin).status_code == 200
    assert client.get(ITEMS).status_code == 404  # the very next request
    assert client.get(TILE).status_code == 404
    assert client.get(TILE, headers={"If-None-Match": etag}).status_code == 404  # not even a 304
    staff = client.get(ITEMS, headers=admin)
    assert staff.status_code == 200, staff.get_json()  # staff still see it
    assert client.patch("/api/layers/o-dat", json={"visibility": "public"}, headers=admin).status_code == 200
    assert client.get(ITEMS).status_code == 200


def test_new_data_is_served_at_once_and_a_stale_entry_costs_one_retry(app, client, grid, db, tmp_path, auth_headers):
    first = client.get(ITEMS + "?limit=1").get_json()
    assert first["features"][0]["properties"]["ma"] == "O000" and first["numberMatched"] == N
    changed = gpd.GeoDataFrame({"ma": ["MOI"], "ghi_chu": ["thay thế"]}, geometry=[box(107.6, 16.4, 107.61, 16.41)],
                               crs=4326)
    path = tmp_path / "moi.gpkg"
    changed.to_file(path, driver="GPKG")
    import_layer(db, path, ImportOptions(name="o-dat", replace=True))
    db.commit()
    with statements(app) as seen:
        # A property the old entry does not know: the catalog is asked again rather than refusing it.
        answer = client.get(ITEMS + "?ghi_chu=thay%20th%E1%BA%BF")
    assert answer.status_code == 200, answer.get_json()
    assert [f["properties"] for f in answer.get_json()["features"]] == [{"ma": "MOI", "ghi_chu": "thay thế"}]
    assert len(seen) == 2  # the catalog row, then the page
    with statements(app) as seen:
        assert client.get(ITEMS).get_json()["numberMatched"] == 1
    assert len(seen) == 1


def test_number_matched_policy(app, client, grid):
    collection = client.get("/ogc/collections/o-dat").get_json()
    assert collection["numberMatchedPolicy"]["exactCountLimit"] == 10_000
    app.config["SETTINGS"] = type(app.config["SETTINGS"])(**{**vars(app.config["SETTINGS"]),
                                                             "ogc_exact_count_limit": 50})
    whole_layer = "bbox=107.49,16.4,107.6,16.5"  # holds the layer's extent: no filter, the catalog's count
    under = client.get(f"{ITEMS}?limit=10&bbox=107.5,16.4,107.5049,16.5").get_json()  # 50 squares: counted
    assert under["numberMatched"] == 50 and "numberMatchedEstimate" not in under
    over = client.get(f"{ITEMS}?limit=10&bbox=107.5,16.4,107.5199,16.5").get_json()  # 200 squares: more than 50
    assert "numberMatched" not in over and over["numberReturned"] == 10
    assert over["numberMatchedEstimate"] > 0  # the planner's, from the statistics ANALYZE took at import
    last = client.get(f"{ITEMS}?limit=10&offset=195&bbox=107.5,16.4,107.5199,16.5").get_json()
    assert last["numberMatched"] == 200 and last["numberReturned"] == 5  # the last page tells without counting
    assert client.get(f"{ITEMS}?limit=10&{whole_layer}").get_json()["numberMatched"] == N
    cursor = client.get(f"{ITEMS}?limit=10&cursor=10&bbox=107.5,16.4,107.5049,16.5").get_json()
    assert "numberMatched" not in cursor and "numberMatchedEstimate" not in cursor
