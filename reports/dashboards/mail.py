"""A dashboard's PDF by email, weekly: a leader chooses the day and the hour (city time); the notifications
worker's scheduled checks (hook "notification_checks") record one outbox event per subscription and week, with a
once-only key, so several workers send it once; the mail itself is written here when the worker delivers it
(hook "notification_message"): the dashboard evaluated for the leader as they may see it that day, its PDF
attached, in the language of their notification choices. Retries, rate caps and the delivery history are the
notifications' own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from gisserver.accounts.users import Principal, principal_for_user
from gisserver.core.exceptions import Invalid
from gisserver.core.i18n import in_language
from reports.dashboards import exports
from reports.dashboards.evaluate import Viewer
from reports.dashboards.models import Dashboard, DashboardMail
from reports.dashboards.panels import Filters
from reports.dashboards.service import dashboard_data, may_view, owner_of
from reports.notifications import messages, outbox
from reports.notifications.channels import PermanentError
from reports.notifications.config import NotificationSettings
from reports.notifications.models import NotificationProfile

KIND = "dashboard_mail"
CITY_TIME = ZoneInfo("Asia/Ho_Chi_Minh")
WEEKDAYS = range(1, 8)  # ISO: 1 = Monday
TEXTS = {
    "vi": ("Bảng điều hành hằng tuần: {title}", "Bảng điều hành \u201c{title}\u201d ({area}, {start} – {end}) ở "
           "tệp PDF đính kèm. Đổi ngày giờ nhận hoặc thôi nhận: mở bảng, mục \u201cThư hằng tuần\u201d."),
    "en": ("Weekly dashboard: {title}", "The dashboard \u201c{title}\u201d ({area}, {start} – {end}) is in the "
           "attached PDF. To change the day or stop these mails, open the dashboard: \u201cWeekly mail\u201d."),
}


def _mail_json(mail: DashboardMail | None, email: str | None) -> dict:
    return {"subscribed": mail is not None, "weekday": mail.weekday if mail else None,
            "hour": mail.hour if mail else None, "email": email}


def _profile_email(session: Session, user_id: int) -> str | None:
    return session.scalar(select(NotificationProfile.email).where(NotificationProfile.user_id == user_id))


def mail_view(session: Session, principal: Principal, dashboard: Dashboard) -> dict:
    """The caller's weekly mail of this dashboard (none: subscribed false) and the address it goes to."""
    user_id = owner_of(session, principal)
    mail = session.scalar(select(DashboardMail).where(DashboardMail.dashboard_id == dashboard.id,
                                                      DashboardMail.user_id == user_id))
    return _mail_json(mail, _profile_email(session, user_id))


def subscribe(session: Session, principal: Principal, dashboard: Dashboard, body, now: datetime | None = None) -> dict:
    """Mail the caller this dashboard's PDF every week on {"weekday": 1-7 (Monday = 1), "hour": 0-23}, city time,
    to the email of their notification choices; choosing again changes the day and hour."""
    if not isinstance(body, dict) or set(body) - {"weekday", "hour"}:
        raise Invalid('send {"weekday": 1-7 (1 = Monday), "hour": 0-23}')
    weekday, hour = body.get("weekday"), body.get("hour")
    if isinstance(weekday, bool) or not isinstance(weekday, int) or weekday not in WEEKDAYS:
        raise Invalid("weekday is a whole number from 1 (Monday) to 7 (Sunday)", {"field": "weekday"})
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise Invalid("hour is a whole number from 0 to 23 (city time)", {"field": "hour"})
    user_id = owner_of(session, principal)
    email = _profile_email(session, user_id)
    if not email:
        raise Invalid("give your email in your notification choices (My notifications) first", {"field": "email"})
    mail = session.scalar(select(DashboardMail).where(DashboardMail.dashboard_id == dashboard.id,
                                                      DashboardMail.user_id == user_id))
    if mail is None:
        mail = DashboardMail(dashboard_id=dashboard.id, user_id=user_id)
        session.add(mail)
    mail.weekday, mail.hour, mail.since = weekday, hour, now or datetime.now(UTC)
    session.flush()
    return _mail_json(mail, email)


def unsubscribe(session: Session, principal: Principal, dashboard: Dashboard) -> None:
    mail = session.scalar(select(DashboardMail).where(DashboardMail.dashboard_id == dashboard.id,
                                                      DashboardMail.user_id == owner_of(session, principal)))
    if mail is not None:
        session.delete(mail)
        session.flush()


def latest_slot(weekday: int, hour: int, now: datetime) -> datetime:
    """The latest moment at or before *now* that is *weekday* at *hour* in the city."""
    local = now.astimezone(CITY_TIME)
    slot = local.replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(
        days=(local.isoweekday() - weekday) % 7)
    if slot > local:
        slot -= timedelta(days=7)
    return slot


def due_mails(session: Session, settings: NotificationSettings, now: datetime) -> int:
    """The notifications worker's check (hook "notification_checks"): one event per subscription whose slot of
    this week has come since it was chosen. The key holds the slot: however many workers run it, once a week."""
    told = 0
    for mail in session.scalars(select(DashboardMail).order_by(DashboardMail.id)):
        slot = latest_slot(mail.weekday, mail.hour, now)
        if slot < mail.since:
            continue
        event = outbox.record_direct(session, kind=KIND, subject_type="dashboard", subject_id=mail.dashboard_id,
                                     user_id=mail.user_id, dedupe_key=f"{KIND}:{mail.id}:{slot.date().isoformat()}",
                                     payload={"mail_id": mail.id, "week_of": slot.date().isoformat()})
        told += event is not None
    return told


def write_mail(request: messages.MessageRequest) -> messages.Rendered | None:
    """The mail of a weekly dashboard event (hook "notification_message"): the dashboard as its reader may see it
    now, its PDF attached. PermanentError (not sent) when the subscription, the dashboard or the reader's right to
    it is gone."""
    event, session = request.event, request.session
    if event.kind != KIND:
        return None
    mail = session.get(DashboardMail, event.payload.get("mail_id"))
    dashboard = session.get(Dashboard, event.subject_id)
    if mail is None or dashboard is None:
        raise PermanentError("the weekly mail was stopped or the dashboard deleted")
    user = session.get(User, mail.user_id)
    principal = principal_for_user(session, user) if user is not None and user.active else None
    if principal is None or not principal.has_role("leader") or not may_view(session, principal, dashboard,
                                                                               owner_id=user.id):
        raise PermanentError("the reader may no longer open this dashboard")
    if request.app is None:
        raise RuntimeError("the worker runs without the web app: dashboards cannot be written")
    english = request.language == "en"
    with in_language(request.app, request.language):
        data = dashboard_data(session, Viewer(principal, english=english), dashboard, Filters())
        pdf = exports.dashboard_pdf(dashboard.title, data, english)
    period = data["period"]
    subject, line = (t.format(title=dashboard.title, area=data["area"]["name"], start=period["from"],
                              end=period["to"]) for t in TEXTS["en" if english else "vi"])
    name = f"dashboard-{dashboard.id}-{data['area']['code']}-{period['to']}.pdf"
    return messages.compose(request.language, subject, line, link=f"{request.public_url}/dashboards/{dashboard.id}",
                            attachments=(messages.Attachment(name, "application/pdf", pdf),))
