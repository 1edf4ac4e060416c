"""Dashboards: create, read, change, share, copy and delete them; who may see which; where a leader starts.

Who sees a dashboard: its owner and admins; the audience it is shared with (anyone holding one of its roles, or
working in one of its areas or below); and, for a ward template, every leader, each on their own ward. Only the
owner (or an admin) changes it; a template is published by an admin. Seeing a dashboard never lends the author's
rights: the panels are evaluated for the viewer (reports.dashboards.evaluate).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Conflict, Forbidden, Invalid, NotFound
from reports.dashboards.evaluate import Viewer, evaluate
from reports.dashboards.indicators import LAYER_MEASURES
from reports.dashboards.layerstats import LayerStat, resolve
from reports.dashboards.models import Dashboard
from reports.dashboards.panels import Filters, Panel, parse_filters, parse_panels
from reports.summaries.hierarchy import (
    Hierarchy,
    area_in_scope,
    default_area,
    load_hierarchy,
    visible_area_ids,
)
from reports.workflow.models import Category

SHARE_ROLES = ("leader",)  # the roles that may open dashboards at all
MAX_DESCRIPTION = 2000
MAX_SHARED_AREAS = 50
FIELDS = {"title", "description", "panels", "filters", "area", "share", "template", "version"}


@dataclass
class DashboardInput:
    title: str
    description: str
    panels: list[Panel]
    filters: Filters
    area: str | None
    share_roles: list[str]
    share_areas: list[str]
    template: bool


def parse_dashboard(body, *, current: Dashboard | None = None, today: date | None = None) -> DashboardInput:
    """A dashboard from a request body; on an update, fields left out keep their value."""
    if not isinstance(body, dict):
        raise Invalid("send a JSON object")
    unknown = set(body) - FIELDS
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(map(str, unknown)))[:200]}", {"fields": sorted(FIELDS)})

    def given(name):
        return name in body or current is None

    title = body.get("title") if given("title") else current.title
    if not isinstance(title, str) or not title.strip() or len(title) > 200:
        raise Invalid("title must be text of 1 to 200 characters", {"field": "title"})
    description = body.get("description", "") if given("description") else current.description
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise Invalid(f"description must be text of at most {MAX_DESCRIPTION} characters", {"field": "description"})
    panels = parse_panels(body.get("panels", []) if given("panels") else current.panels, today)
    filters = parse_filters(body.get("filters") if given("filters") else current.filters, today)
    area = body.get("area") if "area" in body else None
    if area is not None and (not isinstance(area, str) or not 1 <= len(area) <= 64):
        raise Invalid("area must be an area code", {"field": "area"})
    share = body.get("share", {}) if "share" in body else None
    roles, areas = [], []
    if share is not None:
        if not isinstance(share, dict) or set(share) - {"roles", "areas"}:
            raise Invalid('share is {"roles": [...], "areas": [...]}', {"field": "share"})
        roles, areas = share.get("roles", []), share.get("areas", [])
        if not isinstance(roles, list) or any(r not in SHARE_ROLES for r in roles):
            raise Invalid(f"a dashboard is shared with the role(s) {', '.join(SHARE_ROLES)}", {"field": "share"})
        if not isinstance(areas, list) or len(areas) > MAX_SHARED_AREAS or not all(
                isinstance(a, str) and 1 <= len(a) <= 64 for a in areas):
            raise Invalid(f"share.areas is a list of at most {MAX_SHARED_AREAS} area codes", {"field": "share"})
    template = body.get("template", False) if given("template") else current.template
    if not isinstance(template, bool):
        raise Invalid("template must be true or false", {"field": "template"})
    return DashboardInput(title.strip(), description, panels, filters, area, sorted(set(roles)),
                          list(dict.fromkeys(areas)), template)


def check_panels(session: Session, principal: Principal, panels: list[Panel], filters: Filters,
                 hierarchy: Hierarchy | None = None) -> None:
    """What a dashboard names must be the author's to see: its areas, its layers, its category."""
    hierarchy = hierarchy or load_hierarchy(session)
    visible = visible_area_ids(hierarchy, principal)
    for panel in panels:
        if panel.area:
            area_in_scope(hierarchy, visible, panel.area)
        for ref in panel.indicators:
            if ref.indicator.is_layer:
                resolve(session, LayerStat(LAYER_MEASURES[ref.key], ref.layer, ref.by, ref.within),
                        include_internal=principal.is_staff)
    if filters.category and session.scalar(select(Category.id).where(Category.code == filters.category)) is None:
        raise Invalid(f"unknown category {filters.category!r}", {"field": "category"})


