"""HTTP API of the dashboards: the indicator catalog, dashboards and their data, exports, weekly mails, display
tokens."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Response, url_for

from gisserver.accounts.auth import actor_label, current_principal, require_roles
from gisserver.core.access import on_primary, on_replica
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session
from reports.dashboards import displays, exports, mail, service
from reports.dashboards.evaluate import Viewer, evaluate
from reports.dashboards.forms import capped_json, request_filters
from reports.dashboards.indicators import CHART_DIMENSIONS, CHART_INDICATORS, catalog_json
from reports.dashboards.labels import CHARTS, DIMENSIONS
from reports.dashboards.layerstats import layer_choices
from reports.dashboards.panels import parse_panels
from reports.summaries.hierarchy import default_area, load_hierarchy
from reports.summaries.labels import english

bp = Blueprint("dashboards", __name__, url_prefix="/api")
MIME = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def viewer() -> Viewer:
    return Viewer(current_principal(), english=english())


@bp.get("/indicators")
@require_roles("leader")
@on_replica
def indicators():
    principal = current_principal()
    return {"indicators": catalog_json(),
            "layers": layer_choices(db_session(), include_internal=principal.is_staff),
            "charts": {k: str(v) for k, v in CHARTS.items()},
            "dimensions": {k: str(v) for k, v in DIMENSIONS.items()},
            "chartDimensions": CHART_DIMENSIONS, "chartIndicators": CHART_INDICATORS}


@bp.get("/dashboards")
@require_roles("leader")
@on_replica
def list_dashboards():
    session = db_session()
    listing = service.list_dashboards(session, current_principal())
    hierarchy = load_hierarchy(session)
    return {key: [service.dashboard_json(d, hierarchy) for d in getattr(listing, key)]
            for key in ("mine", "shared", "templates")}


@bp.post("/dashboards")
@require_roles("leader")
@on_primary("writes a dashboard")
def create_dashboard():
    session = db_session()
    dashboard = service.create_dashboard(session, current_principal(), capped_json(), actor=actor_label())
    session.commit()
    return service.dashboard_json(dashboard, load_hierarchy(session)), 201


@bp.get("/dashboards/<int:dashboard_id>")
@require_roles("leader")
@on_replica
def get_dashboard(dashboard_id: int):
    session = db_session()
    return service.dashboard_json(service.get_dashboard(session, current_principal(), dashboard_id),
                                  load_hierarchy(session))


@bp.put("/dashboards/<int:dashboard_id>")
@require_roles("leader")
@on_primary("writes a dashboard")
def update_dashboard(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    dashboard = service.get_dashboard(session, principal, dashboard_id)
    service.update_dashboard(session, principal, dashboard, capped_json(), actor=actor_label())
    session.commit()
    return service.dashboard_json(dashboard, load_hierarchy(session))


@bp.delete("/dashboards/<int:dashboard_id>")
@require_roles("leader")
@on_primary("writes a dashboard")
def delete_dashboard(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    service.delete_dashboard(session, principal, service.get_dashboard(session, principal, dashboard_id))
    session.commit()
    return "", 204


@bp.post("/dashboards/<int:dashboard_id>/copy")
@require_roles("leader")
@on_primary("writes a dashboard")
def copy_dashboard(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    copy = service.copy_dashboard(session, principal, service.get_dashboard(session, principal, dashboard_id),
                                  actor=actor_label())
    session.commit()
    return service.dashboard_json(copy, load_hierarchy(session)), 201


@bp.get("/dashboards/<int:dashboard_id>/data")
@require_roles("leader")
@on_replica
def dashboard_data(dashboard_id: int):
    session = db_session()
    dashboard = service.get_dashboard(session, current_principal(), dashboard_id)
    return service.dashboard_data(session, viewer(), dashboard, request_filters())


@bp.post("/dashboards/preview")
@require_roles("leader")
@on_primary("a POST (an unsaved dashboard's figures): POSTs stay on the primary")
def preview():
    """Panels not saved yet (the editor's preview), checked and evaluated like saved ones; nothing is stored."""
    body = capped_json()
    if not isinstance(body, dict) or set(body) - {"panels"}:
        raise Invalid('send {"panels": [...]}; the filters come in the query string')
    session = db_session()
    principal = current_principal()
    panels = parse_panels(body.get("panels", []))
    filters = request_filters()
    service.check_panels(session, principal, panels, filters)
    if filters.area is None:
        start = default_area(load_hierarchy(session), principal)
        if start is None:
            raise Invalid("give the area", {"field": "area"})
        filters = replace(filters, area=start.code)
    return evaluate(session, viewer(), panels, filters)


@bp.get("/dashboards/<int:dashboard_id>/export.<fmt>")
@require_roles("leader")
@on_replica
def export_dashboard(dashboard_id: int, fmt: str):
    if fmt not in MIME:
        raise Invalid("export as pdf or xlsx", {"field": "format"})
    session = db_session()
    dashboard = service.get_dashboard(session, current_principal(), dashboard_id)
    data = service.dashboard_data(session, viewer(), dashboard, request_filters())
    body = exports.dashboard_pdf(dashboard.title, data, english()) if fmt == "pdf" else exports.dashboard_xlsx(
        dashboard.title, data)
    name = f"dashboard-{dashboard.id}-{data['area']['code']}-{data['period']['from']}-{data['period']['to']}"
    return Response(body, mimetype=MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"', "X-Content-Type-Options": "nosniff"})


@bp.get("/dashboards/<int:dashboard_id>/mail")
@require_roles("leader")
@on_replica
def get_mail(dashboard_id: int):
    """The caller's weekly mail of this dashboard's PDF."""
    session = db_session()
    principal = current_principal()
    return mail.mail_view(session, principal, service.get_dashboard(session, principal, dashboard_id))


@bp.put("/dashboards/<int:dashboard_id>/mail")
@require_roles("leader")
@on_primary("writes the weekly mail subscription")
def put_mail(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    view = mail.subscribe(session, principal, service.get_dashboard(session, principal, dashboard_id),
                          capped_json())
    session.commit()
    return view


@bp.delete("/dashboards/<int:dashboard_id>/mail")
@require_roles("leader")
@on_primary("deletes the weekly mail subscription")
def delete_mail(dashboard_id: int):
    session = db_session()
    principal = current_principal()
    mail.unsubscribe(session, principal, service.get_dashboard(session, principal, dashboard_id))
    session.commit()
    return "", 204


@bp.get("/dashboard-displays")
@require_roles("leader")
@on_replica
def list_displays():
    return {"displays": [displays.display_json(d) for d in displays.list_displays(db_session(), current_principal())]}


@bp.post("/dashboard-displays")
@require_roles("leader")
@on_primary("writes a wall display")
def create_display():
    session = db_session()
    display, secret = displays.create_display(session, current_principal(), capped_json())
    session.commit()
    return {**displays.display_json(display), "token": secret,
            "url": url_for("dashboards_wall.wall", _external=True) + "#" + secret}, 201


@bp.delete("/dashboard-displays/<int:display_id>")
@require_roles("leader")
@on_primary("writes a wall display")
def revoke_display(display_id: int):
    session = db_session()
    displays.revoke_display(session, current_principal(), display_id)
    session.commit()
    return "", 204
