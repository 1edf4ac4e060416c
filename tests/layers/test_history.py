"""Feature edits over OGC API - Features Part 4, kept in history: the layer (items and tiles) at any instant,
a feature's versions, restores of a feature and of a whole layer, and the refusals that change nothing."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime

import geopandas as gpd
import mapbox_vector_tile
import pytest
from pyproj import Transformer
from shapely.geometry import box, shape
from sqlalchemy import func, select, text

from gisserver.core.audit import AuditEntry
from layers.crs import vn2000_tm
from layers.importing import ImportOptions, import_layer
from layers.models import Layer, LayerChange

ITEMS = "/ogc/collections/lo/items"
TILE = "/ogc/collections/lo/tiles/WebMercatorQuad/10/464/818"  # z/y/x: covers the whole layer


def square(x: float, y: float, size: float = 0.001) -> dict:
    return json.loads(gpd.GeoSeries([box(x, y, x + size, y + size)]).to_json())["features"][0]["geometry"]


@pytest.fixture
def lo(db, tmp_path):
    """Three parcels, lon 107.58-107.586 / lat 16.46-16.461."""
    frame = gpd.GeoDataFrame({"ma": ["A", "B", "C"], "tang": [1, 2, 3], "loai": ["ODT", "CXX", "ODT"]},
                             geometry=[box(107.58 + i * 0.002, 16.46, 107.581 + i * 0.002, 16.461) for i in range(3)],
                             crs=4326)
    frame.to_file(tmp_path / "lo.geojson")
    import_layer(db, tmp_path / "lo.geojson", ImportOptions(name="lo", category="planning", comment="first plan"))
    frame.iloc[:1].to_file(tmp_path / "other.geojson")
    import_layer(db, tmp_path / "other.geojson", ImportOptions(name="khac"))
    db.commit()
    return db


def iso(instant) -> str:
    """An instant as a query parameter value (Z, since a + would read as a space)."""
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def version(client, fid: int, headers: dict) -> dict:
    """*headers* with If-Match naming feature *fid*'s current version (every HTTP write must name one)."""
    return {**headers, "If-Match": client.get(f"{ITEMS}/{fid}").headers["ETag"]}


def features_of(client, query: str = "") -> dict[int, dict]:
    body = client.get(f"{ITEMS}?limit=100{query}").get_json()
    return {f["id"]: f for f in body["features"]}


def tile_of(client, query: str = "") -> dict[int, dict]:
    resp = client.get(TILE + query)
    assert resp.status_code == 200
    decoded = mapbox_vector_tile.decode(resp.data)
    return {f["id"]: f["properties"] for f in decoded.get("lo", {"features": []})["features"]}


def changes(db) -> list[LayerChange]:
    db.expire_all()
    return list(db.scalars(select(LayerChange).join(Layer).where(Layer.name == "lo").order_by(LayerChange.id)))


