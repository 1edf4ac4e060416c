"""In-process CPU of one report filing: POST /api/reports through the app's test client, as residents send it.

    PYTHONPATH=. GISSERVER_PG_DATABASE=<demo db> .venv/bin/python bench/intake_cpu.py [--requests 1000] [--rounds 3]
    ... bench/intake_cpu.py --trees /path/to/before /path/to/after   # A/B, alternating rounds
    ... bench/intake_cpu.py --profile [--requests 3000]               # cProfile of the filings

Needs the demo city in the configured database (`gisserver demo load`). Each request is the residents' request of
bench/locustfile.py: a random active category, a real address point (jittered) and a fresh Idempotency-Key,
anonymous, with the intake rate limits raised but active. The figure is time.process_time() of this process over
the requests (the app's own CPU; PostgreSQL's is not counted), after a warm-up.

With --trees, each round runs one child process per tree (PYTHONPATH set to it), the trees alternating, so that two
versions of the code are measured under the same conditions on a shared machine; the ratio of each round is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import time
import uuid

WARM_UP = 50


def _city(client) -> tuple[list[str], list[tuple[float, float]]]:
    categories = [c["code"] for c in client.get("/api/report-categories").get_json()["categories"]]
    features = client.get("/ogc/collections/dia-chi/items?limit=500").get_json()["features"]
    return categories, [tuple(f["geometry"]["coordinates"][:2]) for f in features]


def _filer(client, categories, points, seed: int = 19):
    rng = random.Random(seed)

    def file_one() -> None:
        lon, lat = rng.choice(points)
        body = {"category": rng.choice(categories), "description": "Nước ngập sâu trên đường, xe máy chết máy (bench)",
                "location": {"lon": lon + rng.uniform(-2e-4, 2e-4), "lat": lat + rng.uniform(-2e-4, 2e-4)}}
        response = client.post("/api/reports", json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
        if response.status_code != 201:
            raise SystemExit(f"intake answered {response.status_code}: {response.get_data(as_text=True)[:300]}")

    return file_one


def _app():
    from gisserver.app import create_app

    return create_app({"INTAKE_RATE_LIMIT": "1000000 per minute", "INTAKE_AREA_RATE_LIMIT": "1000000 per minute",
                       "LOG_LEVEL": "WARNING"})


def measure(requests: int) -> float:
    """CPU milliseconds of this process per filing, over *requests* filings after a warm-up."""
    app = _app()
    client = app.test_client()
    file_one = _filer(client, *_city(client))
    for _ in range(WARM_UP):
        file_one()
    started = time.process_time()
    for _ in range(requests):
        file_one()
    return (time.process_time() - started) / requests * 1000


def profile(requests: int, top: int) -> None:
    app = _app()
    client = app.test_client()
    file_one = _filer(client, *_city(client))
    for _ in range(WARM_UP):
        file_one()
    profiler = cProfile.Profile(time.process_time)
    started = time.process_time()
    profiler.enable()
    for _ in range(requests):
        file_one()
    profiler.disable()
    spent = (time.process_time() - started) / requests * 1000
    print(f"{requests} filings, {spent:.2f} ms CPU each under cProfile")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)


def compare(trees: list[str], requests: int, rounds: int) -> None:
    results: dict[str, list[float]] = {tree: [] for tree in trees}
    print(f"load average before: {'/'.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    for round_ in range(rounds):
        order = trees if round_ % 2 == 0 else trees[::-1]
        for tree in order:
            env = dict(os.environ, PYTHONPATH=tree)
            out = subprocess.run([sys.executable, __file__, "--requests", str(requests), "--json"], env=env,
                                 check=True, capture_output=True, text=True, cwd=tree).stdout
            ms = json.loads(out.strip().splitlines()[-1])["ms"]
            results[tree].append(ms)
            print(f"round {round_ + 1} {tree}: {ms:.2f} ms CPU per filing "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
        base = results[trees[0]][-1]
        print("  ratios to the first tree: " + ", ".join(f"{results[t][-1] / base:.3f}" for t in trees[1:]),
              flush=True)
    print(f"load average after: {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    for tree in trees:
        runs = ", ".join(f"{v:.2f}" for v in results[tree])
        print(f"{tree}: median {statistics.median(results[tree]):.2f} ms ({runs})")
    base = statistics.median(results[trees[0]])
    for tree in trees[1:]:
        ratios = [a / b for a, b in zip(results[tree], results[trees[0]], strict=True)]
        each = ", ".join(f"{r:.3f}" for r in ratios)
        print(f"{tree} / {trees[0]}: median of the rounds' ratios {statistics.median(ratios):.3f} ({each}); "
              f"of the medians {statistics.median(results[tree]) / base:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="filings measured (per round with --trees)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trees", nargs="+", help="source trees to compare (the first is the reference)")
    parser.add_argument("--profile", action="store_true", help="print cProfile's figures instead")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.trees:
        compare(args.trees, args.requests, args.rounds)
    elif args.profile:
        profile(args.requests, args.top)
    else:
        ms = measure(args.requests)
        print(json.dumps({"ms": ms}) if args.json else f"{ms:.2f} ms CPU per filing")


if __name__ == "__main__":
    main()
