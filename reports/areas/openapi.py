"""OpenAPI paths of areas and the address gazetteer."""

from __future__ import annotations

from gisserver.core.openapi import (
    BOOLEAN,
    GEOJSON,
    JSON,
    LAT,
    LON,
    NUMBER,
    POINT,
    STRING,
    list_of,
    obj,
    op,
    param,
    ref,
)


def document() -> dict:
    """This domain's part of /api/openapi.json."""
    return {"paths": PATHS, "schemas": SCHEMAS}


SCHEMAS = {
    "Area": obj(("code", "name", "level", "valid_from", "valid_to"), code=STRING, name=STRING,
                level={"type": "string", "enum": ["city", "ward", "group"]},
                valid_from={"type": "string", "format": "date"},
                valid_to={"type": "string", "format": "date", "nullable": True}),
}

PATHS = {
    "/api/areas": {"get": op("administrative areas", "areas", params=[
        param("level", {"type": "string", "enum": ["city", "ward", "group"]}), param("parent", STRING)],
        ok=(200, JSON, list_of("areas", ref("Area"))))},
    "/api/areas.geojson": {"get": op("area outlines", "areas", params=[
        param("level", {"type": "string", "enum": ["city", "ward", "group"]}), param("parent", STRING)],
        ok=(200, GEOJSON, ref("FeatureCollection")))},
    "/api/areas/lookup": {"get": op("the areas containing a point", "areas", params=[
        *POINT, param("on", {"type": "string", "format": "date"})],
        ok=(200, JSON, list_of("areas", ref("Area"), inside_city=BOOLEAN)))},
    "/api/geocode": {"get": op("addresses matching a text, with or without diacritics", "areas", params=[
        param("q", STRING), param("limit", {"type": "integer", "minimum": 1, "maximum": 50})],
        ok=(200, JSON, list_of("places", {"type": "object"})))},
    "/api/geocode/reverse": {"get": op("the nearest address", "areas", params=POINT,
                                       ok=(200, JSON, obj(("label", "lon", "lat"), label=STRING, lon=LON,
                                                          lat=LAT, distance_m=NUMBER)))},
}