def test_edits_are_kept_and_the_past_reads_exactly_as_it_was(client, lo, auth_headers, db):
    planner = auth_headers("planner")
    before = features_of(client)
    tile_before = tile_of(client)
    etag = client.get(f"{ITEMS}/1").headers["ETag"]
    old_tile_etag = client.get(TILE).headers["ETag"]

    # Between t0 and t1: an attribute edited, a feature drawn, a feature deleted.
    resp = client.patch(f"{ITEMS}/1?comment=raise+to+5", json={"properties": {"tang": 5}},
                        headers={**planner, "If-Match": etag})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["properties"]["tang"] == 5 and resp.headers["ETag"] != etag
    stale = client.patch(f"{ITEMS}/1", json={"properties": {"tang": 6}}, headers={**planner, "If-Match": etag})
    assert stale.status_code == 412 and stale.get_json()["error"]["details"]["current"]["properties"]["tang"] == 5
    assert stale.headers["ETag"] == resp.headers["ETag"] == client.get(f"{ITEMS}/1").headers["ETag"]
    created = client.post(ITEMS, json={"type": "Feature", "geometry": square(107.59, 16.46),
                                       "properties": {"ma": "D", "tang": 4}}, headers=planner)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"].endswith("/ogc/collections/lo/items/4")
    assert client.delete(f"{ITEMS}/2?comment=merged", headers=version(client, 2, planner)).status_code == 204
    # After t1: feature 3 moved.
    moved = client.put(f"{ITEMS}/3", json={"type": "Feature", "id": 3, "geometry": square(107.6, 16.47),
                                           "properties": {"ma": "C", "tang": 3, "loai": "ODT"}},
                       headers=version(client, 3, planner))
    assert moved.status_code == 200, moved.get_json()

    log = changes(db)
    assert [(c.kind, c.fid) for c in log] == [("import", None), ("update", 1), ("create", 4), ("delete", 2),
                                              ("update", 3)]
    assert log[1].comment == "raise to 5" and log[1].actor.startswith("token:") and log[3].comment == "merged"
    t0, t1 = iso(log[0].at), iso(log[3].at)

    # Now: the edits, at once, in items and tiles (the tile's ETag moved on with them).
    now = features_of(client)
    assert sorted(now) == [1, 3, 4] and now[1]["properties"]["tang"] == 5
    assert client.get(TILE).headers["ETag"] != old_tile_etag
    assert sorted(tile_of(client)) == [1, 3, 4]

    # At t0: exactly the imported data; at t1: exactly t0 plus the three edits between them.
    at0 = features_of(client, f"&at={t0}")
    assert at0 == before
    assert tile_of(client, f"?at={t0}") == tile_before
    at1 = features_of(client, f"&at={t1}")
    assert sorted(at1) == [1, 3, 4]
    assert at1[3] == before[3]  # moved only after t1
    assert at1[1]["properties"] == {**before[1]["properties"], "tang": 5}
    tile1 = tile_of(client, f"?at={t1}")
    assert {k: v for k, v in tile1.items() if k not in (1, 4)} == {3: tile_before[3]}
    assert tile1[1]["tang"] == 5 and tile1[4]["ma"] == "D"
    # Before the layer existed there was nothing; a single feature reads as it was too.
    assert features_of(client, "&at=2000-01-01") == {}
    assert client.get(f"{ITEMS}/2?at={t0}").get_json()["properties"]["ma"] == "B"
    assert client.get(f"{ITEMS}/2").status_code == 404
    assert client.get(f"{ITEMS}?at=yesterday").status_code == 400
    assert client.get(f"{ITEMS}?at=2025-07-01T00:00:00").status_code == 400  # no time zone

    # Feature 1's versions: two states, the second with its diff and comment.
    versions = client.get("/api/layers/lo/features/1/versions", headers=planner).get_json()
    assert [v["change"]["kind"] for v in versions["versions"]] == ["update", "import"]
    assert versions["versions"][0]["changed"] == {"tang": [1, 5]}
    assert versions["versions"][0]["change"]["comment"] == "raise to 5"
    assert versions["versions"][0]["geometry_changed"] is False
    deleted = client.get("/api/layers/lo/features/2/versions", headers=planner).get_json()
    assert deleted["deleted"] is True and deleted["versions"][0]["ended_by"]["kind"] == "delete"
    assert client.get("/api/layers/lo/features/1/versions", headers=auth_headers("officer")).status_code == 403

    # Every write is in the audit log.
    actions = set(db.scalars(select(AuditEntry.action).where(AuditEntry.table_name.like("l%_v%"))))
    assert {"create_feature", "update_feature", "delete_feature"} <= actions


