"""What layer history costs today's reads: items and tiles of bench/layers_bench.py before history, with it, and
after many edits.

    GISSERVER_DATA_DIR=var .venv/bin/python bench/history_bench.py [--duration 30] [--rounds 5] [--reuse-data]

Issue 16's target: feature pages (and tiles) at most 5% slower with history on. Three servers' worth of the same
data (200,000 parcel polygons and 1,000,000 points, bench/synthetic.sql), all on 127.0.0.1, one at a time under load:

- "before": the code just before layer history came in (the parent of the commit "Layer history: ...", exported
  with `git archive` into bench/.work/before-history and run from there) on its own database
  (gisserver_bench_layers_before), data tables without history columns;
- "history": this code, the same files imported (data tables with valid_from/change_id, empty history tables);
- "edited": this code, the same files imported again as parcels_edited/points_edited, then edited through the
  editing service as planners do (by default 20,000 features changed, half of them moved, 2,000 deleted and 2,000
  drawn per layer: 10% of the parcels, 2% of the points), so that their history tables hold those states and
  their feature ids have gaps.

Each target gets the same requests as layers_bench.py's items and tiles workloads (wrk, 8 connections, 256 bboxes of
~550 m with limit=100; every z14 tile inside the data), in alternating rounds after a warm-up, so that the shared
machine's load hits them alike. Prints req/s, p50/p95 and the ratios to "before".
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import subprocess
import sys
import tarfile
import time

import layers_bench as lb
import psycopg

from gisserver.core.cluster import private_cluster
from gisserver.core.config import Settings

BEFORE_DB = "gisserver_bench_layers_before"
BEFORE_PORT = 5111
BEFORE_CODE = lb.WORK / "before-history"
EDITED = {"parcels": "parcels_edited", "points": "points_edited"}
TARGETS = ("before", "history", "edited")


def history_commit() -> str:
    """The commit that brought layer history (its parent is the code "before")."""
    out = subprocess.run(["git", "log", "--format=%H", "-1", "--grep", "^Layer history: every import"],
                         cwd=lb.ROOT, capture_output=True, text=True, check=True).stdout.strip()
    if not out:
        sys.exit("cannot find the commit 'Layer history: every import ...' in this repository's history")
    return out


def export_before(rev: str) -> None:
    """The code before history, as files (no worktree), with its own package metadata so that Python finds its
    feature manifests and not this checkout's."""
    shutil.rmtree(BEFORE_CODE, ignore_errors=True)
    BEFORE_CODE.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=lb.ROOT, capture_output=True,
                             check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(BEFORE_CODE, filter="data")
    lb.run([sys.executable, "-c", "from setuptools import setup; setup()", "egg_info"], cwd=BEFORE_CODE)


def before_env(settings: Settings) -> dict:
    env = lb.our_env(settings) | {"GISSERVER_PG_DATABASE": BEFORE_DB, "PYTHONPATH": str(BEFORE_CODE)}
    return env


def before_cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from gisserver.cli import main; main()", *args]


def import_layers(argv_of, env: dict, names: dict[str, str]) -> None:
    for source, name in names.items():
        seconds = lb.timed(argv_of("layers", "import", str(lb.WORK / f"{source}.gpkg"), "--name", name), env=env)
        lb.say(f"imported {name} in {seconds:.0f} s")


def prepare_before(settings: Settings, rev: str) -> None:
    lb.say(f"exporting the code before history ({rev[:10]}^) and loading its database {BEFORE_DB}")
    export_before(rev + "^")
    url = private_cluster(settings).recreate_database(BEFORE_DB)
    env = before_env(settings)
    lb.run([sys.executable, "-c", "import sys; from gisserver.migrate import upgrade; upgrade(sys.argv[1])", url],
           env=env)
    import_layers(before_cli, env, {"parcels": "parcels", "points": "points"})


