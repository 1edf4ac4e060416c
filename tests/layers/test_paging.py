"""Deep pages cost what the first page costs (issue 21, item 5), measured without a clock.

The statement each request runs is captured and explained in PostGIS: the number of rows that pass through
the plan node building GeoJSON (json_build_object) must be the page's size, not offset + page, and the
shared buffers a deep page reads must stay near the first page's.
"""

import json
from contextlib import contextmanager
from urllib.parse import parse_qs, urlparse

import geopandas as gpd
import numpy as np
import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from layers.importing import ImportOptions, import_layer

N = 7000  # the GDAL test layer had 6,951 points


@pytest.fixture
def points(db, tmp_path):
    rng = np.random.default_rng(21)
    frame = gpd.GeoDataFrame(
        {"ma": [f"D{i:05d}" for i in range(N)], "loai": np.where(np.arange(N) % 3 == 0, "bơm", "cống")},
        geometry=gpd.points_from_xy(107.5 + rng.random(N) * 0.2, 16.4 + rng.random(N) * 0.15), crs=4326)
    path = tmp_path / "diem.gpkg"
    frame.to_file(path, driver="GPKG")
    import_layer(db, path, ImportOptions(name="diem", category="infrastructure"))
    db.commit()
    return frame


@contextmanager
def page_statements():
    """The SQL (with parameters) of every feature page the app runs meanwhile."""
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if "json_agg" in statement:
            seen.append((statement, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def _walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def rows_built(node) -> int:
    """Rows a node writes GeoJSON for: an aggregate builds it from its input rows, other nodes for their own."""
    if node["Node Type"] == "Aggregate":
        return sum(c["Actual Rows"] * c["Actual Loops"] for c in node.get("Plans", []))
    return node["Actual Rows"] * node["Actual Loops"]


def page_cost(app, client, url) -> tuple[dict, int, int]:
    """(the answer, rows that had GeoJSON built, shared buffers read) for one request."""
    with page_statements() as seen:
        resp = client.get(url)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    (statement, parameters), = seen
    with app.extensions["gisserver.db"].engine.connect() as conn:
        plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, VERBOSE, BUFFERS, FORMAT JSON) " + statement,
                                    parameters).scalar()
    root = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
    built = max((rows_built(n) for n in _walk(root) if any("json_build_object" in o for o in n.get("Output", []))),
                default=0)
    return resp.get_json(), built, root.get("Shared Hit Blocks", 0) + root.get("Shared Read Blocks", 0)


def ids(body) -> list[str]:
    return [f["properties"]["ma"] for f in body["features"]]


def test_deep_offset_builds_json_for_the_page_only(app, client, points):
    first, built_first, buffers_first = page_cost(app, client, "/ogc/collections/diem/items?limit=10")
    deep, built_deep, buffers_deep = page_cost(app, client, "/ogc/collections/diem/items?limit=10&offset=6900")
    assert ids(first) == [f"D{i:05d}" for i in range(10)] and ids(deep) == [f"D{i:05d}" for i in range(6900, 6910)]
    assert deep["numberMatched"] == N and deep["numberReturned"] == 10
    assert built_first == 10 and built_deep == 10  # it was 6,910 at offset 6,900
    assert buffers_deep <= 1.5 * buffers_first + 2, (buffers_first, buffers_deep)
    # With a filter the skipped rows are still found (ids only), but GeoJSON is built for the page alone.
    in_bbox = "bbox=107.5,16.4,107.69,16.55"  # all but the easternmost points
    filtered, built, _ = page_cost(app, client, f"/ogc/collections/diem/items?limit=10&offset=6000&{in_bbox}")
    inside = points[points.geometry.x <= 107.69]
    assert built == 10 and filtered["numberMatched"] == len(inside) < N
    assert ids(filtered) == list(inside["ma"][6000:6010])
    # A bbox holding the whole layer is no filter: counted from the catalog, skipped like the unfiltered offset.
    whole, built, buffers = page_cost(app, client,
                                      "/ogc/collections/diem/items?limit=10&offset=6900&bbox=100,10,110,20")
    assert ids(whole) == ids(deep) and whole["numberMatched"] == N and buffers <= 1.5 * buffers_first + 2
    cql, built, _ = page_cost(app, client, "/ogc/collections/diem/items?limit=10&offset=2000&filter=loai%3D'bơm'")
    want = [m for m, kind in zip(points["ma"], points["loai"], strict=True) if kind == "bơm"][2000:2010]
    assert built == 10 and ids(cql) == want and cql["numberMatched"] == (N + 2) // 3


