"""The demo city's dashboards: a city dashboard every leader is shown, and a ward template each ward's leader
finds on their own ward at their first sign-in. Both are the admin's, made through the service."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from gisserver.accounts.users import principal_for_user
from gisserver.demo.geography import CITY_CODE
from layers.models import Layer
from reports.dashboards.models import Dashboard
from reports.dashboards.service import create_dashboard

PARCELS, DRAINAGE, FLOOD, EVACUATION = "quy-hoach-su-dung-dat", "thoat-nuoc-mua", "vung-nguy-co-ngap", "diem-so-tan"


def _p(panel_id, chart, *indicators, **extra) -> dict:
    return {"id": panel_id, "chart": chart, "indicators": list(indicators), **extra}


def city_panels(layers: set[str]) -> list[dict]:
    panels = [
        _p("received", "number", {"key": "reports_received"}, width=3),
        _p("on-time", "number", {"key": "reports_on_time_rate"}, width=3),
        _p("overdue", "number", {"key": "reports_overdue"}, width=3),
        _p("dossiers", "number", {"key": "dossiers_on_time_rate"}, width=3),
        _p("trend", "line", {"key": "reports_received"}, {"key": "reports_closed"}, width=6, height=2,
           title="Phản ánh nhận và đã xử lý theo tháng"),
        _p("ranking", "ranking", {"key": "reports_on_time_rate"}, width=6, height=2,
           title="Xếp hạng phường, xã: tỉ lệ xử lý đúng hạn"),
        _p("map", "choropleth", {"key": "reports_overdue"}, width=6, height=2,
           title="Phản ánh quá hạn theo phường, xã"),
    ]
    if PARCELS in layers:
        panels.append(_p("land-use", "stacked", {"key": "layer_area", "layer": PARCELS, "by": "loai_dat"},
                         width=6, height=2, title="Diện tích quy hoạch theo loại đất (ha)"))
    if DRAINAGE in layers:
        panels.append(_p("drainage", "bar", {"key": "layer_length", "layer": DRAINAGE}, dimension="children",
                         width=4, height=2, title="Cống thoát nước mưa (km)"))
    if EVACUATION in layers and FLOOD in layers:
        panels.append(_p("evacuation", "bar", {"key": "layer_count", "layer": EVACUATION, "within": FLOOD},
                         dimension="children", width=4, height=2, title="Điểm sơ tán trong vùng nguy cơ ngập"))
    panels += [
        _p("hotspots", "gauge", {"key": "hotspot_levels"}, dimension="items", width=4, height=2,
           title="Mực nước tại các điểm ngập"),
        _p("dossier-table", "table", {"key": "dossiers_received"}, {"key": "dossiers_on_time_rate"},
           {"key": "dossiers_online_share"}, width=12, height=2, title="Hồ sơ hành chính theo phường, xã"),
    ]
    return panels


def ward_panels(layers: set[str]) -> list[dict]:
    panels = [
        _p("received", "number", {"key": "reports_received"}, width=3),
        _p("overdue", "number", {"key": "reports_overdue"}, width=3),
        _p("on-time", "gauge", {"key": "reports_on_time_rate"}, width=3),
        _p("online", "number", {"key": "dossiers_online_share"}, width=3),
        _p("categories", "bar", {"key": "reports_received", "by": "category"}, dimension="group", width=6,
           height=2, title="Phản ánh theo lĩnh vực"),
        _p("groups", "ranking", {"key": "reports_on_time_rate"}, width=6, height=2,
           title="Tổ dân phố: tỉ lệ xử lý đúng hạn"),
        _p("dossier-trend", "line", {"key": "dossiers_received"}, {"key": "dossiers_finished"}, width=6, height=2),
    ]
    if PARCELS in layers:
        panels.append(_p("land-use", "table", {"key": "layer_area", "layer": PARCELS, "by": "loai_dat"},
                         dimension="group", width=6, height=2, title="Quy hoạch sử dụng đất của phường (ha)"))
    panels.append(_p("hotspots", "gauge", {"key": "hotspot_levels"}, dimension="items", width=12, height=1,
                     title="Điểm ngập trong phường"))
    return panels


def load_demo_dashboards(session: Session) -> str:
    if session.scalar(select(func.count()).select_from(Dashboard)):
        return "already there"
    admin = session.scalar(select(User).where(User.username == "admin"))
    if admin is None:
        return "no admin user: skipped"
    principal = principal_for_user(session, admin)
    layers = set(session.scalars(select(Layer.name)))
    city = create_dashboard(session, principal, {
        "title": "Toàn cảnh thành phố", "area": CITY_CODE, "panels": city_panels(layers),
        "description": "Phản ánh, hồ sơ, cảnh báo và quy hoạch của cả thành phố; mỗi lãnh đạo xem phần của mình.",
        "filters": {"period": {"last_days": 365}}, "share": {"roles": ["leader"]}}, actor="cli:demo-loader")
    ward = create_dashboard(session, principal, {
        "title": "Phường, xã của tôi", "template": True, "panels": ward_panels(layers),
        "description": "Mẫu cho lãnh đạo mỗi phường, xã: số liệu của chính phường, xã mình.",
        "filters": {"period": {"last_days": 90}}}, actor="cli:demo-loader")
    return f"city dashboard {city.id} ({len(city.panels)} panels), ward template {ward.id} ({len(ward.panels)} panels)"


def dashboards_step(session: Session, context) -> str:
    return load_demo_dashboards(session)
