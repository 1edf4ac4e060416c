"""Map layers benchmark: gisserver beside tipg, pygeoapi and the same queries run straight in PostGIS.

    GISSERVER_DATA_DIR=var .venv/bin/python bench/layers_bench.py [--duration 15] [--connections 8]

Steps, all in one run on 127.0.0.1:
1. a fresh database (gisserver_bench_layers) with 200,000 parcel polygons and 1,000,000 points around Hue,
   built deterministically in PostGIS (bench/synthetic.sql) and written to GeoPackages with ogr2ogr;
2. import benchmark: `gisserver layers import` of the parcel GeoPackage vs `ogr2ogr -f PostgreSQL` of the same
   file into the same database (three alternating rounds, best of each; our later rounds replace the data);
   the points are imported the same way, so both layers are in our catalog;
3. our server (`gisserver serve`, gunicorn), tipg (uvicorn) and pygeoapi (gunicorn) started on the same tables,
   each with the same number of worker processes; tipg and pygeoapi come from PyPI into bench/.venv-peers
   (pinned in bench/peers-requirements.txt);
4. wrk (Debian package `wrk`) drives each server with the same fixed URL list and concurrency, and pgbench runs
   the equivalent SQL with the same concurrency; the table gives requests/s, p50/p95 and ratios;
5. paging: one page of 10 points (GDAL's page size) at offset 0 and at offset 100,000, by offset and by the
   cursor of the `next` links, with and without a bbox filter, one client (wrk -c 1): a page's cost is its latency;
6. download: the whole 1,000,000-point layer through our OGC API with GDAL's default paging (`ogr2ogr` from
   OAPIF:, following the next links) beside `ogr2ogr` reading the same table straight from PostgreSQL;
7. last, the parcel GeoPackage is uploaded to our running server (`PUT /api/layers/parcels/data`, as a planner's
   upload) three times, alternating with ogr2ogr again: the import without the CLI's Python start-up.

`--only paging,download` runs steps 5 and 6 alone (with gisserver only, no peers needed); `--only import` runs
steps 1, 2 and 7 (the import and the upload against ogr2ogr, gisserver only). Steps 2 and 7 run with every
selection unless --reuse-data.

tipg is set to our tile parameters (4096 extent, 64 px buffer, no feature cap) so that both build the same tiles.
pygeoapi 0.21 has an MVT provider for PostgreSQL (MVT-postgresql), but its query cannot use the GiST index of an
EPSG:4326 column, so it gets one timed tile probe instead of a load run (see PROBE_TIMEOUT).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from gisserver.core.cluster import private_cluster
from gisserver.core.config import Settings
from gisserver.migrate import upgrade

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PEERS_VENV = HERE / ".venv-peers"
DATABASE = "gisserver_bench_layers"
OURS_PORT, TIPG_PORT, PYGEOAPI_PORT = 5110, 8081, 8082

# The request sets. Items: 256 bboxes of 0.005 deg (~550 m) spread over the data; tiles: every z14 tile inside
# the data's extent. Both are formulas of an index i, so that pgbench computes the same set as the URL lists.
N_BBOXES = 256
BBOX_SIZE = 0.005
ITEMS_LIMIT = 100
ZOOM = 14
DATA_EXTENT = (107.49, 16.38, 107.69, 16.54)


def bbox_of(i: int) -> tuple[float, float, float, float]:
    x = 107.50 + ((i * 37) % N_BBOXES) * 0.18 / N_BBOXES
    y = 16.39 + ((i * 101) % N_BBOXES) * 0.14 / N_BBOXES
    return x, y, x + BBOX_SIZE, y + BBOX_SIZE


def tile_range() -> tuple[int, int, int, int]:
    """(x0, y0, nx, ny) of the z14 tiles lying wholly inside the data extent."""
    n = 2**ZOOM

    def tx(lon):
        return (lon + 180) / 360 * n

    def ty(lat):
        return (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n

    minx, miny, maxx, maxy = DATA_EXTENT
    x0, x1 = math.ceil(tx(minx)), math.floor(tx(maxx)) - 1
    y0, y1 = math.ceil(ty(maxy)), math.floor(ty(miny)) - 1
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def tiles() -> list[tuple[int, int]]:
    x0, y0, nx, ny = tile_range()
    return [(x0 + i % nx, y0 + i // nx) for i in range(nx * ny)]


# -- helpers ------------------------------------------------------------------------------------------------


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(argv: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(argv[:4])} ...\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result


def timed(argv: list[str], env: dict | None = None) -> float:
    started = time.perf_counter()
    run(argv, env=env)
    return time.perf_counter() - started


@dataclass
class Db:
    host: str
    port: int
    name: str
    user: str
    password: str

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} dbname={self.name} user={self.user} password={self.password}"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{self.name}"

    @property
    def ogr(self) -> str:
        return f"PG:{self.dsn}"


def prepare_database(settings: Settings, reuse: bool) -> Db:
    cluster = private_cluster(settings)
    cluster.up()
    secrets = cluster._secrets()
    db = Db("127.0.0.1", cluster.port, DATABASE, "gisserver", secrets["app_password"])
    if reuse:
        return db
    say(f"fresh database {DATABASE}")
    upgrade(cluster.recreate_database(DATABASE))
    started = time.perf_counter()
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute((HERE / "synthetic.sql").read_text())
    say(f"synthetic data built in PostGIS in {time.perf_counter() - started:.0f} s")
    WORK.mkdir(exist_ok=True)
    for name, kind in (("parcels", "POLYGON"), ("points", "POINT")):
        target = WORK / f"{name}.gpkg"
        target.unlink(missing_ok=True)
        run(["ogr2ogr", "-f", "GPKG", str(target), db.ogr, f"bench_src.{name}", "-nln", name, "-nlt", kind,
             "-sql", f"SELECT * FROM bench_src.{name} ORDER BY id"])  # noqa: S608 - our fixed table names
    say("GeoPackages written: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.0f} MB" for p in WORK.glob("*.gpkg")))
    return db


def our_env(settings: Settings) -> dict:
    env = os.environ | {"GISSERVER_DATA_DIR": str(settings.data_dir), "GISSERVER_PG_DATABASE": DATABASE}
    env.pop("GISSERVER_DATABASE_URL", None)
    return env


def against_ogr2ogr(db: Db, rounds: int, ours_in_round, label: str) -> dict:
    """Alternating rounds of `ogr2ogr -f PostgreSQL` of the parcel GeoPackage (into a scratch schema of the same
    database) and of our import, timed by *ours_in_round(r)*: {"ours": [...], "ogr2ogr": [...]}."""
    gpkg = str(WORK / "parcels.gpkg")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS bench_ogr CASCADE")
        conn.execute("CREATE SCHEMA bench_ogr")
    ours, ogr = [], []
    for r in range(rounds):
        ogr.append(timed(["ogr2ogr", "-f", "PostgreSQL", db.ogr, gpkg, "parcels", "-nln", f"bench_ogr.parcels_{r}",
                          "-lco", "GEOMETRY_NAME=geom", "-lco", "SPATIAL_INDEX=GIST", "--config", "PG_USE_COPY",
                          "YES"]))
        ours.append(ours_in_round(r))
        say(f"{label} round {r + 1}: ogr2ogr {ogr[-1]:.1f} s, gisserver {ours[-1]:.1f} s")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA bench_ogr CASCADE")
    return {"ours": ours, "ogr2ogr": ogr}


def import_benchmark(db: Db, env: dict, rounds: int) -> dict:
    """`gisserver layers import` vs `ogr2ogr -f PostgreSQL` of the same GeoPackage into the same database."""
    gisserver = str(ROOT / ".venv" / "bin" / "gisserver")
    gpkg = str(WORK / "parcels.gpkg")

    def ours(r: int) -> float:
        argv = [gisserver, "layers", "import", gpkg, "--name", "parcels", "--title", "Lô đất (tổng hợp)",
                "--category", "planning"] + (["--replace"] if r else [])
        return timed(argv, env=env)

    result = against_ogr2ogr(db, rounds, ours, "import")
    points = timed([gisserver, "layers", "import", str(WORK / "points.gpkg"), "--name", "points", "--title",
                    "Điểm hạ tầng (tổng hợp)", "--category", "infrastructure"], env=env)
    say(f"points (1,000,000) imported by gisserver in {points:.1f} s")
    return result | {"points": points}


def upload_benchmark(db: Db, env: dict, port: int, rounds: int) -> dict:
    """The same GeoPackage sent to the running server (`PUT /api/layers/parcels/data`, as a planner's upload does)
    vs ogr2ogr again, alternating: the server has Python and its libraries loaded already, the CLI pays for that
    start-up (about a second) on every import."""
    gisserver = str(ROOT / ".venv" / "bin" / "gisserver")
    run([gisserver, "users", "create", "bench-planner", "--role", "planner", "--password", "bench-password-2025"],
        env=env)
    token = run([gisserver, "tokens", "issue", "bench-upload", "--user", "bench-planner"], env=env).stdout.split()[-1]
    gpkg = str(WORK / "parcels.gpkg")
    return against_ogr2ogr(db, rounds, lambda r: timed(
        ["curl", "--silent", "--show-error", "--fail", "--output", "/dev/null", "-X", "PUT",
         "-H", f"Authorization: Bearer {token}", "-F", f"file=@{gpkg}",
         f"http://127.0.0.1:{port}/api/layers/parcels/data"]), "upload")


# -- servers -------------------------------------------------------------------------------------------------


@dataclass
class Layer:
    name: str
    table: str  # layer_data.l<id>_v<version>
    columns: list[tuple[str, str]]  # (original name, column)


def catalog(db: Db) -> dict[str, Layer]:
    with psycopg.connect(db.dsn) as conn:
        rows = conn.execute("SELECT name, data_table, attributes FROM layers WHERE name IN ('parcels', 'points')")
        return {name: Layer(name, f"layer_data.{table}", [(a["name"], a["column"]) for a in attributes])
                for name, table, attributes in rows}


def pygeoapi_config(db: Db, layers: dict[str, Layer], path: Path) -> None:
    connection = {"host": db.host, "port": db.port, "dbname": db.name, "user": db.user, "password": db.password,
                  "search_path": ["layer_data", "public"]}
    resources = {}
    for layer in layers.values():
        table = layer.table.split(".", 1)[1]
        # Only the file's attributes: the layer table also keeps its geometry in Web Mercator (for tiles),
        # which pygeoapi would otherwise try to put in the properties.
        base = {"data": connection, "id_field": "fid", "table": table, "geom_field": "geom",
                "properties": [column for _, column in layer.columns]}
        resources[layer.name] = {
            "type": "collection", "title": layer.name, "description": layer.name, "keywords": ["bench"],
            "extents": {"spatial": {"bbox": list(DATA_EXTENT), "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [
                {"type": "feature", "name": "PostgreSQL", **base},
                {"type": "tile", "name": "MVT-postgresql", **base,
                 "options": {"zoom": {"min": 0, "max": 22}},  # a "schemes" list breaks its engine cache
                 "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"}},
            ],
        }
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": PYGEOAPI_PORT}, "url": f"http://127.0.0.1:{PYGEOAPI_PORT}",
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8", "languages": ["en-US"],
                   "limits": {"default_items": 10, "max_items": 10000}, "pretty_print": False,
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "none"}},
        "logging": {"level": "WARNING"},
        "metadata": {
            "identification": {"title": "bench", "description": "bench", "keywords": ["bench"],
                               "url": "http://127.0.0.1", "terms_of_service": "none"},
            "license": {"name": "CC-BY 4.0", "url": "http://127.0.0.1"},
            "provider": {"name": "bench", "url": "http://127.0.0.1"},
            "contact": {k: "bench" for k in ("name", "position", "address", "city", "stateorprovince", "postalCode",
                                             "country", "phone", "fax", "email", "url", "hours", "instructions",
                                             "role")},
        },
        "resources": resources,
    }
    path.write_text(json.dumps(config, ensure_ascii=False, indent=1))  # JSON is YAML


@dataclass
class Server:
    name: str
    argv: list[str]
    env: dict
    port: int
    health: str
    cwd: Path = WORK
    process: subprocess.Popen | None = None
    log: Path | None = None

    def start(self) -> None:
        self.log = WORK / f"{self.name}.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"{self.name} exited; see {self.log}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{self.health}", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.5)
        sys.exit(f"{self.name} did not answer on :{self.port}; see {self.log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def servers(db: Db, layers: dict[str, Layer], settings: Settings, workers: int, peers: bool = True) -> list[Server]:
    peers_bin = PEERS_VENV / "bin"
    ours = Server("gisserver", [str(ROOT / ".venv" / "bin" / "gisserver"), "serve", "--port", str(OURS_PORT),
                                "--workers", str(workers)], our_env(settings), OURS_PORT, "/health")
    if not peers:
        return [ours]
    # tipg's tile parameters are set to ours (4096 extent, 64 px buffer, no feature cap) so that both build the
    # same tiles; everything else is tipg's default.
    tipg_env = os.environ | {
        "DATABASE_URL": db.url, "TIPG_DB_SCHEMAS": '["layer_data"]',
        "TIPG_DB_TABLES": json.dumps([layer.table for layer in layers.values()]),
        "TIPG_TILE_BUFFER": "64", "TIPG_MAX_FEATURES_PER_TILE": "1000000",
        "TIPG_DB_MAX_CONN_SIZE": "10",
    }
    tipg = Server("tipg", [str(peers_bin / "uvicorn"), "tipg.main:app", "--host", "127.0.0.1", "--port",
                           str(TIPG_PORT), "--workers", str(workers)], tipg_env, TIPG_PORT, "/healthz")
    config = WORK / "pygeoapi-config.yml"
    pygeoapi_config(db, layers, config)
    openapi = WORK / "pygeoapi-openapi.yml"
    run([str(peers_bin / "pygeoapi"), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env=os.environ | {"PYGEOAPI_CONFIG": str(config)}, cwd=WORK)
    pygeoapi = Server("pygeoapi", [str(peers_bin / "gunicorn"), "--bind", f"127.0.0.1:{PYGEOAPI_PORT}", "--workers",
                                   str(workers), "--worker-class", "gthread", "--threads", "4",
                                   "pygeoapi.flask_app:APP"],
                      os.environ | {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)},
                      PYGEOAPI_PORT, "/conformance?f=json")
    return [ours, tipg, pygeoapi]


# -- request sets ----------------------------------------------------------------------------------------------


def bbox_text(i: int) -> str:
    return ",".join(f"{v:.6f}" for v in bbox_of(i))


def url_lists(layers: dict[str, Layer]) -> dict[tuple[str, str, str], list[str]]:
    """(workload, layer, target) -> URL paths."""
    lists = {}
    for layer in layers.values():
        tipg_id = layer.table
        q = [f"limit={ITEMS_LIMIT}&bbox={bbox_text(i)}" for i in range(N_BBOXES)]
        lists[("items", layer.name, "gisserver")] = [f"/ogc/collections/{layer.name}/items?{s}" for s in q]
        lists[("items", layer.name, "tipg")] = [f"/collections/{tipg_id}/items?{s}" for s in q]
        lists[("items", layer.name, "pygeoapi")] = [f"/collections/{layer.name}/items?f=json&{s}" for s in q]
        t = tiles()
        # OGC API - Tiles: tileMatrix/tileRow/tileCol, that is z/y/x (the XYZ form is /api/layers/<name>/tiles/).
        lists[("tiles", layer.name, "gisserver")] = [
            f"/ogc/collections/{layer.name}/tiles/WebMercatorQuad/{ZOOM}/{y}/{x}" for x, y in t]
        lists[("tiles", layer.name, "tipg")] = [
            f"/collections/{tipg_id}/tiles/WebMercatorQuad/{ZOOM}/{x}/{y}" for x, y in t]
        # pygeoapi's path is tileMatrix/tileRow/tileCol, that is z/y/x.
        lists[("tiles", layer.name, "pygeoapi")] = [
            f"/collections/{layer.name}/tiles/WebMercatorQuad/{ZOOM}/{y}/{x}?f=mvt" for x, y in t]
    return lists


def our_items_sql(db: Db, name: str) -> str:
    """The statement our server sends for a bbox items page of *name* (layers/features.py: the page, its count, its
    links and the catalog check, as one text), with the bbox as pgbench variables and the other values as our server
    would bind them for the same request. Taken from the server's own code, so that pgbench runs the same query."""
    from layers import features, served

    base = (f"http://127.0.0.1:{OURS_PORT}/ogc/collections/{name}/items?limit={ITEMS_LIMIT}"
            "&bbox=107.5%2C16.4%2C107.505%2C16.405")
    links = json.dumps([{"href": base, "rel": "self", "type": "application/geo+json"},
                        {"href": base + "&f=html", "rel": "alternate", "type": "text/html"},
                        {"href": base.split("/items")[0], "rel": "collection", "type": "application/json"}])[1:-1]
    with _our_connection(db) as (conn, raw):
        entry = served.served(conn, name)
        sql, constants = features.plain_page_sql(entry, with_bbox=True)
        sql = _inline(sql, {**constants, "limit": ITEMS_LIMIT, "offset": 0, "after": 0, "count_limit": 10_000,
                            "catalog_count": entry.feature_count, "stamp": "2026-01-01T00:00:00Z", "links": links,
                            "next_head": json.dumps({"href": base + "&cursor="})[:-2],
                            "next_tail": '", "rel": "next"}', **entry.check_params(False)}, raw)
    for corner in ("minx", "miny", "maxx", "maxy"):
        sql = sql.replace(f"%({corner})s", f":{corner}")
    return sql.replace("%%", "%")


def our_tile_sql(db: Db, name: str) -> str:
    """The statement our server sends for a z14 tile of *name* (the catalog check and ST_AsMVT, layers/tiles.py),
    with the tile's column and row as pgbench variables."""
    from layers import served, tiles

    with _our_connection(db) as (conn, raw):
        entry = served.served(conn, name)
        sql, constants = tiles.tile_sql(entry.table, entry.geometry_type, entry.name, ZOOM, checked=True)
        sql = _inline(sql, {**constants, **entry.check_params(False)}, raw)
    return sql.replace("%(tile_x)s", ":x").replace("%(tile_y)s", ":y").replace("%%", "%")


@contextmanager
def _our_connection(db: Db):
    from sqlalchemy import create_engine

    engine = create_engine(db.url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            yield conn, conn.connection.driver_connection
    finally:
        engine.dispose()


def _inline(sql: str, values: dict, raw) -> str:
    """*sql* (psycopg's %(name)s placeholders) with *values* written in as SQL literals, as pgbench sends text."""
    for key, value in values.items():
        sql = sql.replace(f"%({key})s", psycopg.sql.Literal(value).as_string(raw))
    return sql


def pgbench_scripts(db: Db, layers: dict[str, Layer]) -> dict[tuple[str, str], str]:
    """The SQL a server has to ask of PostGIS for one request, as pgbench scripts over the same request sets."""
    x0, y0, nx, ny = tile_range()
    scripts = {}
    for layer in layers.values():
        # One statement: the page of features, numberMatched, the links and the catalog check, as the server sends
        # it. Polygons are served snapped to the 7-decimal grid and checked to stay valid there
        # (layers/features.py served_geometry).
        scripts[("items", layer.name)] = f"""\\set i random(0, {N_BBOXES - 1})
\\set minx 107.50 + ((:i * 37) % {N_BBOXES}) * 0.18 / {N_BBOXES}.0
\\set miny 16.39 + ((:i * 101) % {N_BBOXES}) * 0.14 / {N_BBOXES}.0
\\set maxx :minx + {BBOX_SIZE}
\\set maxy :miny + {BBOX_SIZE}
{our_items_sql(db, layer.name)};
"""
        # One statement: the catalog check and the tile, as the server sends it for this layer (layers/tiles.py).
        scripts[("tiles", layer.name)] = f"""\\set i random(0, {nx * ny - 1})
\\set x {x0} + :i % {nx}
\\set y {y0} + :i / {nx}
{our_tile_sql(db, layer.name)};
"""
    return scripts


# -- sanity: every target answers the same request the same way -------------------------------------------------


def fetch(port: int, path: str, timeout: float = 60) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


# pygeoapi 0.21's MVT-postgresql provider compares the 4326 column with the tile envelope transformed to
# 'OGC:CRS84' by name, which PostGIS cannot answer from the GiST index: every tile reads and encodes the whole
# table (over a minute for the points). It gets one timed probe per layer instead of a load run.
PROBE_TIMEOUT = 30


def check_answers(lists, ports: dict[str, int]) -> dict:
    """Feature counts of the first requests of each list, per target, to show all do the same work."""
    import mapbox_vector_tile

    seen = {}
    for (workload, layer, target), paths in lists.items():
        counts = []
        if workload == "tiles" and target == "pygeoapi":
            started = time.perf_counter()
            try:
                status, body = fetch(ports[target], paths[0], timeout=PROBE_TIMEOUT)
                counts.append(f"one tile: HTTP {status} in {time.perf_counter() - started:.1f} s")
            except TimeoutError:
                counts.append(f"one tile: no answer within {PROBE_TIMEOUT} s")
            seen[(workload, layer, target)] = counts
            continue
        for path in paths[:3]:
            status, body = fetch(ports[target], path)
            if status != 200:
                sys.exit(f"{target} answered {status} to {path}: {body[:500]!r}")
            if workload == "items":
                doc = json.loads(body)
                counts.append((len(doc["features"]), doc.get("numberMatched")))
            else:
                decoded = mapbox_vector_tile.decode(body)
                counts.append(sum(len(v["features"]) for v in decoded.values()))
        seen[(workload, layer, target)] = counts
    return seen


# -- load ----------------------------------------------------------------------------------------------------


@dataclass
class Result:
    rps: float
    p50_ms: float
    p95_ms: float
    errors: int
    requests: int = 0
    seconds: float = 0.0


def combine(parts: list[Result]) -> Result:
    """Rounds of one target: requests/s over all of them; latency percentiles as the rounds' medians."""
    requests, seconds = sum(p.requests for p in parts), sum(p.seconds for p in parts)
    return Result(requests / seconds, statistics.median(p.p50_ms for p in parts),
                  statistics.median(p.p95_ms for p in parts), sum(p.errors for p in parts), requests, seconds)


def drain(db: Db, timeout: float = 10) -> None:
    """Wait until no server still works on an earlier request, then cancel what is left, before measuring."""
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        deadline = time.monotonic() + timeout
        busy = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                "AND pid <> pg_backend_pid()")
        while conn.execute(busy).fetchall() and time.monotonic() < deadline:
            time.sleep(0.5)
        for (pid,) in conn.execute(busy).fetchall():
            conn.execute("SELECT pg_cancel_backend(%s)", (pid,))


def wrk(port: int, paths: list[str], duration: int, connections: int, threads: int) -> Result:
    url_file = WORK / "urls.txt"
    url_file.write_text("\n".join(paths) + "\n")
    out = run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "30s",
               "-s", str(HERE / "wrk_urls.lua"), f"http://127.0.0.1:{port}", "--", str(url_file)]).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    seconds = r["duration_us"] / 1e6
    return Result(r["requests"] / seconds, r["p50_us"] / 1000, r["p95_us"] / 1000,
                  r["status_errors"] + r["socket_errors"], r["requests"], seconds)


