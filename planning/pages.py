"""The planners' workspace pages and the public pages of planning projects.

Pages are thin: they read through the services of layers/ and planning/, and hand the browser a JSON
configuration (a <script type="application/json"> block) that the page's script in static/js reads; no inline
script, so the pages keep to a strict Content-Security-Policy.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from gisserver.accounts.auth import is_staff, page_roles
from gisserver.core.access import on_replica, open_to
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session
from gisserver.core.maps import base_map_layers
from layers import catalog, history
from layers.reading import SUFFIXES
from planning import projects
from planning.models import STATUSES
from reports.areas.service import list_areas

bp = Blueprint("planning_pages", __name__, template_folder="templates")
STATUS_LABELS = {"draft": _l("Draft"), "consultation": _l("Under consultation"), "approved": _l("Approved"),
                 "superseded": _l("Superseded"), "cancelled": _l("Cancelled")}


def workspace_context() -> dict:
    """For every page template: the base map the workspace's maps draw (the configured tiles, or else the city's
    own base map layers)."""

    def base_map_config() -> dict:
        settings = current_app.config["SETTINGS"]
        if settings.basemap_url:
            return {"url": settings.basemap_url, "attribution": settings.basemap_attribution or "Base map",
                    "layers": []}
        return {"url": "", "layers": base_map_layers()}

    return {"base_map_config": base_map_config}


def layer_entry(layer) -> dict:
    """What the workspace's map script needs to draw a layer (small ones as GeoJSON, large ones as tiles)."""
    entry = {"name": layer.name, "title": layer.title, "style": layer.style or {}, "geometry": layer.geometry_type,
             "count": layer.feature_count, "extent": layer.extent,
             "items": url_for("ogc.items", collection_id=layer.name),
             "tiles": url_for("xyz.tile_xyz", name=layer.name, z=0, x=0, y=0).replace("/0/0/0.mvt", "/{z}/{x}/{y}.mvt")}
    entry["kind"] = "geojson" if layer.feature_count <= 2000 else "tiles"
    return entry


def _areas(session) -> dict[str, str]:
    return {a.code: a.name for a in list_areas(session)}


@bp.get("/planning/projects")
@open_to("everyone; drafts are listed only for staff")
@on_replica
def project_list():
    session = db_session()
    year = request.args.get("year", "")
    if year and not (year.isdigit() and len(year) == 4):
        raise Invalid("year must be a year, e.g. 2025", {"parameter": "year"})
    status = request.args.get("status") or None
    if status and status not in STATUSES:
        raise Invalid("unknown status", {"parameter": "status"})
    f = projects.ProjectFilter(area=request.args.get("area") or None, status=status, year=int(year) if year else None,
                               text=request.args.get("q") or None, include_drafts=is_staff())
    areas = _areas(session)
    return render_template("planning/projects.html", projects=projects.list_projects(session, f), areas=areas,
                           statuses=STATUS_LABELS, args=request.args,
                           config={"api": url_for("planning_api.list_projects"),
                                   "page": url_for("planning_pages.project_page", code="CODE")})


@bp.get("/planning/projects/<code>")
@open_to("everyone; a draft is a 404 for non-staff, internal layers are left out for them")
@on_replica
def project_page(code: str):
    session = db_session()
    project = projects.get_project(session, code, include_drafts=is_staff())
    layers = projects.layers_of(session, project, include_internal=is_staff())
    areas = _areas(session)
    config = {"layers": [layer_entry(layer) for layer in layers],
              "areas": url_for("areas.areas_geojson", level="ward"),
              "project": projects.project_json(project),
              "api": url_for("planning_api.get_project", code=project.code),
              "documents": url_for("planning_api.add_document", code=project.code)}
    return render_template("planning/project.html", project=project, layers=layers,
                           documents=projects.documents_of(session, project), areas=areas,
                           statuses=STATUS_LABELS, config=config)


# -- the planners' workspace --------------------------------------------------------------------------------------

CATEGORY_LABELS = {
    "planning": _l("Planning"), "infrastructure": _l("Infrastructure"), "flood": _l("Flood"),
    "environment": _l("Environment"), "disaster": _l("Disaster prevention"), "administrative": _l("Administrative"),
    "other": _l("Other"),
}
CHANGE_LABELS = {
    "import": _l("imported the data"), "replace": _l("replaced the data"), "create": _l("drew a feature"),
    "update": _l("changed a feature"), "delete": _l("deleted a feature"), "restore": _l("restored a feature"),
    "restore_layer": _l("restored the layer"),
}
FREQUENCY_LABELS = {
    "continual": _l("Continually"), "daily": _l("Daily"), "weekly": _l("Weekly"), "monthly": _l("Monthly"),
    "quarterly": _l("Quarterly"), "annually": _l("Yearly"), "as_needed": _l("When needed"),
    "irregular": _l("Irregularly"), "not_planned": _l("Not planned"),
}