def _apply(session: Session, principal: Principal, dashboard: Dashboard, data: DashboardInput, actor: str) -> None:
    if data.template and not principal.is_admin:
        raise Forbidden("only an administrator publishes ward templates")
    hierarchy = load_hierarchy(session)
    visible = visible_area_ids(hierarchy, principal)
    check_panels(session, principal, data.panels, data.filters, hierarchy)
    area_id = area_in_scope(hierarchy, visible, data.area).id if data.area else None
    shared = [area_in_scope(hierarchy, visible, code).id for code in data.share_areas]
    dashboard.title, dashboard.description = data.title, data.description
    dashboard.panels = [p.as_json() for p in data.panels]
    dashboard.filters = data.filters.as_json()
    dashboard.area_id = area_id
    dashboard.shared_roles, dashboard.shared_area_ids = data.share_roles, shared
    dashboard.template = data.template
    dashboard.updated_by = actor
    dashboard.updated_at = datetime.now(UTC)


def owner_of(session: Session, principal: Principal) -> int:
    """The user a caller acts as: a person's session, or a token issued to a person (its name is theirs)."""
    if principal.kind == "user":
        return principal.id
    if principal.kind == "token" and principal.is_staff:
        user_id = session.scalar(select(User.id).where(User.username == principal.name))
        if user_id is not None:
            return user_id
    raise Forbidden("dashboards belong to people")


def create_dashboard(session: Session, principal: Principal, body, *, actor: str) -> Dashboard:
    data = parse_dashboard(body)
    dashboard = Dashboard(owner_id=owner_of(session, principal), version=1)
    _apply(session, principal, dashboard, data, actor)
    session.add(dashboard)
    session.flush()
    return dashboard


def update_dashboard(session: Session, principal: Principal, dashboard: Dashboard, body, *, actor: str) -> Dashboard:
    """Change what the body names; a body carrying an older "version" is refused (someone saved meanwhile)."""
    _may_change(session, principal, dashboard)
    if isinstance(body, dict) and "version" in body and body["version"] != dashboard.version:
        raise Conflict(f"the dashboard was changed meanwhile (now version {dashboard.version}); reload it",
                       {"version": dashboard.version})
    data = parse_dashboard(body, current=dashboard)
    hierarchy = load_hierarchy(session)
    if "area" not in body:
        data.area = hierarchy.areas[dashboard.area_id].code if dashboard.area_id in hierarchy.areas else None
    if "share" not in body:
        data.share_roles = list(dashboard.shared_roles)
        data.share_areas = [hierarchy.areas[a].code for a in dashboard.shared_area_ids if a in hierarchy.areas]
    _apply(session, principal, dashboard, data, actor)
    dashboard.version += 1
    session.flush()
    return dashboard


def _may_change(session: Session, principal: Principal, dashboard: Dashboard) -> None:
    if not principal.is_admin and dashboard.owner_id != owner_of(session, principal):
        raise Forbidden("only its owner (or an administrator) changes a dashboard; make a copy to change it")


def delete_dashboard(session: Session, principal: Principal, dashboard: Dashboard) -> None:
    _may_change(session, principal, dashboard)
    session.delete(dashboard)
    session.flush()


