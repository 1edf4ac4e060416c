"""OGC API - Features (Part 1 Core + Part 3 Filtering), vector tiles and identify, mounted under /ogc and /api."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from flask import Blueprint, Response, render_template, request, url_for

from gisserver.accounts.auth import is_staff
from gisserver.core.access import open_to
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_read_session, finite_float
from layers import catalog, cql, features, identify, tiles
from layers.catalog import data_table
from layers.models import Layer
from layers.openapi import openapi_document

bp = Blueprint("ogc", __name__, url_prefix="/ogc", template_folder="templates")
api_bp = Blueprint("identify", __name__, url_prefix="/api")

GEOJSON = "application/geo+json"
RESERVED = {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "datetime", "filter", "filter-lang", "filter-crs",
            "crs"}
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
SUPPORTED_CRS = [CRS84]
CRS_PARAMETERS = ("crs", "bbox-crs", "filter-crs")
CONTENT_CRS = {"Content-Crs": f"<{CRS84}>"}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/accent-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions-plus",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
]


def _wants_html() -> bool:
    f = request.args.get("f")
    if f:
        if f not in ("json", "html", "geojson"):
            raise Invalid("f must be json or html", {"parameter": "f"})
        return f == "html"
    best = request.accept_mimetypes.best_match(["application/json", GEOJSON, "text/html"])
    return best == "text/html"


def _json(body, mimetype: str = "application/json") -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=mimetype)


def _url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _layer(collection_id: str) -> Layer:
    return catalog.get_layer(db_read_session(), collection_id, include_internal=is_staff())


@bp.get("")
@bp.get("/")
@open_to("everyone; internal layers are a 404 for non-staff")
def landing():
    body = {
        "title": "gisserver",
        "description": "Map layers of the city as OGC API - Features and vector tiles",
        "links": [
            {"href": _url("ogc.landing"), "rel": "self", "type": "application/json", "title": "this document"},
            {"href": _url("ogc.landing", f="html"), "rel": "alternate", "type": "text/html", "title": "as HTML"},
            {"href": _url("ogc.api"), "rel": "service-desc", "type": "application/vnd.oai.openapi+json;version=3.0",
             "title": "API definition"},
            {"href": _url("ogc.conformance"), "rel": "conformance", "type": "application/json",
             "title": "conformance classes"},
            {"href": _url("ogc.collections"), "rel": "data", "type": "application/json", "title": "collections"},
        ],
    }
    if _wants_html():
        return render_template("ogc/landing.html", body=body)
    return _json(body)


@bp.get("/api")
@open_to("everyone; internal layers are a 404 for non-staff")
def api():
    return _json(openapi_document(_url("ogc.landing").rstrip("/")), "application/vnd.oai.openapi+json;version=3.0")


@bp.get("/conformance")
@open_to("everyone; internal layers are a 404 for non-staff")
def conformance():
    body = {"conformsTo": CONFORMANCE}
    if _wants_html():
        return render_template("ogc/conformance.html", body=body)
    return _json(body)


def _collection(layer: Layer) -> dict:
    extent = layer.extent or [-180, -90, 180, 90]
    items = _url("ogc.items", collection_id=layer.name)
    return {
        "id": layer.name,
        "title": layer.title,
        "description": layer.description,
        "keywords": [k for k in (layer.category, layer.group_name) if k],
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84}},
        "links": [
            {"href": _url("ogc.collection", collection_id=layer.name), "rel": "self", "type": "application/json"},
            {"href": items, "rel": "items", "type": GEOJSON, "title": "features"},
            {"href": _url("ogc.items", collection_id=layer.name, f="html"), "rel": "items", "type": "text/html"},
            {"href": _url("ogc.queryables", collection_id=layer.name), "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
             "type": "application/schema+json", "title": "queryables"},
            {"href": _url("ogc.tilejson", collection_id=layer.name), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
             "type": "application/json", "title": "vector tiles (TileJSON)"},
        ],
    }


@bp.get("/collections")
@open_to("everyone; internal layers are a 404 for non-staff")
def collections():
    layers = catalog.list_layers(db_read_session(), catalog.LayerFilter(include_internal=is_staff()))
    body = {
        "links": [{"href": _url("ogc.collections"), "rel": "self", "type": "application/json"},
                  {"href": _url("ogc.collections", f="html"), "rel": "alternate", "type": "text/html"}],
        "collections": [_collection(layer) for layer in layers],
    }
    if _wants_html():
        return render_template("ogc/collections.html", body=body, layers=layers)
    return _json(body)


@bp.get("/collections/<collection_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
def collection(collection_id: str):
    layer = _layer(collection_id)
    body = _collection(layer)
    if _wants_html():
        return render_template("ogc/collection.html", body=body, layer=layer)
    return _json(body)


_JSON_TYPES = {"text": "string", "integer": "integer", "bigint": "integer", "double": "number",
               "boolean": "boolean", "date": "string", "timestamp": "string"}


@bp.get("/collections/<collection_id>/queryables")
@open_to("everyone; internal layers are a 404 for non-staff")
def queryables(collection_id: str):
    layer = _layer(collection_id)
    properties = {"geometry": {"$ref": "https://geojson.org/schema/Geometry.json"}}
    for a in layer.attributes:
        schema = {"title": a["name"], "type": _JSON_TYPES[a["type"]]}
        if a["type"] in ("date", "timestamp"):
            schema["format"] = "date" if a["type"] == "date" else "date-time"
        properties[a["name"]] = schema
    body = {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": _url("ogc.queryables", collection_id=layer.name),
        "type": "object",
        "title": layer.title,
        "properties": properties,
        "additionalProperties": False,
    }
    return _json(body, "application/schema+json")


def _check_crs_parameters() -> None:
    """Only CRS84 until Part 2 (CRS by reference) is implemented.

    EPSG:4326 used to be accepted and read as lon/lat; its axis order is lat/lon, so a client that sent it
    correctly got wrong or empty answers. Refused instead, naming what is supported.
    """
    for parameter in CRS_PARAMETERS:
        value = request.args.get(parameter)
        if value is not None and value != CRS84:
            raise Invalid(f"{parameter} {value!r} is not supported; the supported CRS is {CRS84} "
                          "(longitude, latitude)", {"parameter": parameter, "supported": SUPPORTED_CRS})


def _item_query(layer: Layer) -> features.ItemQuery:
    names = {a["name"] for a in layer.attributes}
    unknown = [k for k in request.args if k not in RESERVED and k not in names]
    if unknown:
        raise Invalid(f"unknown parameter(s): {', '.join(unknown)}", {"queryables": sorted(names)})
    _check_crs_parameters()
    q = features.ItemQuery(
        limit=features.parse_limit(request.args.get("limit")),
        offset=features.parse_offset(request.args.get("offset")),
        after=features.parse_cursor(request.args.get("cursor")),
        bbox=features.parse_bbox(request.args.get("bbox")),
        datetime_range=features.parse_datetime(request.args.get("datetime")),
        properties={k: v for k, v in request.args.items() if k in names},
    )
    if request.args.get("filter"):
        q.filter_expression = cql.parse_filter(request.args["filter"], request.args.get("filter-lang"), layer,
                                               data_table(layer))
    return q


def _page_link(collection_id: str, rel: str, mimetype: str, **changes) -> dict:
    """A link to another page: this request's parameters (each once) with *changes* (None removes one)."""
    args = {k: v for k, v in request.args.items() if k not in changes}
    args.update({k: str(v) for k, v in changes.items() if v is not None})
    base = _url("ogc.items", collection_id=collection_id)
    return {"href": f"{base}?{urlencode(args)}" if args else base, "rel": rel, "type": mimetype}