def edit_layers(db: lb.Db, changes: int, removals: int, seed: int = 2025) -> dict[str, float]:
    """Edit the *_edited layers through the editing service, as the workspace and Part 4 do: *changes* features
    changed (every other one moved by ~1 m, the rest given a new attribute value), *removals* deleted and as many
    drawn (a copy of a neighbour, 30 m east). Returns seconds per layer."""
    from geoalchemy2 import Geometry  # noqa: F401 - registers the geometry type with SQLAlchemy
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from layers.catalog import data_table, get_layer
    from layers.crs import STORAGE_CRS
    from layers.editing import Edit, change_feature, create_feature, delete_feature

    engine = create_engine(db.url.replace("postgresql://", "postgresql+psycopg://"))
    took = {}
    rng = random.Random(seed)
    for name in EDITED.values():
        started = time.perf_counter()
        with Session(engine) as session:
            layer = get_layer(session, name, include_internal=True)
            table = data_table(layer)
            count = layer.feature_count
            first = layer.attributes[0]
            fids = rng.sample(range(1, count + 1), changes + removals)
            moved_geometry = text(f"SELECT ST_AsGeoJSON(ST_Translate(geom, 0.00001, 0.00001), 9) "  # noqa: S608
                                  f"FROM layer_data.{table.name} WHERE fid = :fid")
            for i, fid in enumerate(fids[:changes]):
                layer = get_layer(session, name, include_internal=True)
                if i % 2:
                    geometry = session.execute(moved_geometry, {"fid": fid}).scalar()
                    edit = Edit(geometry=json.loads(geometry))
                else:
                    edit = Edit(properties={first["name"]: _new_value(first["type"], i)})
                change_feature(session, layer, fid, edit, actor="user:bench", comment="bench edit", crs=STORAGE_CRS,
                               if_match=None, partial=True)
                if i % 500 == 499:
                    session.commit()
            for i, fid in enumerate(fids[changes:]):
                layer = get_layer(session, name, include_internal=True)
                neighbour = session.execute(text(
                    f"SELECT ST_AsGeoJSON(ST_Translate(geom, 0.0003, 0), 9) FROM layer_data.{table.name} "  # noqa: S608
                    "WHERE fid = :fid"), {"fid": fid}).scalar()
                delete_feature(session, layer, fid, actor="user:bench", comment="bench delete", if_match=None)
                create_feature(session, layer, Edit(geometry=json.loads(neighbour), properties={}),
                               actor="user:bench", comment="bench draw", crs=STORAGE_CRS)
                if i % 500 == 499:
                    session.commit()
            session.commit()
        took[name] = time.perf_counter() - started
        lb.say(f"{name}: {changes:,} changed, {removals:,} deleted, {removals:,} drawn in {took[name]:.0f} s")
    engine.dispose()
    return took


def _new_value(kind: str, i: int):
    return {"integer": i, "bigint": i, "double": float(i), "boolean": bool(i % 2)}.get(kind, f"sửa {i}")


def catalog_of(db: lb.Db, names) -> dict[str, lb.Layer]:
    with psycopg.connect(db.dsn) as conn:
        rows = conn.execute("SELECT name, data_table, attributes FROM layers WHERE name = ANY(%s)", (list(names),))
        return {name: lb.Layer(name, f"layer_data.{table}", [(a["name"], a["column"]) for a in attributes])
                for name, table, attributes in rows}


def vacuum(db: lb.Db, layers: dict[str, lb.Layer], history: bool) -> None:
    with psycopg.connect(db.dsn, autocommit=True) as conn:
        for layer in layers.values():
            conn.execute(f"VACUUM ANALYZE {layer.table}")
            if history:
                conn.execute(f"VACUUM ANALYZE {layer.table}_h")


# Pages of 10 points as GDAL asks them (layers_bench.py's paging cases without a bbox), one client: deleted features
# leave gaps in the ids, and then an offset is counted instead of looked up (features.py: _dense).
PAGING = ("offset 0", f"offset {lb.DEEP:,}", f"cursor {lb.DEEP:,} (next links)")
WORKLOADS = ("items", "tiles", *PAGING)


def paths(workload: str, name: str) -> list[str]:
    if workload == "items":
        return [f"/ogc/collections/{name}/items?limit={lb.ITEMS_LIMIT}&bbox={lb.bbox_text(i)}"
                for i in range(lb.N_BBOXES)]
    if workload in PAGING:
        query = lb.PAGING_CASES[workload][0]
        return [f"/ogc/collections/{name}/items?{query(i)}" for i in range(lb.N_BBOXES)]
    return [f"/ogc/collections/{name}/tiles/WebMercatorQuad/{lb.ZOOM}/{y}/{x}" for x, y in lb.tiles()]