def test_offsets_stay_keysets_after_features_are_deleted(app, client, db, points):
    """Deleted features leave gaps in the ids (they are never reused): an unfiltered offset must still land on the
    right feature, and still cost what the first page costs (it counted every skipped id before)."""
    from layers.catalog import get_layer
    from layers.crs import STORAGE_CRS
    from layers.editing import Edit, create_feature, delete_feature

    layer = get_layer(db, "diem")
    for fid in [1, 2, 500, *range(3000, 3050), 6899, N]:
        delete_feature(db, layer, fid, actor="user:test", comment="", if_match=None)
    create_feature(db, layer, Edit(geometry={"type": "Point", "coordinates": [107.6, 16.45]}, properties={"ma": "MOI"}),
                   actor="user:test", comment="", crs=STORAGE_CRS)
    db.commit()
    live = [f"D{fid - 1:05d}" for fid in range(1, N + 1)
            if fid not in {1, 2, 500, 6899, N} and not 3000 <= fid < 3050] + ["MOI"]
    first, _, buffers_first = page_cost(app, client, "/ogc/collections/diem/items?limit=10")
    assert ids(first) == live[:10]
    for offset in (1, 2, 497, 498, 2990, 3000, 6840, len(live) - 3, len(live), len(live) + 7):
        body, built, buffers = page_cost(app, client, f"/ogc/collections/diem/items?limit=10&offset={offset}")
        assert ids(body) == live[offset:offset + 10], offset
        assert body["numberMatched"] == len(live) and built == len(live[offset:offset + 10])
        assert buffers <= 1.5 * buffers_first + 2, (offset, buffers_first, buffers)
    # With a cursor and an offset together, and after one more deletion (the gaps are found again).
    assert ids(client.get("/ogc/collections/diem/items?limit=3&cursor=499&offset=1").get_json()) == \
        ["D00501", "D00502", "D00503"]
    delete_feature(db, get_layer(db, "diem"), 20, actor="user:test", comment="", if_match=None)
    db.commit()
    live.remove("D00019")
    assert ids(client.get("/ogc/collections/diem/items?limit=5&offset=15").get_json()) == live[15:20]


def test_next_links_page_by_cursor_at_constant_cost(app, client, points):
    url, seen, costs = "/ogc/collections/diem/items?limit=500&loai=c%E1%BB%91ng", [], []
    while url:
        body, built, buffers = page_cost(app, client, url)
        # Counted on the first page; pages reached by a cursor do not count every match again.
        assert body.get("numberMatched") == (N - (N + 2) // 3 if not seen else None)
        seen += ids(body)
        costs.append((built, buffers))
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if nxt:
            query = parse_qs(urlparse(nxt[0]).query)
            # Each parameter once; the cursor replaces the offset; the filter is kept.
            assert {k: len(v) for k, v in query.items()} == {"limit": 1, "loai": 1, "cursor": 1}
        url = nxt[0] if nxt else None
    assert seen == [m for m, kind in zip(points["ma"], points["loai"], strict=True) if kind == "cống"]
    assert all(built <= 500 for built, _ in costs)
    first_buffers, last_buffers = costs[0][1], costs[-2][1]  # the last full page, deepest in the table
    assert last_buffers <= 1.5 * first_buffers + 2, costs


def test_unfiltered_cursor_pages_still_say_number_matched(client, points):
    body = client.get("/ogc/collections/diem/items?limit=5&cursor=6000").get_json()
    assert body["numberMatched"] == N  # from the catalog: free


def test_cursor_and_offset_together_and_bad_values(client, points):
    body = client.get("/ogc/collections/diem/items?limit=5&cursor=100&offset=10").get_json()
    assert ids(body) == [f"D{i:05d}" for i in range(110, 115)]  # fids are 1-based: cursor 100 is after D00099
    last = client.get(f"/ogc/collections/diem/items?limit=5&cursor={N - 2}").get_json()
    assert ids(last) == [f"D{N - 2:05d}", f"D{N - 1:05d}"] and not [k for k in last["links"] if k["rel"] == "next"]
    empty = client.get(f"/ogc/collections/diem/items?cursor={N}").get_json()
    assert empty["features"] == [] and empty["numberReturned"] == 0
    for bad in ("cursor=-1", "cursor=abc", "offset=99999999999999999999", "cursor=99999999999999999999"):
        resp = client.get(f"/ogc/collections/diem/items?{bad}")
        assert resp.status_code == 400, bad


def test_fids_are_row_numbers(db, points):
    """Unfiltered offsets rely on it: a layer's fids are 1..n (storage.create_and_load)."""
    from sqlalchemy import func, select

    from layers.catalog import data_table, get_layer

    table = data_table(get_layer(db, "diem"))
    assert db.execute(select(func.min(table.c.fid), func.max(table.c.fid), func.count())).one() == (1, N, N)
