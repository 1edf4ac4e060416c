"""OGC API - Tiles for every layer: tile matrix sets, the layer's tileset list and metadata, and tiles at
{tileMatrix}/{tileRow}/{tileCol} (z/y/x). Nested in the /ogc blueprint.

The XYZ form ({z}/{x}/{y}) that Leaflet asks for lives at /api/layers/<name>/tiles/ (layers/api.py), where it
does not claim to be OGC's.
"""

from __future__ import annotations

from flask import Blueprint

from gisserver.core.access import open_to
from gisserver.core.exceptions import NotFound
from gisserver.core.http import db_read_session
from layers import tiles, tilesets
from layers.web import MVT, external_url, json_response, negotiate, tile_response, visible_layer

bp = Blueprint("tiles", __name__)

JSON = "application/json"
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
CONFORMANCE = [
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
]
TILE_TEMPLATE = "/{tileMatrix}/{tileRow}/{tileCol}"


def _check_matrix_set(tile_matrix_set_id: str) -> None:
    if tile_matrix_set_id != tilesets.WEB_MERCATOR_QUAD:
        raise NotFound(f"no tile matrix set {tile_matrix_set_id!r}; there is {tilesets.WEB_MERCATOR_QUAD}")


def _matrix_set_url() -> str:
    return external_url("ogc.tiles.tile_matrix_set", tile_matrix_set_id=tilesets.WEB_MERCATOR_QUAD)


@bp.get("/tileMatrixSets")
@open_to("everyone; a fixed definition")
def tile_matrix_sets():
    negotiate({"json": JSON})
    return json_response({
        "links": [{"href": external_url("ogc.tiles.tile_matrix_sets"), "rel": "self", "type": JSON}],
        "tileMatrixSets": [{"id": tilesets.WEB_MERCATOR_QUAD, "title": "Google Maps Compatible for the World",
                            "uri": tilesets.TMS_URI, "crs": tilesets.EPSG_3857,
                            "links": [{"href": _matrix_set_url(), "rel": "self", "type": JSON}]}],
    })


@bp.get("/tileMatrixSets/<tile_matrix_set_id>")
@open_to("everyone; a fixed definition")
def tile_matrix_set(tile_matrix_set_id: str):
    negotiate({"json": JSON})
    _check_matrix_set(tile_matrix_set_id)
    return json_response(tilesets.tile_matrix_set())


def _tileset_links(name: str) -> list[dict]:
    tileset_url = external_url("ogc.tiles.tileset", collection_id=name,
                               tile_matrix_set_id=tilesets.WEB_MERCATOR_QUAD)
    return [
        {"href": tileset_url, "rel": "self", "type": JSON, "title": "tileset"},
        {"href": _matrix_set_url(), "rel": TILING_SCHEME, "type": JSON, "title": "WebMercatorQuad"},
    ]


@bp.get("/collections/<collection_id>/tiles", endpoint="tilesets")
@open_to("everyone; internal layers are a 404 for non-staff")
def tilesets_list(collection_id: str):
    negotiate({"json": JSON})
    layer = visible_layer(collection_id)
    return json_response({
        "links": [
            {"href": external_url("ogc.tiles.tilesets", collection_id=layer.name), "rel": "self", "type": JSON},
            {"href": external_url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": JSON},
        ],
        "tilesets": [{"title": layer.title, "dataType": "vector", "crs": tilesets.EPSG_3857,
                      "tileMatrixSetURI": tilesets.TMS_URI, "links": _tileset_links(layer.name)}],
    })


@bp.get("/collections/<collection_id>/tiles/<tile_matrix_set_id>")
@open_to("everyone; internal layers are a 404 for non-staff")
def tileset(collection_id: str, tile_matrix_set_id: str):
    fmt = negotiate({"json": JSON, "tilejson": JSON})
    layer = visible_layer(collection_id)
    _check_matrix_set(tile_matrix_set_id)
    view = tiles.tile_view(db_read_session(), layer)
    tileset_url = external_url("ogc.tiles.tileset", collection_id=layer.name, tile_matrix_set_id=tile_matrix_set_id)
    if fmt == "tilejson":
        return json_response(tiles.tilejson(layer, view, tileset_url + "/{z}/{y}/{x}"))
    links = [
        *_tileset_links(layer.name)[:2],
        {"href": tileset_url + TILE_TEMPLATE, "rel": "item", "type": MVT, "templated": True,
         "title": "Mapbox vector tile; tileMatrix = zoom, tileRow = y, tileCol = x"},
        {"href": tileset_url + "?f=tilejson", "rel": "alternate", "type": JSON, "title": "TileJSON"},
        {"href": external_url("ogc.collection", collection_id=layer.name), "rel": "collection", "type": JSON},
    ]
    return json_response(tilesets.tileset(layer, view, links))


@bp.get("/collections/<collection_id>/tiles/<tile_matrix_set_id>/<tile_matrix>/<tile_row>/<tile_col>")
@open_to("everyone; internal layers are a 404 for non-staff")
def tile(collection_id: str, tile_matrix_set_id: str, tile_matrix: str, tile_row: str, tile_col: str):
    layer = visible_layer(collection_id)
    _check_matrix_set(tile_matrix_set_id)
    z, x, y = tiles.parse_zxy(tile_matrix, tile_col, tile_row)
    return tile_response(db_read_session(), layer, z, x, y)