def copy_dashboard(session: Session, principal: Principal, dashboard: Dashboard, *, actor: str) -> Dashboard:
    """A private copy the caller may change (of a shared dashboard or a template, made for their own area)."""
    copy = Dashboard(owner_id=owner_of(session, principal), version=1, title=f"{dashboard.title} (copy)"[:200],
                     description=dashboard.description, panels=list(dashboard.panels), filters=dict(dashboard.filters),
                     area_id=None, shared_roles=[], shared_area_ids=[], template=False, updated_by=actor,
                     updated_at=datetime.now(UTC))
    hierarchy = load_hierarchy(session)
    # The panels are checked again for the one copying: a copy never holds what its new owner may not see.
    check_panels(session, principal, parse_panels(copy.panels), parse_filters(copy.filters), hierarchy)
    visible = visible_area_ids(hierarchy, principal)
    if dashboard.template:
        copy.area_id = home_ward(hierarchy, principal).id
    elif dashboard.area_id is not None and (visible is None or dashboard.area_id in visible):
        copy.area_id = dashboard.area_id
    session.add(copy)
    session.flush()
    return copy


# -- who sees what ------------------------------------------------------------------------------------------


def _works_in(hierarchy: Hierarchy, principal: Principal, area_ids: list[int]) -> bool:
    """Whether one of the caller's granted areas is one of *area_ids* or lies below one of them."""
    wanted = set(area_ids)
    return any(wanted.intersection(hierarchy.chain_now(granted)) for granted in principal.area_ids
               if granted in hierarchy.areas)


def _shared_with(hierarchy: Hierarchy, principal: Principal, dashboard: Dashboard) -> bool:
    """Shared with the caller's role or with an area they work in (what their list shows; admins may open any
    dashboard by its address, but their list holds only what is shared with them)."""
    if dashboard.shared_roles and set(principal.roles).intersection(dashboard.shared_roles):
        return True
    return bool(dashboard.shared_area_ids) and _works_in(hierarchy, principal, dashboard.shared_area_ids)


def may_view(session: Session, principal: Principal, dashboard: Dashboard, hierarchy: Hierarchy | None = None,
             owner_id: int | None = None) -> bool:
    if principal.is_admin or dashboard.template:
        return True
    if dashboard.owner_id == (owner_id if owner_id is not None else owner_of(session, principal)):
        return True
    if dashboard.shared_roles and principal.has_role(*dashboard.shared_roles):
        return True
    if dashboard.shared_area_ids:
        return _works_in(hierarchy or load_hierarchy(session), principal, dashboard.shared_area_ids)
    return False


def get_dashboard(session: Session, principal: Principal, dashboard_id: int) -> Dashboard:
    """A dashboard the caller may see; any other is "not found" (its existence is not theirs to know)."""
    dashboard = session.get(Dashboard, dashboard_id)
    if dashboard is None or not may_view(session, principal, dashboard):
        raise NotFound(f"no dashboard {dashboard_id}")
    return dashboard


@dataclass
class Listing:
    mine: list[Dashboard]
    shared: list[Dashboard]
    templates: list[Dashboard]


def list_dashboards(session: Session, principal: Principal) -> Listing:
    owner_id = owner_of(session, principal)
    hierarchy = load_hierarchy(session)
    rows = session.scalars(select(Dashboard).where(or_(
        Dashboard.owner_id == owner_id, Dashboard.template.is_(True), Dashboard.shared_roles != [],
        Dashboard.shared_area_ids != [])).order_by(Dashboard.title, Dashboard.id)).all()
    listing = Listing([], [], [])
    for d in rows:
        if d.template:
            listing.templates.append(d)
        elif d.owner_id == owner_id:
            listing.mine.append(d)
        elif _shared_with(hierarchy, principal, d):
            listing.shared.append(d)
    return listing