def test_a_tile_of_an_instant_keeps_its_etag_while_later_edits_move_only_todays(client, lo, auth_headers, db, cli):
    planner = auth_headers("planner")
    t0 = iso(changes(db)[0].at)
    past, now = client.get(f"{TILE}?at={t0}"), client.get(TILE)
    # Nothing has changed yet: the instant and now hold the same data (other URLs, so other cache entries).
    assert past.status_code == now.status_code == 200 and past.data == now.data
    client.patch(f"{ITEMS}/1", json={"properties": {"tang": 9}}, headers=version(client, 1, planner))
    client.delete(f"{ITEMS}/2", headers=version(client, 2, planner))
    # Today's tile moved on; the tile of t0 is what it was, byte for byte, and a cache holding it is told so.
    assert client.get(TILE).headers["ETag"] != now.headers["ETag"]
    again = client.get(f"{TILE}?at={t0}")
    assert again.headers["ETag"] == past.headers["ETag"] and again.data == past.data
    assert client.get(f"{TILE}?at={t0}", headers={"If-None-Match": past.headers["ETag"]}).status_code == 304
    # An instant still ahead holds today's data: an edit before it moves it.
    ahead = "2999-01-01T00:00:00Z"
    before_edit = client.get(f"{TILE}?at={ahead}").headers["ETag"]
    client.patch(f"{ITEMS}/3", json={"properties": {"tang": 8}}, headers=version(client, 3, planner))
    assert client.get(f"{TILE}?at={ahead}").headers["ETag"] != before_edit
    # Forgetting the states of t0 (a prune) changes what t0 reads, and so its ETag.
    assert cli("layers", "history", "prune", "--before", iso(datetime.now(UTC)), "--yes").exit_code == 0
    pruned = client.get(f"{TILE}?at={t0}")
    assert pruned.headers["ETag"] != past.headers["ETag"] and pruned.data != past.data


def test_restores_are_new_versions(client, lo, auth_headers, db):
    planner = auth_headers("planner")
    original = features_of(client)
    client.patch(f"{ITEMS}/1", json={"properties": {"ma": "A2"}}, headers=version(client, 1, planner))
    client.delete(f"{ITEMS}/2", headers=version(client, 2, planner))
    log = changes(db)
    first_version = log[0].id  # the import made every feature's first state

    # A deleted feature comes back from its last state; an edited one goes back to its first.
    resp = client.post("/api/layers/lo/features/2/restore", json={"version": first_version, "comment": "undo"},
                       headers=planner)
    assert resp.status_code == 200, resp.get_json()
    resp = client.post("/api/layers/lo/features/1/restore", json={"version": first_version}, headers=planner)
    assert resp.status_code == 200
    assert features_of(client) == original
    assert [c.kind for c in changes(db)][-2:] == ["restore", "restore"]
    # Restoring a version that never existed, or the current one, changes nothing.
    count = len(changes(db))
    missing = client.post("/api/layers/lo/features/1/restore", json={"version": 999999}, headers=planner)
    assert missing.status_code == 404 and missing.get_json()["error"]["details"]["reason"] == "no_such_version"
    current = client.post("/api/layers/lo/features/1/restore", json={"version": changes(db)[-1].id},
                          headers=planner)
    assert current.status_code == 409
    assert client.post("/api/layers/lo/features/1/restore", json={"version": "1"}, headers=planner).status_code == 400
    assert client.post("/api/layers/lo/features/77/restore", json={"version": first_version},
                       headers=planner).status_code == 404
    assert len(changes(db)) == count

    # The whole layer back to how it was after the first edit: a new data table, the present kept as the past.
    after_edit = iso(changes(db)[1].at)
    before_restore = iso(changes(db)[-1].at)
    resp = client.post("/api/layers/lo/restore", json={"at": after_edit, "comment": "back"}, headers=planner)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["layer"]["feature_count"] == 3
    now = features_of(client)
    assert now[1]["properties"]["ma"] == "A2" and sorted(now) == [1, 2, 3]
    assert features_of(client, f"&at={before_restore}") == original
    assert client.post("/api/layers/lo/restore", json={"at": "1999-01-01"}, headers=planner).status_code == 404
    assert client.post("/api/layers/lo/restore", json={"at": "2999-01-01"}, headers=planner).status_code == 400
    assert client.post("/api/layers/lo/restore", json={}, headers=planner).status_code == 400
    tables = set(db.scalars(text("SELECT table_name FROM information_schema.tables WHERE table_schema='layer_data' "
                                 "AND table_name LIKE 'l1_%'")))
    assert tables == {"l1_v1", "l1_v1_h", "l1_v6", "l1_v6_h"}
    listing = client.get("/api/layers/lo/changes", headers=planner).get_json()["changes"]
    assert listing[0]["kind"] == "restore_layer" and listing[0]["comment"] == "back"
    assert [c["fid"] for c in client.get("/api/layers/lo/changes?fid=2", headers=planner).get_json()["changes"]] \
        == [2, 2]


