"""Benchmark of the leaders' dashboards: a 12-panel city dashboard, warm, and a layer statistic per ward.

    GISSERVER_DATA_DIR=... .venv/bin/python bench/dashboards.py [--parcels 200000] [--repeat 40]

It uses bench/summaries.py's database (gisserver_bench_summaries: the demo city's areas, 1,000,000 reports,
200,000 dossiers; built first when missing) and adds a planning layer of --parcels land-use parcels over the
city, imported through the layers' import. Then it times, through the service and over HTTP:
- the city dashboard's data (12 panels: numbers with their previous period, a trend, a ranking and a map of the
  wards, land use by type per ward, tables), warm;
- a layer statistic per ward (area by land-use type in each of the 40 wards), from the cache and computed afresh;
- the dashboard's PDF;
- the layer statistic's SQL with ST_Covers(area, feature) as shipped, with ST_CoveredBy(feature, area), and without
  the shortcut (every feature cut by ST_Intersection), to measure what the predicate's order is worth.
Targets (issue 17): the dashboard p95 < 300 ms warm; the layer statistic p95 < 500 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from sqlalchemy import select, text  # noqa: E402

from bench.summaries import DATABASE, _database_exists, _token, fill, measure, percentiles, prepare  # noqa: E402
from gisserver.accounts.users import Principal  # noqa: E402
from gisserver.app import create_app  # noqa: E402
from gisserver.core.cluster import private_cluster  # noqa: E402
from gisserver.core.config import Settings  # noqa: E402
from gisserver.core.db import Database  # noqa: E402

LAYER = "bench-quy-hoach"
CLASSES = ["ODT", "TMD", "CXX", "DGD", "DYT", "TON", "DDT", "SKC", "LUA"]
WEIGHTS = [0.34, 0.08, 0.12, 0.05, 0.03, 0.03, 0.08, 0.07, 0.20]


def parcels_frame(session, count: int, seed: int = 17) -> gpd.GeoDataFrame:
    """About *count* parcels on a jittered grid over the city, each with a land-use class (streets between)."""
    city = shapely.from_wkb(session.execute(text("SELECT ST_AsBinary(geom) FROM areas WHERE level = 'city'"))
                            .scalar())
    minx, miny, maxx, maxy = city.bounds
    share = city.area / ((maxx - minx) * (maxy - miny))
    side = int(np.ceil(np.sqrt(count / share) * 1.02))  # a little more than needed: the city's edge cuts some
    xs, ys = np.meshgrid(np.linspace(minx, maxx, side, endpoint=False), np.linspace(miny, maxy, side, endpoint=False))
    dx, dy = (maxx - minx) / side, (maxy - miny) / side
    cells = shapely.box(xs.ravel() + dx * 0.1, ys.ravel() + dy * 0.1, xs.ravel() + dx * 0.9, ys.ravel() + dy * 0.9)
    shapely.prepare(city)
    cells = cells[shapely.contains(city, cells)][:count]
    rng = np.random.default_rng(seed)
    return gpd.GeoDataFrame({"ma_lo": [f"B{i:07d}" for i in range(len(cells))],
                             "loai_dat": rng.choice(CLASSES, size=len(cells), p=WEIGHTS),
                             "tang_cao": rng.integers(1, 12, size=len(cells))}, geometry=cells, crs=4326)


def add_parcels(url: str, count: int) -> float:
    from layers.importing import ImportOptions, import_layer
    from layers.models import Layer

    db = Database(url, statement_timeout_ms=0)
    with db.transaction() as session:
        existing = session.scalar(select(Layer).where(Layer.name == LAYER))
        if existing is not None and existing.feature_count == count:
            return 0.0
        frame = parcels_frame(session, count)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "parcels.gpkg"
        frame.to_file(path, driver="GPKG", layer="quy_hoach")
        with db.transaction() as session:
            import_layer(session, path, ImportOptions(name=LAYER, title="Quy hoạch sử dụng đất (bench)",
                                                      category="planning", replace=existing is not None))
    db.dispose()
    return time.perf_counter() - started


def city_panels() -> list[dict]:
    land = {"key": "layer_area", "layer": LAYER}
    return [
        {"id": "received", "chart": "number", "indicators": [{"key": "reports_received"}], "width": 3},
        {"id": "on-time", "chart": "number", "indicators": [{"key": "reports_on_time_rate"}], "width": 3},
        {"id": "overdue", "chart": "number", "indicators": [{"key": "reports_overdue"}], "width": 3},
        {"id": "dossiers", "chart": "gauge", "indicators": [{"key": "dossiers_on_time_rate"}], "width": 3},
        {"id": "trend", "chart": "line", "indicators": [{"key": "reports_received"}, {"key": "reports_closed"}],
         "width": 6, "height": 2},
        {"id": "ranking", "chart": "ranking", "indicators": [{"key": "reports_on_time_rate"}], "width": 6,
         "height": 2},
        {"id": "map", "chart": "choropleth", "indicators": [{"key": "reports_overdue"}], "width": 6, "height": 2},
        {"id": "land-use", "chart": "stacked", "indicators": [{**land, "by": "loai_dat"}], "width": 6, "height": 2},
        {"id": "land-total", "chart": "bar", "dimension": "children", "indicators": [land], "width": 4, "height": 2},
        {"id": "kinds", "chart": "bar", "dimension": "group", "indicators": [{"key": "reports_received",
                                                                              "by": "category"}],
         "width": 4, "height": 2},
        {"id": "dossier-trend", "chart": "line", "indicators": [{"key": "dossiers_received"}], "width": 4,
         "height": 2},
        {"id": "wards", "chart": "table", "indicators": [{"key": "reports_received"}, {"key": "reports_overdue"},
                                                         {"key": "dossiers_received"},
                                                         {"key": "dossiers_on_time_rate"}], "width": 12, "height": 2},
    ]


def covers_variants(session, resolved, targets: list[int], runs: int) -> list[tuple]:
    """The statistic's SQL as shipped (ST_Covers with the area first, cutting only features on a border) against
    ST_CoveredBy with the feature first, and against no shortcut at all (every feature cut), same data, same
    rounds; each variant must give the same figures."""
    from sqlalchemy.dialects import postgresql

    from reports.dashboards import sql

    shipped = str(sql.layer_statistic("area", resolved.tables, targets).compile(
        dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    shortcut = "CASE WHEN ST_Covers(t.geom, f.geom) THEN f.geom ELSE ST_Intersection(f.geom, t.geom) END"
    variants = {
        "layer statistic computed, as shipped: ST_Covers(area, feature)": shipped,
        "same, with ST_CoveredBy(feature, area)": shipped.replace("ST_Covers(t.geom, f.geom)",
                                                                  "ST_CoveredBy(f.geom, t.geom)"),
        "same, no shortcut: ST_Intersection of every feature": shipped.replace(shortcut,
                                                                               "ST_Intersection(f.geom, t.geom)"),
    }
    if len(set(variants.values())) != 3:
        raise RuntimeError("the statistic's SQL changed: the variants no longer differ from it")
    figures: dict[str, float] = {}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for round_ in range(runs + 1):  # alternating rounds (the first one warms up): a busy machine slows all alike
        for name, statement in variants.items():
            started = time.perf_counter()
            rows = session.execute(text(statement)).all()
            if round_:
                samples[name].append((time.perf_counter() - started) * 1000)
            figures[name] = round(sum(float(r.value) for r in rows if r.grouped), 1)
    if len(set(figures.values())) != 1:
        raise RuntimeError(f"the variants disagree: {figures}")
    return [(name, *percentiles(times), runs) for name, times in samples.items()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--parcels", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--url", help="a PostGIS database to use instead of the private cluster's")
    parser.add_argument("--covers-runs", type=int, default=3,
                        help="runs of each spatial predicate variant of the layer statistic (0: skip)")
    args = parser.parse_args(argv)

    url = args.url
    if not url:
        cluster = private_cluster(Settings.from_env())
        url = cluster.url(DATABASE) if _database_exists(cluster, DATABASE) else cluster.recreate_database(DATABASE)
    print(f"database: {url.rsplit('@', 1)[-1]}")
    prepare(url)
    fill(url, args.reports, args.dossiers)
    seconds = add_parcels(url, args.parcels)
    if seconds:
        print(f"imported {args.parcels:,} parcels in {seconds:.0f} s")

    app = create_app({"DATABASE_URL": url, "TESTING": True, "DB_STATEMENT_TIMEOUT_MS": 120_000,
                      "LOG_LEVEL": "WARNING"})
    db = app.extensions["gisserver.db"]
    from reports.dashboards.evaluate import Viewer, evaluate
    from reports.dashboards.layerstats import CACHE, LayerStat, resolve, statistic
    from reports.dashboards.models import Dashboard
    from reports.dashboards.panels import Filters, PeriodSpec, parse_panels
    from reports.dashboards.service import create_dashboard
    from reports.summaries.hierarchy import load_hierarchy

    admin = Principal(kind="user", id=0, name="bench", roles=frozenset({"admin"}))
    token = _token(db)
    with db.transaction() as session:
        owner = session.execute(text("SELECT id FROM users WHERE username = 'bench-admin'")).scalar()
        dashboard = session.scalar(select(Dashboard).where(Dashboard.title == "Bench city"))
        if dashboard is None:
            person = Principal(kind="user", id=owner, name="bench-admin", roles=frozenset({"admin"}))
            dashboard = create_dashboard(session, person, {"title": "Bench city", "area": "HUE",
                                                           "panels": city_panels()}, actor="bench")
        dashboard_id = dashboard.id
    with db.engine.connect() as conn:
        counts = conn.execute(text(f"""SELECT (SELECT count(*) FROM reports), (SELECT count(*) FROM dossiers),
            (SELECT feature_count FROM layers WHERE name = '{LAYER}'),
            (SELECT count(*) FROM areas WHERE level = 'ward')""")).one()  # noqa: S608 - a constant
    print(f"{counts[0]:,} reports, {counts[1]:,} dossiers, {counts[2]:,} parcels, {counts[3]} wards")

    session = db.session()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    panels = parse_panels(city_panels())
    filters = Filters(area="HUE", period=PeriodSpec(last_days=365))
    hierarchy = load_hierarchy(session)
    city = hierarchy.by_code("HUE")
    targets = [city.id, *(c.id for c in hierarchy.children_now(city))]
    resolved = resolve(session, LayerStat("area", LAYER, by="loai_dat"), include_internal=True)

    def fresh_statistic(_i):
        CACHE.clear()
        statistic(session, resolved, targets)

    def http(path):
        def call(_i):
            response = client.get(path, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.data[:300]!r}")
        return call

    with app.test_request_context():
        viewer = Viewer(admin)
        results = [
            measure("city dashboard, 12 panels, warm (service)", lambda i: evaluate(session, viewer, panels, filters),
                    args.repeat),
            measure("GET /api/dashboards/{id}/data (city, 12 panels)",
                    http(f"/api/dashboards/{dashboard_id}/data?area=HUE&last_days=365"), args.repeat),
            measure("layer statistic: area by land-use type, 40 wards (cached)",
                    lambda i: statistic(session, resolved, targets), args.repeat),
            measure("layer statistic: area by land-use type, 40 wards (computed)", fresh_statistic,
                    max(5, args.repeat // 4), warmup=1),
            measure("GET /api/dashboards/{id}/export.pdf (city)",
                    http(f"/api/dashboards/{dashboard_id}/export.pdf?area=HUE"), max(5, args.repeat // 4)),
        ]
        if args.covers_runs:
            results += covers_variants(session, resolved, targets, args.covers_runs)
    print()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
          "(1 / 5 / 15 min) while measuring")
    print(f"| {'case':<60} | p50 ms | p95 ms | max ms | runs |")
    print(f"|{'-' * 62}|--------|--------|--------|------|")
    for name, p50, p95, top, runs in results:
        print(f"| {name:<60} | {p50:6.1f} | {p95:6.1f} | {top:6.1f} | {runs:4d} |")
    session.close()
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
