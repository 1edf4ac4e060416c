"""Security headers on every response, and the endpoint browsers report Content-Security-Policy violations to.

A small after-request hook rather than flask-talisman: the policy needs a per-response nonce that the Folium map
renderer (gisserver.core.maps) writes into the map's own <script> and <style> tags, the base map's origin in
img-src, a Permissions-Policy that one page widens (the report form asks for the phone's location), and HSTS only
when the request really came over HTTPS (directly or through the trusted proxies of GISSERVER_PROXY_HOPS).
Talisman would add a redirect-to-HTTPS feature we leave to the proxy, and its last release is from 2023.
"""

from __future__ import annotations

import json
import logging
import secrets
from urllib.parse import urlsplit

from flask import Blueprint, Flask, g, request
from markupsafe import Markup

from gisserver.core.access import csrf_exempt, on_primary, open_to, view_attribute

log = logging.getLogger("gisserver.csp")
bp = Blueprint("security", __name__)

REPORT_PATH = "/csp-report"
MAX_REPORT_BYTES = 16 * 1024
# Features no page of ours uses, refused to every page (and to anything a page might embed).
PERMISSIONS = "camera=(), microphone=(), payment=(), usb=(), magnetometer=(), gyroscope=(), accelerometer=()"
PERMISSIONS_ATTRIBUTE = "permissions_policy"
HSTS = "max-age=31536000; includeSubDomains"


def csp_nonce() -> str:
    """This response's nonce: inline <script>/<style> tags carrying it run, any other inline script is refused."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def nonce_attribute() -> Markup:
    """` nonce="..."` for a template's own tag: <script{{ nonce_attribute() }}>."""
    return Markup(' nonce="{}"').format(csp_nonce())


def allows_geolocation(view):
    """Mark a page that may ask for the visitor's location (the report form); every other page may not."""
    setattr(view, PERMISSIONS_ATTRIBUTE, "geolocation=(self)")
    return view


def _origin(url: str) -> str | None:
    parts = urlsplit(url.replace("{s}", "a").replace("{z}", "0").replace("{x}", "0").replace("{y}", "0"))
    if parts.scheme in ("http", "https") and parts.hostname:
        # A template with {s} subdomains is allowed on all of them.
        host = parts.netloc.replace("a.", "*.", 1) if "{s}." in url else parts.netloc
        return f"{parts.scheme}://{host}"
    return None


def content_security_policy(nonce: str, basemap_url: str = "") -> str:
    """The policy: scripts from our own origin or carrying this response's nonce, nothing framed, nothing framing."""
    images = ["'self'", "data:", "blob:"]
    basemap = _origin(basemap_url) if basemap_url else None
    if basemap:
        images.append(basemap)
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        # Leaflet and Folium's popups style elements through attributes; <style> elements need the nonce.
        # Browsers without the -elem/-attr directives fall back to style-src.
        "style-src": "'self' 'unsafe-inline'",
        "style-src-elem": f"'self' 'nonce-{nonce}'",
        "style-src-attr": "'unsafe-inline'",
        "img-src": " ".join(images),
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
        "report-uri": REPORT_PATH,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def init_security_headers(app: Flask) -> None:
    basemap_url = app.config["SETTINGS"].basemap_url

    @app.context_processor
    def nonce_helpers():
        return {"csp_nonce": csp_nonce, "nonce_attribute": nonce_attribute}

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        own = headers.get("Content-Security-Policy")
        headers["Content-Security-Policy"] = content_security_policy(csp_nonce(), basemap_url)
        if own:  # a view's own policy (a stored file sandboxed, say) is enforced as well: browsers apply both
            headers.add("Content-Security-Policy", own)
        headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        widened = view_attribute(request.endpoint, PERMISSIONS_ATTRIBUTE) or "geolocation=()"
        headers["Permissions-Policy"] = f"{widened}, {PERMISSIONS}"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if request.is_secure:
            headers["Strict-Transport-Security"] = HSTS
        return response


def _violations(body: bytes) -> list[dict]:
    """The reports in a body: the old report-uri format ({"csp-report": {...}}) or the Reporting API's list."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return []
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items:
        if isinstance(item, dict):
            report = item.get("csp-report") or item.get("body")
            if isinstance(report, dict):
                found.append(report)
    return found[:10]


def _text(value, limit: int = 300) -> str:
    return str(value)[:limit] if value is not None else "-"


@bp.post(REPORT_PATH)
@csrf_exempt("browsers post violation reports on their own; the view only writes a log line")
@open_to("every browser; a report is logged (size-capped), nothing is stored")
@on_primary("a browser's POST; it touches no database, only the log")
def csp_report():
    body = request.get_data(cache=False)[:MAX_REPORT_BYTES] if (request.content_length or 0) <= MAX_REPORT_BYTES \
        else b""
    for report in _violations(body):
        directive = report.get("violated-directive") or report.get("effectiveDirective") or report.get(
            "effective-directive")
        blocked = report.get("blocked-uri") or report.get("blockedURL")
        page = report.get("document-uri") or report.get("documentURL")
        sample = report.get("script-sample") or report.get("sample")
        log.warning("CSP violation: %s blocked %s on %s (%s)", _text(directive, 80), _text(blocked),
                    _text(page), _text(sample, 80))
    return "", 204