def test_a_replaced_file_is_the_past_of_the_layer(client, lo, auth_headers, tmp_path):
    planner = auth_headers("planner")
    original = features_of(client)
    new = gpd.GeoDataFrame({"ten": ["Mới"]}, geometry=[box(107.581, 16.461, 107.582, 16.462)], crs=4326)
    new.to_file(tmp_path / "new.geojson")
    resp = client.put("/api/layers/lo/data", data={"file": (io.BytesIO((tmp_path / "new.geojson").read_bytes()),
                                                               "new.geojson")},
                      headers=planner, content_type="multipart/form-data")
    assert resp.status_code == 200
    log = client.get("/api/layers/lo/changes", headers=planner).get_json()["changes"]
    assert [c["kind"] for c in log] == ["replace", "import"] and log[0]["details"]["counts"]["stored"] == 1
    imported, replaced = (iso(datetime.fromisoformat(c["at"])) for c in reversed(log))
    assert [f["properties"] for f in features_of(client).values()] == [{"ten": "Mới"}]
    assert features_of(client, f"&at={imported}") == original
    assert features_of(client, f"&at={replaced}") == features_of(client)
    # A filter over the past speaks of the attributes the layer had then.
    past = client.get(f"{ITEMS}?at={imported}&filter=loai='CXX'").get_json()
    assert "features" in past, past
    assert [f["properties"]["ma"] for f in past["features"]] == ["B"]
    assert client.get(f"{ITEMS}?filter=loai='CXX'").status_code == 400


# -- refusals: each a clear 4xx, and nothing written -------------------------------------------------------


def _state(db) -> tuple:
    db.expire_all()
    layer = db.scalar(select(Layer).where(Layer.name == "lo"))
    return layer.data_version, layer.feature_count, db.scalar(select(func.count()).select_from(LayerChange))


def _feature(geometry=None, **properties) -> dict:
    return {"type": "Feature", "geometry": geometry or square(107.59, 16.46), "properties": properties}


BOW_TIE = {"type": "Polygon", "coordinates": [[[107.584, 16.46], [107.585, 16.461], [107.585, 16.46],
                                               [107.584, 16.461], [107.584, 16.46]]]}