def _items_links(layer: Layer, q: features.ItemQuery, page: features.ItemPage, html: bool) -> list[dict]:
    mimetype, f = ("text/html", "html") if html else (GEOJSON, None)
    links = [
        {"href": request.url, "rel": "self", "type": mimetype},
        _page_link(layer.name, "alternate", GEOJSON if html else "text/html", f="json" if html else "html"),
        {"href": _url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": "application/json"},
    ]
    if page.next_after is not None:
        # Keyset paging: the next page starts after this page's last id, however deep it is.
        links.append(_page_link(layer.name, "next", mimetype, cursor=page.next_after, offset=None, f=f))
    if q.offset > 0:
        links.append(_page_link(layer.name, "prev", mimetype, offset=max(q.offset - q.limit, 0) or None, f=f))
    return links


@bp.get("/collections/<collection_id>/items")
@open_to("everyone; internal layers are a 404 for non-staff")
def items(collection_id: str):
    layer = _layer(collection_id)
    html = _wants_html()
    q = _item_query(layer)
    page = features.items(db_read_session(), layer, q)
    links = _items_links(layer, q, page, html)
    if html:
        return render_template("ogc/items.html", layer=layer, features=json.loads(page.features_json), page=page,
                               links=links, q=q)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    # The features arrive as JSON text from PostGIS; only the envelope is written here.
    head = json.dumps({"type": "FeatureCollection", "numberMatched": page.number_matched,
                       "numberReturned": page.number_returned, "timeStamp": stamp, "links": links},
                      ensure_ascii=False)
    return Response(head[:-1] + ', "features": ' + page.features_json + "}", mimetype=GEOJSON, headers=CONTENT_CRS)


@bp.get("/collections/<collection_id>/items/<feature_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
def item(collection_id: str, feature_id: str):
    layer = _layer(collection_id)
    _check_crs_parameters()
    text = features.item(db_read_session(), layer, feature_id)
    if _wants_html():
        return render_template("ogc/item.html", layer=layer, feature=json.loads(text))
    links = json.dumps([
        {"href": request.base_url, "rel": "self", "type": GEOJSON},
        {"href": _url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": "application/json"},
    ])
    return Response(text[:-1] + ', "links": ' + links + "}", mimetype=GEOJSON, headers=CONTENT_CRS)


@bp.get("/collections/<collection_id>/tiles/WebMercatorQuad")
@open_to("everyone; internal layers are a 404 for non-staff")
def tilejson(collection_id: str):
    layer = _layer(collection_id)
    url = _url("ogc.tile", collection_id=layer.name, z=0, x=0, y=0).replace("/0/0/0", "/{z}/{x}/{y}")
    return _json(tiles.tilejson(layer, url))


@bp.get("/collections/<collection_id>/tiles/WebMercatorQuad/<z>/<x>/<y>")
@open_to("everyone; internal layers are a 404 for non-staff")
def tile(collection_id: str, z: str, x: str, y: str):
    layer = _layer(collection_id)
    zi, xi, yi = tiles.parse_zxy(z, x, y)
    tiles.check_tile(zi, xi, yi)
    tag = tiles.etag(layer, zi, xi, yi)
    # A shared cache must never hand an internal layer's tile to the public: only the browser may keep it.
    sharing = "public" if layer.visibility == "public" else "private"
    headers = {"ETag": f'"{tag}"', "Cache-Control": f"{sharing}, max-age=0, must-revalidate"}
    if tag in request.if_none_match:
        return Response(status=304, headers=headers)  # answered from the catalog row alone
    data = tiles.tile(db_read_session(), layer, zi, xi, yi)
    return Response(data, mimetype="application/vnd.mapbox-vector-tile", headers=headers)


@api_bp.get("/identify")
@open_to("everyone; internal layers are a 404 for non-staff")
def identify_point():
    lon = finite_float(request.args.get("lon"), "lon")
    lat = finite_float(request.args.get("lat"), "lat")
    tolerance = finite_float(request.args.get("tolerance_m", "5"), "tolerance_m")
    names = [n for n in request.args.get("layers", "").split(",") if n] or None
    results = identify.identify(db_read_session(), lon, lat, tolerance_m=tolerance, names=names,
                                include_internal=is_staff())
    return {"lon": lon, "lat": lat, "tolerance_m": tolerance, "layers": results}
