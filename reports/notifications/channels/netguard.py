"""Where outgoing HTTP may go: http(s) only, and no loopback, private, link-local or reserved address unless an
admin allowed it for that destination (SSRF: a webhook URL must not reach the city's internal network)."""

from __future__ import annotations

import ipaddress
import socket
import threading
from urllib.parse import urlsplit

from gisserver.core.exceptions import Invalid

_clients = threading.local()


def client():
    """This thread's requests.Session: connections to a gateway or subscriber are kept alive between messages."""
    import requests  # the worker's, not the web app's: checking a URL needs no HTTP client

    session = getattr(_clients, "session", None)
    if session is None:
        session = _clients.session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address checked is the one called
    return session


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def check_url(url: str, *, allow_private: bool, field: str = "url") -> str:
    """The URL if it may be called; Invalid (400) otherwise. Resolves the host: every address must be public."""
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c in url for c in "\r\n\t "):
        raise Invalid("give an http(s) URL without spaces or line breaks", {"field": field})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("the URL must be http:// or https:// with a host", {"field": field})
    if parts.username or parts.password:
        raise Invalid("put credentials in headers or the secret, not in the URL", {"field": field})
    if allow_private:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80),
                                   type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Invalid(f"cannot resolve {parts.hostname}", {"field": field}) from None
    for info in infos:
        if _blocked(info[4][0]):
            raise Invalid(f"{parts.hostname} points at a private, loopback or link-local address; an admin may "
                          "allow it for this destination", {"field": field, "reason": "private_address"})
    return url