REFUSALS = [
    ("post", ITEMS, _feature(BOW_TIE), {}, 400, "invalid"),
    ("post", ITEMS, _feature({"type": "Point", "coordinates": [107.59, 16.46]}), {}, 400, "geometry_type"),
    ("post", ITEMS, _feature({"type": "Polygon", "coordinates": [[[1, 2], [3]]]}), {}, 400, None),
    ("post", ITEMS, _feature({"type": "Polygon", "coordinates": [[[200, 16], [201, 16], [201, 17], [200, 16]]]}), {},
     400, "out_of_range"),
    ("post", ITEMS, _feature(ma="X", chu_dau_tu="?"), {}, 400, "unknown"),
    ("post", ITEMS, _feature(tang="ba"), {}, 400, "type"),
    ("post", ITEMS, _feature(tang=True), {}, 400, "type"),
    ("post", ITEMS, _feature(tang=2**40), {}, 400, "type"),
    ("post", ITEMS, {"type": "FeatureCollection", "features": []}, {}, 400, None),
    ("post", ITEMS, _feature(), {"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/2154>"}, 400, None),
    ("put", ITEMS + "/1", {**_feature(ma="A"), "id": 2}, {"If-Match": "*"}, 400, "id_mismatch"),
    ("put", ITEMS + "/1", _feature(), {"If-Match": '"0"'}, 412, None),
    ("patch", ITEMS + "/1", {"properties": {"tang": 1.5}}, {"If-Match": "*"}, 400, "type"),
    # A write that does not say which version it changes (428, RFC 6585); If-Match: * says "any".
    ("put", ITEMS + "/1", _feature(), {}, 428, None),
    ("patch", ITEMS + "/1", {"properties": {"tang": 4}}, {}, 428, None),
    ("delete", ITEMS + "/1", None, {}, 428, None),
    ("patch", ITEMS + "/9", {"properties": {"tang": 1}}, {}, 404, None),
    ("delete", ITEMS + "/1", None, {"If-Match": '"123456"'}, 412, None),
    ("delete", "/ogc/collections/lo/items/abc", None, {}, 404, None),
]


def test_bad_edits_are_refused_and_change_nothing(client, lo, auth_headers, db):
    planner = auth_headers("planner")
    for method, url, body, headers, status, reason in REFUSALS:
        before = _state(db)
        resp = getattr(client, method)(url, json=body, headers={**planner, **headers})
        assert resp.status_code == status, (url, body, resp.get_json())
        error = resp.get_json()["error"]
        assert error["message"]
        if reason:
            assert error["details"]["reason"] == reason, error
        if status == 428:
            assert error["code"] == "precondition_required" and "If-Match" in error["message"]
            assert error["details"]["header"] == "If-Match"
        if status == 412:
            current = client.get(f"{ITEMS}/1")
            assert resp.headers["ETag"] == current.headers["ETag"] == error["details"]["etag"]
            assert error["details"]["current"]["properties"] == current.get_json()["properties"]
        assert _state(db) == before, (url, body)


def test_invalid_geometry_says_why_and_who_may_edit(client, lo, auth_headers, db):
    resp = client.post(ITEMS, json=_feature(BOW_TIE), headers=auth_headers("planner"))
    assert "Self-intersection" in resp.get_json()["error"]["message"]
    before = _state(db)
    for headers, status in (({}, 401), (auth_headers("officer"), 403), (auth_headers("leader"), 403)):
        assert client.post(ITEMS, json=_feature(), headers=headers).status_code == status
        assert client.delete(f"{ITEMS}/1", headers=headers).status_code == status
    # A feature of another layer is not this layer's; an oversize body is refused before it is read.
    assert client.delete("/ogc/collections/khac/items/3", headers=auth_headers("planner")).status_code == 404
    huge = json.dumps(_feature()).replace('"properties"', '"pad": "' + "x" * (6 * 1024 * 1024) + '", "properties"')
    resp = client.post(ITEMS, data=huge, content_type="application/geo+json", headers=auth_headers("planner"))
    assert resp.status_code == 413
    assert _state(db) == before


