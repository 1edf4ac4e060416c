"""What the layer views share: format negotiation, the vector tile answer and CORS for public reads."""

from __future__ import annotations

import json
from functools import wraps

from flask import Response, g, make_response, request, url_for
from werkzeug.exceptions import NotAcceptable

from gisserver.accounts.auth import is_staff
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_read_session
from layers import catalog, tiles
from layers.models import Layer

MVT = "application/vnd.mapbox-vector-tile"
# Every ?f= value any of our resources answers; one a resource does not offer is a 406, anything else a 400.
FORMAT_NAMES = ("json", "geojson", "html", "tilejson")


def negotiate(offers: dict[str, str]) -> str:
    """The format to answer in, from ?f= or the Accept header, among *offers* ({name: media type}, the first is the
    default). A format this resource does not have is 406 Not Acceptable, never an answer in another one."""
    f = request.args.get("f")
    if f:
        if f in offers:
            return f
        if f in FORMAT_NAMES:
            raise NotAcceptable(f"this resource is not available as {f}; it is as {', '.join(offers)}")
        raise Invalid(f"f must be one of {', '.join(offers)}", {"parameter": "f"})
    if not request.headers.get("Accept"):
        return next(iter(offers))
    # The first offer wins ties (*/*), so a browser asking for HTML gets HTML, anything else the default.
    best = request.accept_mimetypes.best_match(list(offers.values()))
    if best is None:
        raise NotAcceptable(f"this resource is available as {', '.join(offers.values())}")
    return next(name for name, mimetype in offers.items() if mimetype == best)


def tile_response(session, layer: Layer, z: int, x: int, y: int) -> Response:
    """A vector tile with its ETag; a 304 when the client has it (answered from the catalog row alone)."""
    tiles.check_tile(z, x, y)
    tag = tiles.etag(layer, z, x, y)
    # A shared cache must never hand an internal layer's tile to the public: only the browser may keep it.
    sharing = "public" if layer.visibility == "public" else "private"
    headers = {"ETag": f'"{tag}"', "Cache-Control": f"{sharing}, max-age=0, must-revalidate"}
    if tag in request.if_none_match:
        return Response(status=304, headers=headers)
    return Response(tiles.tile(session, layer, z, x, y), mimetype=MVT, headers=headers)


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Content-Crs, X-Request-ID",
}
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match",
    "Access-Control-Max-Age": "86400",
}


def allow_other_origins(response: Response) -> Response:
    """CORS for the public read-only routes, so that a map client on another site can read public layers.

    Only answers made for an anonymous caller carry it: one made for a signed-in caller (a session cookie or
    a token) may hold internal layers. With '*' and no Allow-Credentials, browsers never send cookies on these
    cross-origin reads anyway, and Authorization is not an allowed header, so a token cannot ride along either.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") and g.get("principal") is None:
        response.headers.update(CORS_HEADERS)
        if request.method == "OPTIONS":
            response.headers.update(CORS_PREFLIGHT)
    return response


def external_url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def visible_layer(name: str) -> Layer:
    """The layer *name*, or a 404 when it is internal and the caller is not staff."""
    return catalog.get_layer(db_read_session(), name, include_internal=is_staff())


def json_response(body, mimetype: str = "application/json", headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=mimetype, headers=headers)


def readable_from_other_origins(view):
    """allow_other_origins for one view of a blueprint that also has routes which must not get it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        return allow_other_origins(make_response(view(*args, **kwargs)))

    return wrapped
