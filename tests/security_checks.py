"""What every response must carry (security headers), and what no page may hold: an inline script without this
response's nonce, an event-handler attribute or a javascript: URL. Used by the access matrix on every answer."""

from __future__ import annotations

import re

_NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9_-]+)'")
_SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
_STYLE = re.compile(r"<style\b([^>]*)>", re.IGNORECASE)
_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
_JS_URL = re.compile(r"""(?:href|src|action)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)
_ATTR = re.compile(r"""([a-z-]+)\s*=\s*"([^"]*)\"""", re.IGNORECASE)
NOT_RUN = {"application/json", "application/ld+json"}


def header_problems(response) -> list[str]:
    """The security headers missing or wrong on *response* (any kind: page, JSON, tile, file, error)."""
    headers = response.headers
    problems = []
    csp = headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "report-uri /csp-report"):
        if directive not in csp:
            problems.append(f"CSP without {directive!r}")
    if not _NONCE.search(csp) or "unsafe-inline" in csp.split("script-src", 1)[1].split(";", 1)[0]:
        problems.append(f"CSP script-src is not 'self' + nonce: {csp!r}")
    expected = {"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "strict-origin-when-cross-origin"}
    for name, value in expected.items():
        if headers.get(name) != value:
            problems.append(f"{name} is {headers.get(name)!r}")
    if "geolocation=" not in headers.get("Permissions-Policy", ""):
        problems.append("no Permissions-Policy for geolocation")
    return problems


def page_problems(response) -> list[str]:
    """Inline code in an HTML answer that the policy would not let run (or that would run without a nonce)."""
    if response.mimetype != "text/html":
        return []
    match = _NONCE.search(response.headers.get("Content-Security-Policy", ""))
    nonce = match.group(1) if match else None
    html = response.get_data(as_text=True)
    problems = []
    for pattern, kind in ((_SCRIPT, "script"), (_STYLE, "style")):
        for tag in pattern.finditer(html):
            attributes = dict((k.lower(), v) for k, v in _ATTR.findall(tag.group(1)))
            if kind == "script" and ("src" in attributes or attributes.get("type") in NOT_RUN):
                continue
            if attributes.get("nonce") != nonce:
                problems.append(f"inline <{kind}> without the response's nonce: {tag.group(0)[:80]!r}")
    if _HANDLER.search(html):
        problems.append(f"event-handler attribute: {_HANDLER.search(html).group(0)[:80]!r}")
    if _JS_URL.search(html):
        problems.append("javascript: URL")
    return problems
