"""OGC API - Features (Part 1 Core, Part 2 CRS by reference, Part 3 Filtering, Part 4 Create/Replace/Update/Delete)
and OGC API - Tiles under /ogc, the same tiles in XYZ form under /api/layers, and identify; items and tiles also as
they were at an instant (`at=`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import folium
from flask import Blueprint, Response, current_app, render_template, request, url_for

from gisserver.accounts.auth import actor_label, is_staff, require_roles
from gisserver.core.access import on_primary, on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound, PayloadTooLarge
from gisserver.core.http import (
    allow_other_origins,
    db_read_connection,
    db_read_session,
    db_session,
    finite_float,
    json_body,
    negotiate,
)
from gisserver.core.maps import city_map, embed_map
from layers import catalog, cql, editing, features, history, identify, served, tiles, tilesets
from layers.catalog import data_table
from layers.crs import CRS84, SERVED_CRS, STORAGE_CRS, ServedCrs, served_crs, stored_box
from layers.models import Layer
from layers.openapi import openapi_document

bp = Blueprint("ogc", __name__, url_prefix="/ogc", template_folder="templates")
bp.after_request(allow_other_origins)  # every /ogc route is a public read
api_bp = Blueprint("identify", __name__, url_prefix="/api")
# The XYZ form of the tiles ({z}/{x}/{y}, as Leaflet and most web maps ask) beside the catalog API: the same tiles
# as OGC API - Tiles' {tileMatrix}/{tileRow}/{tileCol}, at a path that does not claim to be OGC's.
xyz_bp = Blueprint("xyz", __name__, url_prefix="/api/layers")
xyz_bp.after_request(allow_other_origins)  # public reads too

JSON = "application/json"
MVT = "application/vnd.mapbox-vector-tile"
GEOJSON = "application/geo+json"
HTML = "text/html"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
RESERVED = {"f", "limit", "offset", "cursor", "bbox", "bbox-crs", "datetime", "filter", "filter-lang", "filter-crs",
            "crs", "at"}
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
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
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/optimistic-locking-etags",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
]
PAGE = {"json": JSON, "html": HTML}


def _url(endpoint: str, **values) -> str:
    return url_for(endpoint, _external=True, **values)


def _layer(collection_id: str) -> Layer:
    """The layer, or a 404 when it is internal and the caller is not staff."""
    return catalog.get_layer(db_read_session(), collection_id, include_internal=is_staff())


def _json(body, mimetype: str = JSON, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), mimetype=mimetype, headers=headers)


def _alternate(endpoint: str, answered_in: str, **values) -> dict:
    """The link to the same resource in the other format (Part 1 requires it for HTML and JSON alike)."""
    if answered_in == "html":
        return {"href": _url(endpoint, f="json", **values), "rel": "alternate", "type": JSON, "title": "as JSON"}
    return {"href": _url(endpoint, f="html", **values), "rel": "alternate", "type": HTML, "title": "as HTML"}


@bp.get("")
@bp.get("/")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def landing():
    fmt = negotiate(PAGE)
    body = {
        "title": "gisserver",
        "description": "Map layers of the city as OGC API - Features and OGC API - Tiles (vector tiles)",
        "links": [
            {"href": _url("ogc.landing"), "rel": "self", "type": PAGE[fmt], "title": "this document"},
            _alternate("ogc.landing", fmt),
            {"href": _url("ogc.api"), "rel": "service-desc", "type": OPENAPI, "title": "API definition"},
            {"href": _url("ogc.conformance"), "rel": "conformance", "type": JSON, "title": "conformance classes"},
            {"href": _url("ogc.collections"), "rel": "data", "type": JSON, "title": "collections"},
            {"href": _url("ogc.tile_matrix_sets"), "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
             "type": JSON, "title": "tile matrix sets"},
        ],
    }
    if fmt == "html":
        return render_template("ogc/landing.html", body=body)
    return _json(body)


@bp.get("/api")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def api():
    negotiate({"json": OPENAPI})  # no HTML rendering of the API definition: 406 for f=html
    return _json(openapi_document(_url("ogc.landing").rstrip("/")), OPENAPI)


@bp.get("/conformance")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def conformance():
    fmt = negotiate(PAGE)
    body = {"conformsTo": CONFORMANCE}
    if fmt == "html":
        return render_template("ogc/conformance.html", body=body)
    return _json(body)


def _collection(layer: Layer) -> dict:
    extent = layer.extent or [-180, -90, 180, 90]
    name = layer.name
    return {
        "id": name,
        "title": layer.title,
        "description": layer.description,
        "keywords": [k for k in (layer.category, layer.group_name) if k],
        "itemType": "feature",
        # Part 2: every CRS the items can be served in (crs=) and boxes and filters given in (bbox-crs, filter-crs).
        "crs": list(SERVED_CRS),
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [extent], "crs": CRS84}},
        # How the items pages say how many features match (OGC API - Features leaves it to the server).
        "numberMatchedPolicy": features.number_matched_policy(_count_limit()),
        "links": [
            {"href": _url("ogc.collection", collection_id=name), "rel": "self", "type": JSON},
            {"href": _url("ogc.collection", collection_id=name, f="html"), "rel": "alternate", "type": HTML,
             "title": "as HTML"},
            {"href": _url("ogc.items", collection_id=name), "rel": "items", "type": GEOJSON, "title": "features"},
            {"href": _url("ogc.items", collection_id=name, f="html"), "rel": "items", "type": HTML,
             "title": "features as HTML"},
            {"href": _url("ogc.queryables", collection_id=name),
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables", "type": "application/schema+json",
             "title": "queryables"},
            {"href": _url("ogc.tilesets", collection_id=name),
             "rel": "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector", "type": JSON,
             "title": "vector tilesets (OGC API - Tiles)"},
        ],
    }


@bp.get("/collections")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def collections():
    fmt = negotiate(PAGE)
    layers = catalog.list_layers(db_read_session(), catalog.LayerFilter(include_internal=is_staff()))
    body = {
        "links": [{"href": _url("ogc.collections"), "rel": "self", "type": PAGE[fmt]},
                  _alternate("ogc.collections", fmt)],
        "collections": [_collection(layer) for layer in layers],
    }
    if fmt == "html":
        return render_template("ogc/collections.html", body=body, layers=layers)
    return _json(body)


@bp.get("/collections/<collection_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def collection(collection_id: str):
    fmt = negotiate(PAGE)
    layer = _layer(collection_id)
    body = _collection(layer)
    if fmt == "html":
        return render_template("ogc/collection.html", body=body, layer=layer)
    return _json(body)


_JSON_TYPES = {"text": "string", "integer": "integer", "bigint": "integer", "double": "number",
               "boolean": "boolean", "date": "string", "timestamp": "string"}


@bp.get("/collections/<collection_id>/queryables")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def queryables(collection_id: str):
    fmt = negotiate({"json": "application/schema+json", "html": HTML})
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
    if fmt == "html":
        return render_template("ogc/queryables.html", body=body, layer=layer)
    return _json(body, "application/schema+json")


def _data_at(layer: Layer) -> history.DataAt | None:
    """The layer as it was at the instant of the `at` parameter (None: as it is now)."""
    instant = history.parse_instant(request.args.get("at"))
    return history.state_at(db_read_session(), layer, instant) if instant else None


def _output_crs(html: bool) -> ServedCrs:
    """The crs parameter (Part 2); HTML pages draw their maps in longitude/latitude whatever it says."""
    crs = served_crs(request.args.get("crs"), "crs")
    return STORAGE_CRS if html else crs


def _item_query(layer: Layer, html: bool) -> features.ItemQuery:
    at = _data_at(layer)
    attributes = at.attributes if at is not None else layer.attributes
    names = {a["name"] for a in attributes}
    unknown = [k for k in request.args if k not in RESERVED and k not in names]
    if unknown:
        raise Invalid(f"unknown parameter(s): {', '.join(unknown)}", {"queryables": sorted(names)})
    bbox_crs = served_crs(request.args.get("bbox-crs"), "bbox-crs")
    filter_crs = served_crs(request.args.get("filter-crs"), "filter-crs")
    q = features.ItemQuery(
        limit=features.parse_limit(request.args.get("limit")),
        offset=features.parse_offset(request.args.get("offset")),
        after=features.parse_cursor(request.args.get("cursor")),
        bbox=features.parse_bbox(request.args.get("bbox"), bbox_crs),
        datetime_range=features.parse_datetime(request.args.get("datetime")),
        properties={k: v for k, v in request.args.items() if k in names},
        at=at,
        crs=_output_crs(html),
    )
    if q.bbox is not None and not bbox_crs.is_geographic:
        # A box in metres: PostGIS turns it into the longitude/latitude polygon it covers, once.
        q.area, q.bbox = stored_box(db_read_session(), q.bbox, bbox_crs, "bbox-crs"), None
    if request.args.get("filter"):
        # In the past, the filter speaks of the attributes the layer had then, over the rows valid then.
        schema, table = (layer, data_table(layer)) if at is None else (at, at.rows)
        if table is not None:
            q.filter_expression = cql.parse_filter(request.args["filter"], request.args.get("filter-lang"), schema,
                                                   table, filter_crs, db_read_session())
    return q


def _page_text(collection_id: str, limit: int, offset: int, html: bool) -> features.PageText:
    """The page's time stamp and links as JSON text for PostGIS to write in. Each link is this request's URL with
    its parameters (each once) changed; `next` carries the cursor (keyset paging: the next page starts after this
    page's last id, however deep it is), which the database fills in."""
    base = request.base_url  # this request's own URL, which url_for would build again
    args = request.args.to_dict()

    def link(rel: str, mimetype: str, **changes) -> dict:
        changed = {k: v for k, v in args.items() if k not in changes}
        changed.update({k: str(v) for k, v in changes.items() if v is not None})
        return {"href": f"{base}?{urlencode(changed)}" if changed else base, "rel": rel, "type": mimetype}

    mimetype, f = (HTML, "html") if html else (GEOJSON, None)
    links = [
        link("self", mimetype),
        link("alternate", GEOJSON if html else HTML, f="json" if html else "html"),
        {"href": base.removesuffix("/items"), "rel": "collection", "type": JSON},
    ]
    if offset > 0:
        links.append(link("prev", mimetype, offset=max(offset - limit, 0) or None, f=f))
    # The cursor's place in the next link (a NUL, %00 in the URL), where the database puts the page's last id.
    head, tail = json.dumps(link("next", mimetype, cursor="\0", offset=None, f=f), ensure_ascii=False).split("%00", 1)
    stamp = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return features.PageText(stamp=stamp, links=json.dumps(links, ensure_ascii=False)[1:-1], next_head=head,
                             next_tail=tail)


def _page_map(layer: Layer, page_features: list[dict]):
    """A small map of the page's features (geometry only: the table beside it shows the properties)."""
    m = city_map(current_app.config["SETTINGS"], height=360)
    shapes = [{"type": "Feature", "id": f["id"], "geometry": f["geometry"], "properties": {}}
              for f in page_features if f.get("geometry")]
    if shapes:
        style = layer.style or {}
        colour = style.get("stroke") or style.get("fill") or "#0b4f6c"
        folium.GeoJson({"type": "FeatureCollection", "features": shapes},
                       style_function=lambda _f: {"color": colour, "weight": 2, "fillOpacity": 0.3}).add_to(m)
        lons = [c[0] for f in shapes for c in _coordinates(f["geometry"])]
        lats = [c[1] for f in shapes for c in _coordinates(f["geometry"])]
        m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], max_zoom=18)
    return embed_map(m, url_for("static", filename=""))