def sizes(db: lb.Db, layers: dict[str, lb.Layer]) -> dict[str, tuple[int, int]]:
    """(rows of the history table, total MB of data and history tables) per layer."""
    out = {}
    with psycopg.connect(db.dsn) as conn:
        for name, layer in layers.items():
            states = conn.execute(f"SELECT count(*) FROM {layer.table}_h").fetchone()[0]  # noqa: S608
            size = conn.execute("SELECT pg_total_relation_size(%s) + pg_total_relation_size(%s)",
                                (layer.table, layer.table + "_h")).fetchone()[0]
            out[name] = (states, size // 2**20)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds measured per target, workload and layer")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds the duration is split into")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per target before measuring")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=5, help="worker processes of each server")
    parser.add_argument("--changes", type=int, default=20_000, help="features changed per edited layer")
    parser.add_argument("--removals", type=int, default=2_000, help="features deleted (and as many drawn) per layer")
    parser.add_argument("--reuse-data", action="store_true", help="keep the three databases of the last run")
    parser.add_argument("--only", default="", help="comma-separated: items, tiles, offset, cursor (default: all)")
    args = parser.parse_args()
    for tool in ("wrk", "ogr2ogr", "git"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing")
    lb.WORK.mkdir(exist_ok=True)
    settings = Settings.from_env()
    rev = history_commit()
    db = lb.prepare_database(settings, args.reuse_data)
    before_db = lb.Db(db.host, db.port, BEFORE_DB, db.user, db.password)
    ours_env = lb.our_env(settings)
    if not args.reuse_data:
        prepare_before(settings, rev)
        gisserver = str(lb.ROOT / ".venv" / "bin" / "gisserver")
        import_layers(lambda *a: [gisserver, *a], ours_env, {"parcels": "parcels", "points": "points"})
        import_layers(lambda *a: [gisserver, *a], ours_env, EDITED)
        edited_seconds = edit_layers(db, args.changes, args.removals)
    else:
        edited_seconds = None
    ours = catalog_of(db, ["parcels", "points", *EDITED.values()])
    before = catalog_of(before_db, ["parcels", "points"])
    vacuum(db, ours, history=True)
    vacuum(before_db, before, history=False)
    history_sizes = sizes(db, ours)

    servers = {
        "before": lb.Server("gisserver-before", before_cli("serve", "--port", str(BEFORE_PORT), "--workers",
                                                           str(args.workers)), before_env(settings), BEFORE_PORT,
                            "/health"),
        "history": lb.Server("gisserver", [str(lb.ROOT / ".venv" / "bin" / "gisserver"), "serve", "--port",
                                           str(lb.OURS_PORT), "--workers", str(args.workers)], ours_env, lb.OURS_PORT,
                             "/health"),
    }
    ports = {"before": BEFORE_PORT, "history": lb.OURS_PORT, "edited": lb.OURS_PORT}
    results: dict[tuple[str, str, str], lb.Result] = {}
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait()
        lb.say(f"servers up: before :{BEFORE_PORT}, with history :{lb.OURS_PORT}")
        for workload in [w for w in WORKLOADS if not args.only or w.split()[0] in args.only.split(",")]:
            for layer in ("points",) if workload in PAGING else ("parcels", "points"):
                connections, threads = (1, 1) if workload in PAGING else (args.connections, args.threads)
                lists = {"before": paths(workload, layer), "history": paths(workload, layer),
                         "edited": paths(workload, EDITED[layer])}
                for target in TARGETS:  # every target answers the same first request alike
                    status, body = lb.fetch(ports[target], lists[target][0])
                    if status != 200:
                        sys.exit(f"{target} answered {status} to {lists[target][0]}: {body[:300]!r}")

                def measure(target, seconds, lists=lists, connections=connections, threads=threads):
                    lb.drain(db)
                    lb.drain(before_db)
                    return lb.wrk(ports[target], lists[target], seconds, connections, threads)

                for target in TARGETS:
                    measure(target, args.warmup)
                rounds = {target: [] for target in TARGETS}
                for _ in range(args.rounds):
                    for target in TARGETS:
                        rounds[target].append(measure(target, max(1, args.duration // args.rounds)))
                for target in TARGETS:
                    results[(workload, layer, target)] = lb.combine(rounds[target])
                lb.say(f"{workload} {layer}: " + ", ".join(
                    f"{t} {results[(workload, layer, t)].rps:.1f} req/s" for t in TARGETS))
    finally:
        for server in servers.values():
            server.stop()
    report(args, results, history_sizes, edited_seconds)


def report(args, results, history_sizes, edited_seconds) -> None:
    print()
    print(f"Machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; wrk -c {args.connections} "
          f"-t {args.threads}, {args.duration} s per cell in {args.rounds} alternating rounds after {args.warmup} s "
          f"warm-up; {args.workers} worker processes per server. Edited layers: {args.changes:,} features changed, "
          f"{args.removals:,} deleted and {args.removals:,} drawn each.")
    print()
    print("| workload | layer | before history req/s (p50 ms) | with history | ratio | after the edits | ratio |")
    print("|---|---|---|---|---|---|---|")
    for workload in WORKLOADS:
        for layer in ("parcels", "points"):
            if (workload, layer, "before") not in results:
                continue
            before, history, edited = (results[(workload, layer, t)] for t in TARGETS)
            print(f"| {workload} | {layer} | {before.rps:.1f} ({before.p50_ms:.1f}) | {history.rps:.1f} "
                  f"({history.p50_ms:.1f}) | {history.rps / before.rps:.3f} | {edited.rps:.1f} ({edited.p50_ms:.1f}) "
                  f"| {edited.rps / before.rps:.3f} |")
    print("\nTarget: ratios >= 0.95 (at most 5% slower with history on).")
    print()
    for name, (states, megabytes) in history_sizes.items():
        print(f"{name}: {states:,} earlier states kept; data and history tables {megabytes} MB")
    if edited_seconds:
        print("editing time: " + ", ".join(f"{k} {v:.0f} s" for k, v in edited_seconds.items()))


if __name__ == "__main__":
    main()