def pgbench(db: Db, script: str, duration: int, connections: int, threads: int, mode: str = "prepared") -> Result:
    logs = WORK / "pgbench"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir()
    script_file = WORK / "query.sql"
    script_file.write_text(script)
    env = os.environ | {"PGPASSWORD": db.password}
    out = run(["pgbench", "-n", "-M", mode, "-h", db.host, "-p", str(db.port), "-U", db.user, "-c", str(connections),
               "-j", str(threads), "-T", str(duration), "-f", str(script_file), "-l", "--log-prefix",
               str(logs / "tx"), db.name], env=env).stdout
    latencies = []
    for log in logs.iterdir():
        latencies += [int(line.split()[2]) for line in log.read_text().splitlines() if line]
    failed = next((int(line.split(":")[1].split()[0]) for line in out.splitlines()
                   if line.startswith("number of failed transactions")), 0)
    q = statistics.quantiles(latencies, n=100)
    return Result(len(latencies) / duration, q[49] / 1000, q[94] / 1000, failed, len(latencies), duration)


WORKLOADS = ("items", "tiles", "paging", "download", "import")
LOAD_AT_START = 0.0


# -- paging and the full download ---------------------------------------------------------------------------

PAGE = 10  # GDAL's OAPIF page size when none is asked for
DEEP = 100_000
# A bbox holding all but a 0.02-degree strip of the data: a real filter that matches 90% of the points (one
# holding the whole layer is no filter at all, and is answered as unfiltered).
ALL_DATA = ",".join(f"{v:g}" for v in (*DATA_EXTENT[:2], DATA_EXTENT[2] - 0.02, DATA_EXTENT[3]))
PAGING_CASES = {
    # name: (URL query of the i-th request, the case it is compared with)
    "offset 0": (lambda i: f"limit={PAGE}&offset={i * PAGE}", None),
    f"offset {DEEP:,}": (lambda i: f"limit={PAGE}&offset={DEEP + i * PAGE}", "offset 0"),
    f"cursor {DEEP:,} (next links)": (lambda i: f"limit={PAGE}&cursor={DEEP + i * PAGE}", "offset 0"),
    "bbox, offset 0": (lambda i: f"limit={PAGE}&bbox={ALL_DATA}&offset={i * PAGE}", None),
    f"bbox, offset {DEEP:,}": (lambda i: f"limit={PAGE}&bbox={ALL_DATA}&offset={DEEP + i * PAGE}", "bbox, offset 0"),
    f"bbox, cursor {DEEP:,} (next links)": (lambda i: f"limit={PAGE}&bbox={ALL_DATA}&cursor={DEEP + i * PAGE}",
                                            "bbox, offset 0"),
}