def home_ward(hierarchy: Hierarchy, principal: Principal):
    """The ward a template opens on for this leader: the ward granted (or the ward of a granted group); for
    those above the wards (the city, admins), the first ward they may see."""
    visible = visible_area_ids(hierarchy, principal)
    wards = []
    for area_id in sorted(principal.area_ids):
        area = hierarchy.areas.get(area_id)
        if area is None or not area.current:
            continue
        if area.level == "ward":
            wards.append(area)
        elif area.level == "group" and area.parent_id in hierarchy.areas:
            wards.append(hierarchy.areas[area.parent_id])
    if not wards:
        wards = [a for a in hierarchy.areas.values() if a.level == "ward" and a.current
                 and (visible is None or a.id in visible)]
    if not wards:
        raise NotFound("your account has no ward to follow; ask an administrator to grant one")
    return min(wards, key=lambda a: a.code)


def opening_area(session: Session, principal: Principal, dashboard: Dashboard,
                 hierarchy: Hierarchy | None = None) -> str:
    """The area a dashboard opens on for this viewer: a template on their ward; otherwise the dashboard's area
    when they may see it, else their own first area (a shared city dashboard opens on a ward leader's ward)."""
    hierarchy = hierarchy or load_hierarchy(session)
    if dashboard.template:
        return home_ward(hierarchy, principal).code
    visible = visible_area_ids(hierarchy, principal)
    area = hierarchy.areas.get(dashboard.area_id) if dashboard.area_id is not None else None
    if area is not None and area.current and (visible is None or area.id in visible):
        return area.code
    start = default_area(hierarchy, principal)
    if start is None:
        raise NotFound("your account has no area to follow; ask an administrator to grant one")
    return start.code


def dashboard_json(dashboard: Dashboard, hierarchy: Hierarchy | None = None) -> dict:
    codes = {a.id: a.code for a in hierarchy.areas.values()} if hierarchy else {}
    return {"id": dashboard.id, "title": dashboard.title, "description": dashboard.description,
            "template": dashboard.template, "area": codes.get(dashboard.area_id), "panels": dashboard.panels,
            "filters": dashboard.filters,
            "share": {"roles": dashboard.shared_roles, "areas": [codes.get(a) for a in dashboard.shared_area_ids]},
            "version": dashboard.version, "owner_id": dashboard.owner_id,
            "updated_at": dashboard.updated_at.isoformat() if dashboard.updated_at else None,
            "updated_by": dashboard.updated_by}


def dashboard_data(session: Session, viewer: Viewer, dashboard: Dashboard, filters: Filters,
                   now: datetime | None = None) -> dict:
    """The dashboard's panels evaluated for the viewer, with the dashboard's own filters under the request's."""
    stored = parse_filters(dashboard.filters)
    merged = Filters(area=filters.area or opening_area(session, viewer.principal, dashboard),
                     period=filters.period or stored.period,
                     category=filters.category if filters.category_given else stored.category,
                     compare_area=filters.compare_area, compare_period=filters.compare_period)
    return evaluate(session, viewer, parse_panels(dashboard.panels), merged, now)


def start_page(session: Session, principal: Principal):
    """Where a leader lands after signing in: their latest own dashboard (with panels), else (a ward's leader) the
    ward template, else a dashboard shared with them. None for everyone else. (The "start_page" hook of accounts'
    sign-in.)"""
    if "leader" not in principal.roles:
        return None
    listing = list_dashboards(session, principal)
    hierarchy = load_hierarchy(session)
    top = default_area(hierarchy, principal)
    in_ward = top is not None and top.level in ("ward", "group")
    mine = sorted((d for d in listing.mine if d.panels), key=lambda d: d.updated_at, reverse=True)
    order = [*mine, *(listing.templates if in_ward else []), *listing.shared, *listing.templates]
    return ("dashboards_pages.view_dashboard", {"dashboard_id": order[0].id}) if order else None
