"""Static files with content-hashed names, compressed, cached for good; and gzip for the pages themselves.

`url_for("static", filename="js/officer.js")` gives `/static/js/officer.3f2a9c01d4.js`: the name changes when
the content does, so browsers may keep it for a year without asking again (`Cache-Control: immutable`). A page
is the only thing a returning visitor downloads. Text files go out gzipped (compressed once, kept in memory); pages
are gzipped on the way out when the client accepts it. The machine interfaces' JSON is left to the reverse proxy (see
the README): API clients read exactly the bytes they asked for.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, current_app, g, request, session
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

HASH_LENGTH = 10
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{{{HASH_LENGTH}}})(?P<ext>\.[A-Za-z0-9]+)$")
COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".html", ".txt", ".map", ".geojson"}
DYNAMIC_TYPES = ("text/html",)
MIN_COMPRESS_BYTES = 1024
YEAR = 365 * 24 * 3600


@dataclass(frozen=True)
class Asset:
    path: Path
    mtime_ns: int
    digest: str  # hex sha256 of the content
    data: bytes
    gzipped: bytes | None  # None when compressing gains nothing or the type does not compress


class StaticAssets:
    """The files under one folder, read once (again when their modification time changes)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._cache: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def get(self, relative: str) -> Asset | None:
        joined = safe_join(str(self.folder), relative)
        if joined is None:
            return None
        path = Path(joined)
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        cached = self._cache.get(relative)
        if cached is not None and cached.mtime_ns == stat.st_mtime_ns:
            return cached
        data = path.read_bytes()
        gzipped = None
        if path.suffix.lower() in COMPRESSIBLE and len(data) >= MIN_COMPRESS_BYTES:
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            gzipped = packed if len(packed) < len(data) * 0.9 else None
        asset = Asset(path, stat.st_mtime_ns, hashlib.sha256(data).hexdigest(), data, gzipped)
        with self._lock:
            self._cache[relative] = asset
        return asset

    def hashed_name(self, relative: str) -> str:
        """`js/app.js` -> `js/app.<digest>.js`; a name that is no file stays as it is."""
        asset = self.get(relative)
        if asset is None:
            return relative
        stem, dot, ext = relative.rpartition(".")
        if not dot or "/" in ext:
            return f"{relative}.{asset.digest[:HASH_LENGTH]}"
        return f"{stem}.{asset.digest[:HASH_LENGTH]}.{ext}"

    def resolve(self, requested: str) -> tuple[Asset, bool]:
        """The asset a requested name means, and whether the name carried its current digest."""
        asset = self.get(requested)
        if asset is not None:
            return asset, False
        match = _HASHED.match(requested)
        if match:
            asset = self.get(match["stem"] + match["ext"])
            if asset is not None:
                return asset, asset.digest.startswith(match["digest"])
        raise NotFound()


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def serve_static(filename: str) -> Response:
    """The static view: immutable for a hashed name of the current content, revalidated otherwise."""
    assets: StaticAssets = current_app.extensions["gisserver.assets"]
    asset, current = assets.resolve(filename)
    mimetype = mimetypes.guess_type(asset.path.name)[0] or "application/octet-stream"
    body = asset.data
    encoded = asset.gzipped is not None and _accepts_gzip()
    if encoded:
        body = asset.gzipped
    response = Response(body, mimetype=mimetype)
    if mimetype.startswith("text/") or mimetype in ("application/javascript", "image/svg+xml", "application/json"):
        response.charset = "utf-8"
    if encoded:
        response.headers["Content-Encoding"] = "gzip"
    if asset.gzipped is not None:
        response.vary.add("Accept-Encoding")
    response.set_etag(asset.digest[:32] + ("-gz" if encoded else ""))
    if current:
        response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        # An old page asking for an earlier digest, or a file named by a stylesheet (images, fonts):
        # served, but checked again each time (a 304 when unchanged).
        response.headers["Cache-Control"] = "no-cache"
    return response.make_conditional(request)


def _secret_beside_input() -> bool:
    """Whether the page may hold a secret next to text the requester chose (BREACH).

    A compressed answer's size tells how well its parts repeat each other, so an attacker who can make a victim's
    browser send requests whose input the page echoes (a search box, a filter) can guess a secret in that page (the
    session's CSRF token, a signed-in caller's data) a character at a time. Such pages go out uncompressed; pages
    that carry no input (the QR form, the maps), and pages of visitors with no session secret, are still gzipped.
    """
    has_secret = g.get("principal") is not None or session.get("csrf_token") is not None
    has_input = bool(request.query_string) or request.method not in ("GET", "HEAD")
    return has_secret and has_input


def compress_response(response: Response) -> Response:
    """Gzip a page when the client takes it, it is worth it, and it cannot leak a secret by its size."""
    if (response.direct_passthrough or response.is_streamed or "Content-Encoding" in response.headers
            or response.status_code < 200 or response.status_code in (204, 304) or request.method == "HEAD"
            or response.mimetype not in DYNAMIC_TYPES or not _accepts_gzip()):
        return response
    data = response.get_data()
    if len(data) < MIN_COMPRESS_BYTES or _secret_beside_input():
        return response
    response.set_data(gzip.compress(data, compresslevel=6, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    etag, weak = response.get_etag()
    if etag:  # the same content, another encoding: the validator must differ
        response.set_etag(etag + "-gz", weak=weak)
    return response


def init_assets(app: Flask) -> None:
    """Serve static/ through StaticAssets and make url_for("static", ...) name files by their content."""
    assets = StaticAssets(Path(app.static_folder))
    app.extensions["gisserver.assets"] = assets
    app.view_functions["static"] = serve_static

    @app.url_defaults
    def hashed_static_names(endpoint, values):
        if endpoint == "static" and values.get("filename"):
            values["filename"] = assets.hashed_name(values["filename"])

    app.after_request(compress_response)


def asset_path(relative: str) -> str:
    """The hashed name of a file under static/ (for code that builds asset URLs itself); the name unchanged
    outside an app."""
    try:
        assets: StaticAssets = current_app.extensions["gisserver.assets"]
    except (RuntimeError, KeyError):
        return relative
    return assets.hashed_name(relative)