def paging_benchmark(db: Db, port: int, args) -> dict[str, Result]:
    """One client asking for pages of the points layer, each case in alternating rounds: a page's latency is what it
    costs, deep or not."""
    lists = {name: [f"/ogc/collections/points/items?{query(i)}" for i in range(N_BBOXES)]
             for name, (query, _) in PAGING_CASES.items()}
    for name, paths in lists.items():
        status, body = fetch(port, paths[0])
        if status != 200 or len(json.loads(body)["features"]) != PAGE:
            sys.exit(f"paging case {name!r} answered {status}: {body[:300]!r}")
    rounds = {name: [] for name in lists}
    for _ in range(args.rounds):
        for name, paths in lists.items():
            drain(db)
            rounds[name].append(wrk(port, paths, max(1, args.duration // args.rounds), 1, 1))
    results = {name: combine(parts) for name, parts in rounds.items()}
    for name, r in results.items():
        say(f"paging {name}: p50 {r.p50_ms:.2f} ms, {r.rps:.0f} pages/s")
    return results


def _requests_in_log(server: Server, path: str) -> int:
    return sum(path in line for line in server.log.read_text(errors="replace").splitlines())


def download_benchmark(db: Db, layer: Layer, ours: Server) -> dict:
    """The whole points layer through our OGC API with GDAL's default paging (it follows the next links), and the
    same table read by ogr2ogr straight from PostgreSQL; both written to a GeoPackage."""
    through_api, direct = WORK / "download_oapif.gpkg", WORK / "download_pg.gpkg"
    for target in (through_api, direct):
        target.unlink(missing_ok=True)
    items_path = f"/ogc/collections/{layer.name}/items"
    before = _requests_in_log(ours, items_path)
    say(f"downloading {layer.name} through OAPIF with GDAL's default paging (minutes: a request per {PAGE} points)")
    api_seconds = timed(["ogr2ogr", "-f", "GPKG", str(through_api), f"OAPIF:http://127.0.0.1:{ours.port}/ogc",
                         layer.name, "-nln", layer.name])
    requests = _requests_in_log(ours, items_path) - before
    big_pages = WORK / "download_oapif_10000.gpkg"
    big_pages.unlink(missing_ok=True)
    big_seconds = timed(["ogr2ogr", "-f", "GPKG", str(big_pages), f"OAPIF:http://127.0.0.1:{ours.port}/ogc",
                         layer.name, "-nln", layer.name, "-oo", "PAGE_SIZE=10000"])
    columns = ", ".join(f'{column} AS "{name}"' for name, column in layer.columns)
    sql = f"SELECT fid, geom, {columns} FROM {layer.table} ORDER BY fid"  # noqa: S608 - our catalog's names
    direct_seconds = timed(["ogr2ogr", "-f", "GPKG", str(direct), db.ogr, "-sql", sql, "-nln", layer.name])
    counts = []
    for target in (through_api, direct, big_pages):
        info = run(["ogrinfo", "-ro", "-so", str(target), layer.name]).stdout
        counts.append(next(int(line.split(":")[1]) for line in info.splitlines() if "Feature Count" in line))
    say(f"download: OAPIF {api_seconds:.0f} s over {requests} requests, PostgreSQL {direct_seconds:.1f} s")
    return {"api_seconds": api_seconds, "requests": requests, "direct_seconds": direct_seconds,
            "big_page_seconds": big_seconds, "features": counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds measured per target and workload")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds the duration is split into")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up before each measurement")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (wrk and pgbench)")
    parser.add_argument("--threads", type=int, default=2, help="wrk/pgbench client threads")
    parser.add_argument("--workers", type=int, default=5, help="worker processes of each server (ours: 2 x cores + 1)")
    parser.add_argument("--import-rounds", type=int, default=3,
                        help="alternating import rounds; the best of each counts")
    parser.add_argument("--reuse-data", action="store_true", help="keep the database and layers of the last run")
    parser.add_argument("--pgbench-mode", default="prepared", choices=("prepared", "extended", "simple"),
                        help="how pgbench sends the statements (our server's psycopg prepares the repeated ones)")
    parser.add_argument("--only", default="",
                        help="comma-separated workloads to run: items,tiles,paging,download,import (default: "
                             "all; the import and the upload run with any of them unless --reuse-data)")
    args = parser.parse_args()
    global LOAD_AT_START
    LOAD_AT_START = os.getloadavg()[0]
    selected = [w for w in WORKLOADS if not args.only or w in args.only.split(",")]
    with_peers = bool({"items", "tiles"} & set(selected))
    for tool in ("wrk", "pgbench", "ogr2ogr"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: apt-get install wrk postgresql-client gdal-bin")
    if with_peers and not (PEERS_VENV / "bin" / "tipg").exists() and not (PEERS_VENV / "bin" / "uvicorn").exists():
        sys.exit(f"install the peers first: python3 -m venv {PEERS_VENV} && "
                 f"{PEERS_VENV}/bin/pip install -r {HERE / 'peers-requirements.txt'}")
    WORK.mkdir(exist_ok=True)
    settings = Settings.from_env()
    db = prepare_database(settings, args.reuse_data)
    imports = None if args.reuse_data else import_benchmark(db, our_env(settings), args.import_rounds)
    layers = catalog(db)
    if set(layers) != {"parcels", "points"}:
        sys.exit("the catalog lacks the parcels/points layers: run without --reuse-data")
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for layer in layers.values():
            conn.execute(f"VACUUM ANALYZE {layer.table}")
    lists = url_lists(layers)
    scripts = pgbench_scripts(db, layers)
    started = servers(db, layers, settings, args.workers, peers=with_peers)
    if not with_peers:  # gisserver alone
        lists = {key: paths for key, paths in lists.items() if key[2] == "gisserver" and key[0] in selected}
    ports = {s.name: s.port for s in started}
    results: dict[tuple[str, str, str], Result] = {}
    paging, download = None, None
    try:
        for server in started:
            server.start()
        for server in started:
            server.wait()
        say("servers up: " + ", ".join(f"{s.name} :{s.port}" for s in started))
        answers = check_answers(lists, ports)
        drain(db)
        workloads = [w for w in ("items", "tiles") if w in selected]
        for workload in workloads:
            for layer in layers:
                targets = ["PostGIS", "gisserver", "tipg"] + (["pygeoapi"] if workload == "items" else [])

                def measure(target, seconds, workload=workload, layer=layer):
                    drain(db)
                    if target == "PostGIS":
                        return pgbench(db, scripts[(workload, layer)], seconds, args.connections, args.threads,
                                       args.pgbench_mode)
                    return wrk(ports[target], lists[(workload, layer, target)], seconds, args.connections,
                               args.threads)

                if args.warmup:
                    for target in targets:
                        measure(target, args.warmup)
                # Short alternating rounds, so that a change in the machine's background load hits all alike.
                rounds = {target: [] for target in targets}
                for _ in range(args.rounds):
                    for target in targets:
                        rounds[target].append(measure(target, max(1, args.duration // args.rounds)))
                for target in targets:
                    results[(workload, layer, target)] = combine(rounds[target])
                    say(f"{workload} {layer} {target}: {results[(workload, layer, target)].rps:.1f} req/s")
        if "paging" in selected:
            paging = paging_benchmark(db, ports["gisserver"], args)
        if "download" in selected:
            download = download_benchmark(db, layers["points"], started[0])
        # Last: it replaces the parcels' data table, which the peers were configured with.
        uploads = None if args.reuse_data else upload_benchmark(db, our_env(settings), ports["gisserver"],
                                                                 args.import_rounds)
    finally:
        for server in started:
            server.stop()
    report(args, imports, uploads, answers, results)
    report_paging(paging, download)


def report_paging(paging: dict[str, Result] | None, download: dict | None) -> None:
    if paging:
        print()
        print(f"| page of {PAGE} points (1,000,000-point layer), one client | p50 ms | p95 ms | pages/s | "
              "cost vs its offset-0 page |")
        print("|---|---|---|---|---|")
        for name, (_, baseline) in PAGING_CASES.items():
            r = paging[name]
            ratio = f"{r.p50_ms / paging[baseline].p50_ms:.2f}" if baseline else "1"
            goal = " (target <= 1.5)" if baseline == "offset 0" else ""
            print(f"| {name} | {r.p50_ms:.2f} | {r.p95_ms:.2f} | {r.rps:.0f} | {ratio}{goal} |")
    if download:
        print()
        print("| whole 1,000,000-point layer to a GeoPackage | seconds | requests | features |")
        print("|---|---|---|---|")
        print(f"| ogr2ogr from OAPIF: (GDAL's default page of {PAGE}, next links) | {download['api_seconds']:.0f} | "
              f"{download['requests']:,} | {download['features'][0]:,} |")
        print(f"| ogr2ogr from OAPIF: with -oo PAGE_SIZE=10000 | {download['big_page_seconds']:.0f} | "
              f"{math.ceil(download['features'][2] / 10000) + 1:,} | {download['features'][2]:,} |")
        print(f"| ogr2ogr from PostgreSQL (the same table) | {download['direct_seconds']:.1f} | - | "
              f"{download['features'][1]:,} |")


def report(args, imports, uploads, answers, results) -> None:
    print()
    print(f"Machine: {os.cpu_count()} cores, load average {LOAD_AT_START:.1f} at the start and "
          f"{os.getloadavg()[0]:.1f} at the end; wrk/pgbench -c {args.connections} -t/-j {args.threads}, pgbench -M "
          f"{args.pgbench_mode}, {args.duration} s per cell in {args.rounds} alternating rounds after {args.warmup} s "
          f"warm-up; {args.workers} worker processes per server.")
    if imports:
        best_ours, best_ogr = min(imports["ours"]), min(imports["ogr2ogr"])
        print()
        print("| import of 200,000 polygons (GeoPackage) | seconds (each round) | best |")
        print("|---|---|---|")
        print(f"| ogr2ogr -f PostgreSQL | {', '.join(f'{t:.1f}' for t in imports['ogr2ogr'])} | {best_ogr:.1f} |")
        print(f"| gisserver layers import | {', '.join(f'{t:.1f}' for t in imports['ours'])} | {best_ours:.1f} |")
        print(f"| ratio gisserver/ogr2ogr | | {best_ours / best_ogr:.2f} (target <= 1.5) |")
        if uploads:
            best_upload, best_ogr_again = min(uploads["ours"]), min(uploads["ogr2ogr"])
            print(f"| ogr2ogr -f PostgreSQL, again beside the uploads | "
                  f"{', '.join(f'{t:.1f}' for t in uploads['ogr2ogr'])} | {best_ogr_again:.1f} |")
            print(f"| upload to the running server (PUT /api/layers/parcels/data) | "
                  f"{', '.join(f'{t:.1f}' for t in uploads['ours'])} | {best_upload:.1f} |")
            print(f"| ratio upload/ogr2ogr | | {best_upload / best_ogr_again:.2f} (target <= 1.3) |")
        print(f"\n1,000,000 points imported by gisserver in {imports['points']:.1f} s.")
    if not results:
        return
    print()
    print("| workload | layer | target | req/s | p50 ms | p95 ms | errors | features per answer (first 3) |")
    print("|---|---|---|---|---|---|---|---|")
    for (workload, layer, target), r in results.items():
        counts = answers.get((workload, layer, target), "")
        print(f"| {workload} | {layer} | {target} | {r.rps:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | {r.errors} | "
              f"{counts} |")
    for (workload, layer, target), counts in answers.items():
        if workload == "tiles" and target == "pygeoapi":
            print(f"\npygeoapi (MVT-postgresql), tiles of {layer}: {counts[0]}; not load-tested.")
    print()
    print("| workload | layer | ours/tipg | ours/pygeoapi | ours/PostGIS | targets |")
    print("|---|---|---|---|---|---|")
    for workload, layer in sorted({(w, la) for w, la, _ in results}):
        ours = results[(workload, layer, "gisserver")].rps

        def ratio(target, ours=ours, workload=workload, layer=layer):
            other = results.get((workload, layer, target))
            return ours / other.rps if other and other.rps else float("nan")

        tipg, pygeoapi, raw = ratio("tipg"), ratio("pygeoapi"), ratio("PostGIS")
        if workload == "items":
            met = "met" if tipg >= 1 and raw >= 0.6 else "MISSED"
            goal = f">= 1 x tipg, >= 0.6 x PostGIS: {met}"
        else:
            met = "met" if tipg >= 1 and raw >= 0.95 else "MISSED"
            goal = f">= 1 x tipg, >= 0.95 x PostGIS: {met}"
        pygeoapi_text = "-" if math.isnan(pygeoapi) else f"{pygeoapi:.2f}"
        print(f"| {workload} | {layer} | {tipg:.2f} | {pygeoapi_text} | {raw:.2f} | {goal} |")


if __name__ == "__main__":
    main()
