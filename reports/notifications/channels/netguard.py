"""Where outgoing HTTP may go: http(s) only, and no loopback, private, link-local or reserved address unless an
admin allowed it for that destination (SSRF: a webhook URL must not reach the city's internal network).

The address that was checked is the address connected to. Resolving the name once to check it and letting the
HTTP client resolve it again would let a name that answers a public address first and a private one next (DNS
rebinding) reach inside. So the worker's HTTP client (client()) connects only to addresses pin() checked: its
transport adapter sends each request to the pinned IP, with the Host header, TLS SNI and the certificate's name
check still on the host name of the URL.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from gisserver.core.exceptions import Invalid

_clients = threading.local()


@dataclass(frozen=True)
class Pinned:
    """A checked URL and the one address every connection for it goes to."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def _parts(url, field: str):
    if not isinstance(url, str) or not url or len(url) > 2000 or any(c in url for c in "\r\n\t "):
        raise Invalid("give an http(s) URL without spaces or line breaks", {"field": field})
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("the URL must be http:// or https:// with a host", {"field": field})
    if parts.username or parts.password:
        raise Invalid("put credentials in headers or the secret, not in the URL", {"field": field})
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid("the URL's port is not a number between 0 and 65535", {"field": field}) from None
    return parts, port


def _addresses(host: str, port: int, field: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Invalid(f"cannot resolve {host}", {"field": field}) from None
    return [info[4][0] for info in infos]


def _refuse_private(host: str, addresses: list[str], field: str) -> None:
    for address in addresses:
        if _blocked(address):
            raise Invalid(f"{host} points at a private, loopback or link-local address; an admin may "
                          "allow it for this destination", {"field": field, "reason": "private_address"})


def check_url(url: str, *, allow_private: bool, field: str = "url") -> str:
    """The URL if it may be stored to be called later; Invalid (400) otherwise. Resolves the host: every address
    must be public (each send checks it again, with pin())."""
    parts, port = _parts(url, field)
    if allow_private:
        return url
    _refuse_private(parts.hostname, _addresses(parts.hostname, port, field), field)
    return url


def pin(url: str, *, allow_private: bool, field: str = "url") -> Pinned:
    """Check *url* now and pin its address for this thread's client(): the request made next goes to exactly
    the address checked here. Invalid when the URL or any of its addresses is refused."""
    parts, port = _parts(url, field)
    addresses = _addresses(parts.hostname, port, field)
    if not allow_private:
        _refuse_private(parts.hostname, addresses, field)
    pinned = Pinned(url=url, scheme=parts.scheme, host=parts.hostname, port=port, address=addresses[0])
    client().adapters["https://"].pins[(pinned.scheme, pinned.host, pinned.port)] = pinned
    return pinned


def _adapter_class():
    from requests.adapters import HTTPAdapter
    from requests.exceptions import InvalidURL

    class PinnedAdapter(HTTPAdapter):
        """Sends a request to the address pin() checked for its host, never to a fresh DNS answer."""

        def __init__(self, pins: dict):
            super().__init__()
            self.pins = pins

        def send(self, request, **kwargs):
            parts = urlsplit(request.url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            pinned = self.pins.get((parts.scheme, parts.hostname, port))
            if pinned is None:
                raise InvalidURL(f"{parts.hostname} was not checked before this request (netguard.pin)")
            ip = ipaddress.ip_address(pinned.address)
            literal = f"[{ip}]" if ip.version == 6 else str(ip)
            request.headers.setdefault("Host", parts.netloc)
            request.url = urlunsplit((parts.scheme, f"{literal}:{port}", parts.path, parts.query, parts.fragment))
            request.pinned_host = pinned.host  # read by build_connection_pool_key_attributes
            return super().send(request, **kwargs)

        def build_connection_pool_key_attributes(self, request, verify, cert=None):
            host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
            host = getattr(request, "pinned_host", None)
            if host is not None and host_params["scheme"] == "https":
                # TLS speaks to the name: SNI and the certificate check are of the URL's host, not of the IP.
                pool_kwargs["server_hostname"] = host
                pool_kwargs["assert_hostname"] = host
            return host_params, pool_kwargs

    return PinnedAdapter


def client():
    """This thread's requests.Session: it reaches only addresses pin() checked, and keeps connections to a gateway
    or subscriber alive between messages."""
    import requests  # the worker's, not the web app's: checking a URL needs no HTTP client

    session = getattr(_clients, "session", None)
    if session is None:
        session = _clients.session = requests.Session()
        session.trust_env = False  # no proxy from the environment: the address checked is the one called
        adapter = _adapter_class()({})
        session.mount("https://", adapter)
        session.mount("http://", adapter)
    return session