def _coordinates(geometry: dict):
    if geometry["type"] == "GeometryCollection":
        for part in geometry["geometries"]:
            yield from _coordinates(part)
        return
    stack = [geometry["coordinates"]]
    while stack:
        value = stack.pop()
        if value and isinstance(value[0], int | float):
            yield value
        else:
            stack.extend(value)


@bp.get("/collections/<collection_id>/items")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def items(collection_id: str):
    html = negotiate({"geojson": GEOJSON, "json": JSON, "html": HTML}) == "html"
    # The page's links depend on the request alone, so they are written before the layer is known.
    text = _page_text(collection_id, features.parse_limit(request.args.get("limit")),
                      features.parse_offset(request.args.get("offset")), html)
    if request.args.get("at"):
        # The layer as it was: its past attributes and rows (history.state_at), not the served catalog entry.
        layer = _layer(collection_id)
        body = features.page_json(db_read_session().connection(), layer, _item_query(layer, html), text,
                                  count_limit=_count_limit(), check=None)
    else:
        body = features.served_page(db_read_connection(), collection_id, lambda layer: _item_query(layer, html),
                                    text, staff=is_staff(), count_limit=_count_limit())
    if not html:
        # PostGIS wrote the whole answer; it goes out as it came.
        return Response(body, mimetype=GEOJSON, headers={"Content-Crs": _output_crs(html).content_crs})
    page = json.loads(body)
    layer = _layer(collection_id)
    return render_template("ogc/items.html", layer=layer, features=page["features"], page=page,
                           links=page["links"], map=_page_map(layer, page["features"]))