def test_a_body_in_another_crs_lands_where_pyproj_puts_it(client, lo, auth_headers, db):
    """VN-2000 TM-3 107° (EPSG:9214) and EPSG:4326 (latitude first) bodies, stored within a centimetre."""
    planner = auth_headers("planner")
    to_tm3 = Transformer.from_crs(4326, vn2000_tm(107.0), always_xy=True)
    lon, lat = 107.5912, 16.4655
    corners = [(lon, lat), (lon + 0.001, lat), (lon + 0.001, lat + 0.001), (lon, lat + 0.001), (lon, lat)]
    ring = [list(to_tm3.transform(x, y)) for x, y in corners]
    resp = client.post(ITEMS, json=_feature({"type": "Polygon", "coordinates": [ring]}, ma="VN"),
                       headers={**planner, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9214>"})
    assert resp.status_code == 201, resp.get_json()
    stored = shape(resp.get_json()["geometry"])
    for (x, y), (sx, sy) in zip(corners, stored.exterior.coords, strict=True):
        assert abs(x - sx) * 106_000 < 0.01 and abs(y - sy) * 110_600 < 0.01
    lat_lon = {"type": "Polygon", "coordinates": [[[y, x] for x, y in corners]]}
    resp = client.post(ITEMS, json=_feature(lat_lon, ma="LL"),
                       headers={**planner, "Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/4326>"})
    assert resp.status_code == 201
    expected = shape({"type": "Polygon", "coordinates": [corners]})
    assert shape(resp.get_json()["geometry"]).normalize().equals_exact(expected.normalize(), 1e-9)


def test_history_from_the_command_line_and_pruning(client, lo, auth_headers, cli, tmp_path, db):
    planner = auth_headers("planner")
    client.patch(f"{ITEMS}/1", json={"properties": {"tang": 9}}, headers=version(client, 1, planner))
    gpd.GeoDataFrame({"ten": ["Mới"]}, geometry=[box(107.581, 16.461, 107.582, 16.462)],
                     crs=4326).to_file(tmp_path / "new.geojson")
    import_layer(db, tmp_path / "new.geojson", ImportOptions(name="lo", replace=True))
    db.commit()
    imported = iso(changes(db)[0].at)
    log = cli("layers", "history", "log", "lo")
    assert log.exit_code == 0 and [line.split("\t")[3] for line in log.output.splitlines()] == [
        "replace", "update", "import"]
    size = cli("layers", "history", "size")
    row = next(line.split("\t") for line in size.output.splitlines() if line.startswith("lo\t"))
    assert float(row[2]) > 0 and row[3:] == ["1", "1"]  # one earlier state, one replaced table
    restored = cli("layers", "history", "restore", "lo", "--at", imported, "--comment", "back to the first plan")
    assert restored.exit_code == 0, restored.output
    assert sorted(features_of(client)) == [1, 2, 3]
    assert cli("layers", "history", "restore", "lo", "--at", "soon").exit_code != 0
    client.patch(f"{ITEMS}/2", json={"properties": {"tang": 7}}, headers={**planner, "If-Match": "*"})
    # Pruning forgets the past before the instant, and says so; the log stays.
    pruned = cli("layers", "history", "prune", "--before", iso(datetime.now(UTC)), "--yes")
    assert pruned.exit_code == 0 and "dropped 2 replaced table(s), deleted 1 earlier state(s)" in pruned.output
    assert features_of(client, f"&at={imported}") == {}
    assert features_of(client)[2]["properties"]["tang"] == 7
    assert len(cli("layers", "history", "log", "lo").output.splitlines()) == 5


def test_two_planners_editing_the_same_version_one_wins(app, lo, auth_headers, db):
    """Concurrent edits of one feature from the same version: the layer's lock orders them, the second finds
    its If-Match stale and gets the winner's version back; nothing is half-written."""
    first, second = auth_headers("planner"), auth_headers("planner")
    etag = app.test_client().get(f"{ITEMS}/1").headers["ETag"]
    barrier = threading.Barrier(2)
    answers = {}

    def edit(name, headers, storeys):
        client = app.test_client()
        barrier.wait()
        answers[name] = client.patch(f"{ITEMS}/1", json={"properties": {"tang": storeys}},
                                     headers={**headers, "If-Match": etag})

    threads = [threading.Thread(target=edit, args=("a", first, 7)),
               threading.Thread(target=edit, args=("b", second, 8))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    statuses = sorted(r.status_code for r in answers.values())
    assert statuses == [200, 412], statuses
    winner = next(r for r in answers.values() if r.status_code == 200)
    loser = next(r for r in answers.values() if r.status_code == 412)
    assert loser.get_json()["error"]["details"]["current"]["properties"]["tang"] == winner.get_json()["properties"][
        "tang"]
    assert [c.kind for c in changes(db)] == ["import", "update"]
