"""Locust users for bench/load.py: the flood-day mix of citizen intake, map items and tiles.

Run through bench/load.py, which starts `gisserver serve`, runs locust headless for a bounded
time and checks afterwards that every report answered 201 is in the database. Request names are
route templates, so that locust's statistics come out per route.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import uuid

from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# Layers of the demo city: the address points and the land-use plan polygons (the heaviest tiles).
# Public layers only: the drainage network is internal, a 404 for the anonymous map viewers here.
ITEM_LAYERS = ("dia-chi", "quy-hoach-su-dung-dat", "mang-luoi-giao-thong")
TILE_LAYERS = ("quy-hoach-su-dung-dat", "dia-chi", "vung-nguy-co-ngap")
TILE_ZOOMS = (13, 14, 15, 16)

# Leaders open area summaries (issue 7); bench/load.py passes the route and a leader's token.
# Without a route (--no-summaries) the leader task lists the wards instead.
SUMMARY_ROUTE: str | None = os.environ.get("BENCH_SUMMARY_ROUTE") or None

CREATED_KEYS: list[str] = []
RETRIED = [0]
logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # retries are counted instead
_city: dict = {}


class CountingRetry(Retry):
    """One retry when the server closed a kept-alive connection just as it was reused, counted."""

    def increment(self, *args, **kwargs):
        RETRIED[0] += 1
        return super().increment(*args, **kwargs)


class CityUser(HttpUser):
    """Retries like a browser does (and as residents' apps should): once, on a dropped connection.

    A kept-alive connection that the server closes while the client reuses it fails before any
    answer; browsers send the request again. POSTs carry an Idempotency-Key, so the retry can never
    file a report twice. Answers (any status) are never retried.
    """

    abstract = True

    def on_start(self):
        retry = CountingRetry(total=1, connect=1, read=1, status=0, other=0, allowed_methods=None,
                              raise_on_status=False)
        self.client.mount("http://", HTTPAdapter(max_retries=retry))


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


@events.test_start.add_listener
def load_city(environment, **_kwargs):
    """Read categories, wards and real address points once, so every user files valid reports."""
    import requests

    host = environment.host.rstrip("/")
    categories = requests.get(f"{host}/api/report-categories", timeout=30).json()["categories"]
    wards = requests.get(f"{host}/api/areas", params={"level": "ward"}, timeout=30).json()["areas"]
    points = requests.get(f"{host}/ogc/collections/dia-chi/items", params={"limit": 2000}, timeout=60).json()
    _city["categories"] = [c["code"] for c in categories]
    _city["wards"] = [w["code"] for w in wards if w["valid_to"] is None]
    _city["points"] = [tuple(f["geometry"]["coordinates"][:2]) for f in points["features"]]


@events.test_stop.add_listener
def write_outcome(environment, **_kwargs):
    path = os.environ.get("BENCH_OUTCOME")
    if path:
        with open(path, "w") as fh:
            json.dump({"created": CREATED_KEYS, "retried": RETRIED[0]}, fh)


class Resident(CityUser):
    """A resident filing a report from the QR form or the app, then checking its status."""

    weight = 3
    wait_time = between(0.5, 2.0)

    @task(4)
    def file_report(self):
        lon, lat = random.choice(_city["points"])
        key = uuid.uuid4().hex
        body = {
            "category": random.choice(_city["categories"]),
            "description": "Nước ngập sâu trên đường, xe máy chết máy (load test)",
            "location": {"lon": lon + random.uniform(-2e-4, 2e-4), "lat": lat + random.uniform(-2e-4, 2e-4)},
        }
        with self.client.post("/api/reports", json=body, headers={"Idempotency-Key": key}, name="POST /api/reports",
                              catch_response=True) as response:
            if response.status_code == 201:
                CREATED_KEYS.append(key)
                self._last_code = response.json()["tracking_code"]
            else:
                response.failure(f"{response.status_code}: {response.text[:200]}")

    @task(1)
    def check_status(self):
        code = getattr(self, "_last_code", None)
        if code:
            self.client.get(f"/api/reports/{code}/status", name="GET /api/reports/{code}/status")


class MapViewer(CityUser):
    """A planner or resident panning the map: feature pages by bbox and vector tiles."""

    weight = 3
    wait_time = between(0.2, 1.0)

    @task(2)
    def items(self):
        lon, lat = random.choice(_city["points"])
        half = random.choice((0.002, 0.005, 0.01))
        layer = random.choice(ITEM_LAYERS)
        self.client.get(f"/ogc/collections/{layer}/items",
                        params={"bbox": f"{lon - half},{lat - half},{lon + half},{lat + half}", "limit": 100},
                        name="GET /ogc/collections/{id}/items?bbox")

    @task(5)
    def tile(self):
        lon, lat = random.choice(_city["points"])
        z = random.choice(TILE_ZOOMS)
        x, y = _tile_of(lon, lat, z)
        layer = random.choice(TILE_LAYERS)
        # OGC API - Tiles order: tileMatrix/tileRow/tileCol (z/y/x); the planning map asks the XYZ form at
        # /api/layers/{id}/tiles/{z}/{x}/{y}.mvt for the same tiles.
        self.client.get(f"/ogc/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}",
                        name="GET /ogc/collections/{id}/tiles/{z}/{y}/{x}")


class Leader(CityUser):
    """A leader's dashboard: area summaries (see SUMMARY_ROUTE) and the ward list behind them."""

    weight = 1
    wait_time = between(1.0, 3.0)

    @task
    def summary(self):
        ward = random.choice(_city["wards"])
        if SUMMARY_ROUTE is None:
            self.client.get("/api/areas", params={"level": "ward"}, name="GET /api/areas?level=ward")
            return
        token = os.environ.get("BENCH_LEADER_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client.get(SUMMARY_ROUTE.format(area=ward), headers=headers, name=f"GET {SUMMARY_ROUTE}")