def _count_limit() -> int:
    return current_app.config["SETTINGS"].ogc_exact_count_limit


@bp.get("/collections/<collection_id>/items/<feature_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def item(collection_id: str, feature_id: str):
    fmt = negotiate({"geojson": GEOJSON, "json": JSON, "html": HTML})
    layer = _layer(collection_id)
    crs = _output_crs(fmt == "html")
    found = features.item(db_read_session(), layer, feature_id, _data_at(layer), crs)
    if fmt == "html":
        feature = json.loads(found.feature_json)
        return render_template("ogc/item.html", layer=layer, feature=feature, map=_page_map(layer, [feature]))
    values = {"collection_id": layer.name, "feature_id": feature_id}
    links = json.dumps([
        {"href": _url("ogc.item", **values), "rel": "self", "type": GEOJSON},
        {"href": _url("ogc.item", f="html", **values), "rel": "alternate", "type": HTML, "title": "as HTML"},
        {"href": _url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": JSON},
    ])
    # The ETag names the feature's version: a client sends it back in If-Match to edit that version only.
    return Response(found.feature_json[:-1] + ', "links": ' + links + "}", mimetype=GEOJSON,
                    headers={"Content-Crs": crs.content_crs, "ETag": editing.etag_of(found.change_id)})


# -- OGC API - Tiles -------------------------------------------------------------------------------------------

TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
TILE_TEMPLATE = "/{tileMatrix}/{tileRow}/{tileCol}"


def _check_matrix_set(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != tilesets.WEB_MERCATOR_QUAD:
        raise NotFound(f"no tile matrix set {tile_matrix_set_id!r}; there is {tilesets.WEB_MERCATOR_QUAD}")


def _matrix_set_url() -> str:
    return _url("ogc.tile_matrix_set", tile_matrix_set_id=tilesets.WEB_MERCATOR_QUAD)


@bp.get("/tileMatrixSets")
@open_to("everyone; a fixed definition")
@on_replica
def tile_matrix_sets():
    negotiate({"json": JSON})
    return _json({
        "links": [{"href": _url("ogc.tile_matrix_sets"), "rel": "self", "type": JSON}],
        "tileMatrixSets": [{"id": tilesets.WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
                            "uri": tilesets.TMS_URI, "crs": tilesets.EPSG_3857,
                            "links": [{"href": _matrix_set_url(), "rel": "self", "type": JSON}]}],
    })


@bp.get("/tileMatrixSets/<tile_matrix_set_id>")
@open_to("everyone; a fixed definition")
@on_replica
def tile_matrix_set(tile_matrix_set_id: str):
    negotiate({"json": JSON})
    _check_matrix_set(tile_matrix_set_id)
    return _json(tilesets.tile_matrix_set())


def _tileset_links(name: str) -> list[dict]:
    tileset_url = _url("ogc.tileset", collection_id=name, tile_matrix_set_id=tilesets.WEB_MERCATOR_QUAD)
    return [
        {"href": tileset_url, "rel": "self", "type": JSON, "title": "tileset"},
        {"href": _matrix_set_url(), "rel": TILING_SCHEME, "type": JSON, "title": "WebMercatorQuad"},
    ]


@bp.get("/collections/<collection_id>/tiles", endpoint="tilesets")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def tilesets_list(collection_id: str):
    negotiate({"json": JSON})
    layer = _layer(collection_id)
    return _json({
        "links": [
            {"href": _url("ogc.tilesets", collection_id=layer.name), "rel": "self", "type": JSON},
            {"href": _url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": JSON},
        ],
        "tilesets": [{"title": layer.title, "dataType": "vector", "crs": tilesets.EPSG_3857,
                      "tileMatrixSetURI": tilesets.TMS_URI, "links": _tileset_links(layer.name)}],
    })


@bp.get("/collections/<collection_id>/tiles/<tile_matrix_set_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def tileset(collection_id: str, tile_matrix_set_id: str):
    fmt = negotiate({"json": JSON, "tilejson": JSON})
    layer = _layer(collection_id)
    _check_matrix_set(tile_matrix_set_id)
    view = tiles.tile_view(db_read_session(), layer)
    tileset_url = _url("ogc.tileset", collection_id=layer.name, tile_matrix_set_id=tile_matrix_set_id)
    if fmt == "tilejson":
        return _json(tiles.tilejson(layer, view, tileset_url + "/{z}/{y}/{x}"))
    links = [
        *_tileset_links(layer.name),
        {"href": tileset_url + TILE_TEMPLATE, "rel": "item", "type": MVT, "templated": True,
         "title": "Mapbox vector tile; tileMatrix = zoom, tileRow = y, tileCol = x"},
        {"href": tileset_url + "?f=tilejson", "rel": "alternate", "type": JSON, "title": "TileJSON"},
        {"href": _url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": JSON},
    ]
    return _json(tilesets.tileset(layer, view, links))


@bp.get("/collections/<collection_id>/tiles/<tile_matrix_set_id>/<tile_matrix>/<tile_row>/<tile_col>")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def tile(collection_id: str, tile_matrix_set_id: str, tile_matrix: str, tile_row: str, tile_col: str):
    _check_matrix_set(tile_matrix_set_id)
    z, x, y = tiles.parse_zxy(tile_matrix, tile_col, tile_row)
    return _tile_response(collection_id, z, x, y)


def _tile_response(name: str, z: int, x: int, y: int) -> Response:
    """A vector tile with its ETag, in one statement that also checks the process's catalog entry of the layer;
    a 304 when the client has it (after a check of the entry alone, or for an instant from the few index lookups
    of its state's key)."""
    tiles.check_tile(z, x, y)
    if request.args.get("at"):
        layer = _layer(name)
        at = _data_at(layer)
        session = db_read_session()
        tag = tiles.etag(layer, z, x, y, history.state_key(session, layer, at))
        return _tile_answer(layer, tag, lambda: tiles.tile(session.connection(), layer, z, x, y, at), lambda: True)
    staff, conn = is_staff(), db_read_connection()

    def answer(layer: served.Served, _fresh: bool) -> Response | None:
        return _tile_answer(layer, tiles.etag(layer, z, x, y),
                            lambda: tiles.tile(conn, layer, z, x, y, check=layer.check_params(staff)),
                            lambda: served.check(conn, layer, staff=staff))

    return served.serve(conn, name, answer, staff=staff)


def _tile_answer(layer, tag: str, build, still_valid) -> Response | None:
    """The tile *build()* makes (None: the entry behind it was stale), or a 304 when the client has it."""
    # A shared cache must never hand an internal layer's tile to the public: only the browser may keep it. A public
    # one it may serve for a moment without asking (s-maxage; the nginx tile cache of scripts/cluster.sh).
    if layer.visibility == "public":
        shared = current_app.config["SETTINGS"].tile_cache_seconds
        sharing = f"public, s-maxage={shared}" if shared > 0 else "public"
    else:
        sharing = "private"
    headers = {"ETag": f'"{tag}"', "Cache-Control": f"{sharing}, max-age=0, must-revalidate"}
    if tag in request.if_none_match:
        return Response(status=304, headers=headers) if still_valid() else None
    data = build()
    return Response(data, mimetype=MVT, headers=headers) if data is not None else None


@xyz_bp.get("/<name>/tiles/<z>/<x>/<y>.mvt")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def tile_xyz(name: str, z: str, x: str, y: str):
    zi, xi, yi = tiles.parse_zxy(z, x, y)
    return _tile_response(name, zi, xi, yi)


@xyz_bp.get("/<name>/tiles.json")
@open_to("everyone; an internal layer is a 404 for non-staff")
@on_replica
def tilejson_xyz(name: str):
    layer = _layer(name)
    template = _url("xyz.tile_xyz", name=layer.name, z=0, x=0, y=0).replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")
    return _json(tiles.tilejson(layer, tiles.tile_view(db_read_session(), layer), template))


# -- identify -----------------------------------------------------------------------------------------------------


@api_bp.get("/identify")
@open_to("everyone; internal layers are a 404 for non-staff")
@on_replica
def identify_point():
    lon = finite_float(request.args.get("lon"), "lon")
    lat = finite_float(request.args.get("lat"), "lat")
    tolerance = finite_float(request.args.get("tolerance_m", "5"), "tolerance_m")
    names = [n for n in request.args.get("layers", "").split(",") if n] or None
    results = identify.identify(db_read_session(), lon, lat, tolerance_m=tolerance, names=names,
                                include_internal=is_staff())
    return {"lon": lon, "lat": lat, "tolerance_m": tolerance, "layers": results}


# -- OGC API - Features Part 4: create, replace, update and delete features ------------------------------------


def _writable(collection_id: str):
    session = db_session()
    return session, catalog.get_layer(session, collection_id, include_internal=True)


def _feature_body(partial: bool = False) -> editing.Edit:
    too_large = PayloadTooLarge(f"a feature is at most {editing.MAX_FEATURE_BYTES // 1024**2} MB",
                                {"limit_bytes": editing.MAX_FEATURE_BYTES})
    if (request.content_length or 0) > editing.MAX_FEATURE_BYTES:
        raise too_large
    if len(request.get_data(cache=True)) > editing.MAX_FEATURE_BYTES:
        raise too_large
    return editing.edit_from_feature(json_body(), partial=partial)


def _content_crs() -> ServedCrs:
    return served_crs(request.headers.get("Content-Crs"), "Content-Crs")


def _if_match() -> list[str] | None:
    if "If-Match" not in request.headers:
        return None
    return ["*"] if request.if_match.star_tag else sorted(request.if_match.as_set())


def _comment() -> str:
    comment = request.args.get("comment", "")
    if len(comment) > 2000:
        raise Invalid("comment is at most 2000 characters", {"parameter": "comment"})
    return comment


def _written(session, layer: Layer, result: editing.EditResult, status: int) -> Response:
    session.commit()
    location = _url("ogc.item", collection_id=layer.name, feature_id=result.fid)
    # The feature as stored, in CRS84 whatever the body's Content-Crs was (GET it with crs= for another).
    headers = {"ETag": result.etag, "Location": location, "Content-Crs": STORAGE_CRS.content_crs}
    found = features.item(session, layer, str(result.fid))
    return Response(found.feature_json, status=status, mimetype=GEOJSON, headers=headers)


@bp.post("/collections/<collection_id>/items")
@require_roles("planner")
@on_primary("writes a feature (OGC API - Features Part 4)")
def create_item(collection_id: str):
    session, layer = _writable(collection_id)
    result = editing.create_feature(session, layer, _feature_body(), actor=actor_label(), comment=_comment(),
                                    crs=_content_crs())
    return _written(session, layer, result, 201)


@bp.put("/collections/<collection_id>/items/<feature_id>")
@require_roles("planner")
@on_primary("writes a feature (OGC API - Features Part 4)")
def replace_item(collection_id: str, feature_id: str):
    session, layer = _writable(collection_id)
    result = editing.change_feature(session, layer, feature_id, _feature_body(), actor=actor_label(),
                                    comment=_comment(), crs=_content_crs(), if_match=_if_match(), partial=False,
                                    require_if_match=True)
    return _written(session, layer, result, 200)


@bp.patch("/collections/<collection_id>/items/<feature_id>")
@require_roles("planner")
@on_primary("writes a feature (OGC API - Features Part 4)")
def update_item(collection_id: str, feature_id: str):
    session, layer = _writable(collection_id)
    result = editing.change_feature(session, layer, feature_id, _feature_body(partial=True), actor=actor_label(),
                                    comment=_comment(), crs=_content_crs(), if_match=_if_match(), partial=True,
                                    require_if_match=True)
    return _written(session, layer, result, 200)


@bp.delete("/collections/<collection_id>/items/<feature_id>")
@require_roles("planner")
@on_primary("writes a feature (OGC API - Features Part 4)")
def delete_item(collection_id: str, feature_id: str):
    session, layer = _writable(collection_id)
    editing.delete_feature(session, layer, feature_id, actor=actor_label(), comment=_comment(), if_match=_if_match(),
                           require_if_match=True)
    session.commit()
    return Response(status=204)
