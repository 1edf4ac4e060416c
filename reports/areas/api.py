"""HTTP API of areas: administrative areas (list, boundaries, point lookup) and the address gazetteer."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from gisserver.accounts.auth import is_staff
from gisserver.core.access import on_replica, open_to
from gisserver.core.exceptions import Invalid, NotFound
from gisserver.core.http import date_arg, db_session, int_arg, lonlat_args
from reports.areas import gazetteer
from reports.areas import service as area_service
from reports.areas import sql as geo

bp = Blueprint("areas", __name__, url_prefix="/api")


def _area_json(area) -> dict:
    return {"code": area.code, "name": area.name, "level": area.level, "valid_from": area.valid_from.isoformat(),
            "valid_to": area.valid_to.isoformat() if area.valid_to else None}


@bp.get("/areas")
@open_to("everyone; area names and codes")
@on_replica
def list_areas():
    session = db_session()
    rows = area_service.list_areas(session, level=request.args.get("level") or None,
                                   parent_code=request.args.get("parent") or None)
    return {"areas": [_area_json(a) for a in rows]}


@bp.get("/areas.geojson")
@open_to("everyone; area boundaries")
@on_replica
def areas_geojson():
    level = request.args.get("level", "ward")
    if level not in ("city", "ward", "group"):
        raise Invalid("level must be city, ward or group", {"field": "level"})
    session = db_session()
    parent = request.args.get("parent")
    parent_id = area_service.area_by_code(session, parent).id if parent else None
    text = geo.areas_geojson(session, level, parent_id)
    return current_app.response_class(text, mimetype="application/geo+json")


@bp.get("/areas/lookup")
@open_to("everyone; point to area")
@on_replica
def lookup_area():
    lon, lat = lonlat_args()
    chain = area_service.area_chain_for_point(db_session(), lon, lat, on=date_arg("on"))
    return {"areas": [_area_json(a) for a in chain], "inside_city": bool(chain)}


@bp.get("/geocode")
@open_to("everyone; the public gazetteer")
@on_replica
def geocode():
    limit = int_arg("limit", 10)
    session, q = db_session(), request.args.get("q", "")
    addresses = gazetteer.search(session, q, limit=limit, include_internal=is_staff())
    areas = gazetteer.search_areas(session, q, limit=min(3, limit)) if request.args.get("areas") == "true" else []
    places = sorted(areas + addresses, key=lambda p: -p.score)[:limit]
    return {"places": [{"label": p.label, "lon": round(p.lon, 7), "lat": round(p.lat, 7), "score": p.score,
                        "kind": p.kind, **({"bbox": [round(v, 7) for v in p.bbox]} if p.bbox else {})}
                       for p in places]}


@bp.get("/geocode/reverse")
@open_to("everyone; the public gazetteer")
@on_replica
def reverse_geocode():
    lon, lat = lonlat_args()
    place = gazetteer.reverse(db_session(), lon, lat, include_internal=is_staff())
    if place is None:
        raise NotFound("no address near this point")
    return {"label": place.label, "lon": round(place.lon, 7), "lat": round(place.lat, 7), "distance_m": place.score}