def _planner_layer(name: str):
    session = db_session()
    return session, catalog.get_layer(session, name, include_internal=True)


@bp.get("/planning")
@page_roles("planner")
@on_replica
def catalog_page():
    session = db_session()
    args = request.args
    category = args.get("category") or None
    if category and category not in CATEGORY_LABELS:
        raise Invalid("unknown category", {"parameter": "category"})
    visibility = args.get("visibility") or None
    if visibility and visibility not in ("public", "internal"):
        raise Invalid("visibility is public or internal", {"parameter": "visibility"})
    layers = catalog.list_layers(session, catalog.LayerFilter(category=category, text=args.get("q") or None,
                                                              include_internal=True))
    if visibility:
        layers = [layer for layer in layers if layer.visibility == visibility]
    by_layer = projects.projects_by_layer(session, include_drafts=True)
    project = args.get("project") or None
    if project:
        layers = [layer for layer in layers if any(p.code == project for p in by_layer.get(layer.id, []))]
    return render_template("planning/catalog.html", layers=layers, by_layer=by_layer, args=args,
                           categories=CATEGORY_LABELS,
                           all_projects=projects.list_projects(session, projects.ProjectFilter(include_drafts=True)))


@bp.get("/planning/layers/<name>")
@page_roles("planner")
@on_replica
def layer_page(name: str):
    session, layer = _planner_layer(name)
    log = history.changes(session, layer, limit=50)
    config = {
        "layer": layer_entry(layer), "areas": url_for("areas.areas_geojson", level="ward"),
        "rows": url_for("layers_api.layer_rows", name=layer.name),
        "api": url_for("layers_api.update_layer", name=layer.name),
        "restore": url_for("layers_api.restore_layer", name=layer.name),
        "attributes": layer.attributes,
        "feature_page": url_for("planning_pages.feature_page", name=layer.name, fid=0).rsplit("/0", 1)[0] + "/",
        "first_change": log[-1].at.isoformat() if log else None,
    }
    return render_template("planning/layer.html", layer=layer, changes=log, config=config,
                           projects=[p for p in projects.projects_by_layer(session, include_drafts=True)
                                     .get(layer.id, [])],
                           categories=CATEGORY_LABELS, frequencies=FREQUENCY_LABELS, kinds=CHANGE_LABELS,
                           exports=("geojson", "gpkg", "shp", "csv"))


@bp.get("/planning/layers/<name>/features/<int:fid>")
@page_roles("planner")
@on_replica
def feature_page(name: str, fid: int):
    session, layer = _planner_layer(name)
    versions = history.versions(session, layer, fid)
    config = {"versions": versions["versions"], "style": layer.style or {}, "geometry": layer.geometry_type,
              "restore": url_for("layers_api.restore_feature", name=layer.name, fid=fid)}
    return render_template("planning/feature.html", layer=layer, fid=fid, history=versions, config=config,
                           kinds=CHANGE_LABELS)


@bp.get("/planning/upload")
@page_roles("planner")
@on_replica
def upload_page():
    session = db_session()
    replace = request.args.get("replace") or None
    layer = catalog.get_layer(session, replace, include_internal=True) if replace else None
    config = {"imports": url_for("layer_imports.create_import"), "replace": layer.name if layer else None,
              "layer_page": url_for("planning_pages.layer_page", name="NAME")}
    return render_template("planning/upload.html", layer=layer, categories=CATEGORY_LABELS, config=config,
                           suffixes=sorted(SUFFIXES))


@bp.get("/planning/layers/<name>/style")
@page_roles("planner")
@on_replica
def style_page(name: str):
    _, layer = _planner_layer(name)
    config = {"layer": layer_entry(layer), "areas": url_for("areas.areas_geojson", level="ward"),
              "api": url_for("layers_api.update_layer", name=layer.name),
              "values": url_for("layers_api.attribute_values", name=layer.name),
              "breaks": url_for("layers_api.class_breaks", name=layer.name), "attributes": layer.attributes}
    return render_template("planning/style.html", layer=layer, config=config)


@bp.get("/planning/layers/<name>/edit")
@page_roles("planner")
@on_replica
def edit_page(name: str):
    _, layer = _planner_layer(name)
    config = {"layer": layer_entry(layer), "areas": url_for("areas.areas_geojson", level="ward"),
              "items": url_for("ogc.items", collection_id=layer.name),
              "check": url_for("layers_api.check_feature", name=layer.name),
              "versions": url_for("planning_pages.feature_page", name=layer.name, fid=0).rsplit("/0", 1)[0] + "/",
              "restore": url_for("layers_api.restore_feature", name=layer.name, fid=0).replace("/0/", "/FID/"),
              "attributes": layer.attributes, "geometry": layer.geometry_type}
    return render_template("planning/edit.html", layer=layer, config=config)
