"""The officers' work queue: reports (reports.workflow.queries) and AI alerts under the same filters, so that the
list and the map show the same things."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import and_, case, func, or_, select, true
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from reports.areas import sql as geo
from reports.areas.service import area_by_code
from reports.cameras import access as camera_access
from reports.cameras.models import Alert, AlertType, Camera
from reports.workflow import access
from reports.workflow.models import OPEN_STATUSES
from reports.workflow.queries import QueueFilter

MAX_ALERTS = 50


@dataclass(frozen=True)
class AlertRow:
    alert: Alert
    camera_code: str
    type_vi: str
    type_en: str
    overdue: bool


def alert_rows(session: Session, principal: Principal, f: QueueFilter, now: datetime | None = None,
               limit: int = MAX_ALERTS) -> tuple[list[AlertRow], int]:
    """The caller's AI alerts matching the queue's filters (statuses, area, days, overdue, words), overdue first
    then by deadline; and how many match in all."""
    now = now or datetime.now(UTC)
    conditions = [true()]
    scope = camera_access.alert_condition(access.scope_of(session, principal))
    if scope is not None:
        conditions.append(scope)
    if f.statuses:
        conditions.append(Alert.status.in_(f.statuses))
    late = and_(Alert.status.in_(OPEN_STATUSES), Alert.due_at < now)
    if f.overdue is not None:
        conditions.append(late if f.overdue else ~late)
    if f.area:
        conditions.append(Alert.area_id.in_(geo.area_subtree_ids(session, [area_by_code(session, f.area).id])))
    if f.date_from:
        conditions.append(Alert.first_at >= datetime.combine(f.date_from, time.min, UTC))
    if f.date_to:
        conditions.append(Alert.first_at < datetime.combine(f.date_to + timedelta(days=1), time.min, UTC))
    if f.text:
        folded = f"%{f.text.strip().lower()}%"
        conditions.append(or_(func.lower(Camera.code).like(folded), func.lower(Camera.name).like(folded),
                              func.lower(func.unaccent(AlertType.name_vi)).like(func.lower(func.unaccent(folded))),
                              func.lower(AlertType.name_en).like(folded)))
    where = and_(*conditions)
    joined = (select(Alert, Camera.code, AlertType.name_vi, AlertType.name_en, late.label("late"))
              .join(Camera, Camera.id == Alert.camera_id).outerjoin(AlertType, AlertType.code == Alert.type))
    total = session.scalar(select(func.count()).select_from(Alert).join(Camera, Camera.id == Alert.camera_id)
                           .outerjoin(AlertType, AlertType.code == Alert.type).where(where))
    rows = session.execute(joined.where(where).order_by(case((late, 0), else_=1), Alert.due_at, Alert.id)
                           .limit(limit)).all()
    return [AlertRow(a, code, vi or a.type, en or a.type, bool(overdue)) for a, code, vi, en, overdue in rows], total
