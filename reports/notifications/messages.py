"""What each kind of event says, in Vietnamese and English: a subject, a plain text and an HTML body.

Texts are built from the event's facts only (codes, names, statuses, notes); every value that came from a
person is escaped in HTML, and subjects hold no line breaks (they become mail headers).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

STATUS = {
    "vi": {"new": "mới tiếp nhận", "acknowledged": "đã xác nhận", "in_progress": "đang xử lý",
           "resolved": "đã xử lý xong", "rejected": "không xử lý"},
    "en": {"new": "received", "acknowledged": "acknowledged", "in_progress": "in progress", "resolved": "resolved",
           "rejected": "rejected"},
}
LEVEL = {"vi": {"warning": "báo động", "danger": "nguy hiểm"}, "en": {"warning": "warning", "danger": "danger"}}

# (subject, first line) per kind and language; {names} come from the context built in fanout.py.
TEXTS = {
    "report_filed": {
        "vi": ("Phản ánh mới {code}: {category}", "Phản ánh {code} ({category}) tại {place} đã được giao cho {unit}."),
        "en": ("New report {code}: {category}", "Report {code} ({category}) at {place} was assigned to {unit}."),
    },
    "report_received": {
        "vi": ("Đã tiếp nhận phản ánh {code}", "Cảm ơn bạn. Phản ánh {code} ({category}) đã được tiếp nhận và "
                                                "chuyển tới {unit}. Mã tra cứu: {code}."),
        "en": ("Report {code} received", "Thank you. Report {code} ({category}) was received and sent to {unit}. "
                                         "Tracking code: {code}."),
    },
    "report_reassigned": {
        "vi": ("Phản ánh {code} được chuyển cho {unit}", "Phản ánh {code} ({category}) tại {place} nay do {unit} "
                                                          "xử lý."),
        "en": ("Report {code} reassigned to {unit}", "Report {code} ({category}) at {place} is now handled by "
                                                     "{unit}."),
    },
    "report_status": {
        "vi": ("Phản ánh {code}: {status}", "Phản ánh {code} ({category}) nay ở trạng thái: {status}."),
        "en": ("Report {code}: {status}", "Report {code} ({category}) is now: {status}."),
    },
    "report_comment": {
        "vi": ("Phản hồi về phản ánh {code}", "Cơ quan xử lý đã trả lời về phản ánh {code}."),
        "en": ("An answer about report {code}", "The handling unit answered about report {code}."),
    },
    "report_merged": {
        "vi": ("Phản ánh {code} được gộp", "Phản ánh {code} trùng với một phản ánh khác và được xử lý cùng nhau; "
                                           "tiến độ sẽ được báo tiếp."),
        "en": ("Report {code} merged", "Report {code} duplicates another one and is handled with it; you will "
                                       "still hear of its progress."),
    },
    "report_deadline_near": {
        "vi": ("Sắp đến hạn: phản ánh {code}", "Phản ánh {code} ({category}) tại {place} đến hạn lúc {due}."),
        "en": ("Deadline near: report {code}", "Report {code} ({category}) at {place} is due at {due}."),
    },
    "report_overdue": {
        "vi": ("Quá hạn: phản ánh {code}", "Phản ánh {code} ({category}) tại {place} đã quá hạn {due}."),
        "en": ("Overdue: report {code}", "Report {code} ({category}) at {place} passed its deadline {due}."),
    },
    "report_escalated": {
        "vi": ("Chuyển cấp: phản ánh {code} quá hạn", "Phản ánh {code} ({category}) tại {place}, giao {unit}, đã "
                                                       "quá hạn {due} và được chuyển lên {level}."),
        "en": ("Escalated: report {code} overdue", "Report {code} ({category}) at {place}, assigned to {unit}, "
                                                   "passed its deadline {due} and is escalated to {level}."),
    },
    "alert_raised": {
        "vi": ("Cảnh báo AI: {alert_type} tại {place}", "Camera {camera} phát hiện {alert_type} (độ tin cậy "
                                                        "{confidence}) tại {place}."),
        "en": ("AI alert: {alert_type} at {place}", "Camera {camera} detected {alert_type} (confidence "
                                                    "{confidence}) at {place}."),
    },
    "alert_escalated": {
        "vi": ("Chuyển cấp: cảnh báo {alert_type} chưa xử lý", "Cảnh báo {alert_type} tại {place} đã quá hạn {due} "
                                                                "và được chuyển lên {level}."),
        "en": ("Escalated: {alert_type} alert not handled", "The {alert_type} alert at {place} passed its deadline "
                                                            "{due} and is escalated to {level}."),
    },
    "hotspot_warning": {
        "vi": ("Mực nước {level_name} tại {place}", "Điểm ngập {place}: {level_cm} cm, mức {level_name}."),
        "en": ("Water level {level_name} at {place}", "Flood hotspot {place}: {level_cm} cm, {level_name} level."),
    },
    "camera_offline": {
        "vi": ("Camera {camera} mất tín hiệu", "Camera {camera} ({place}) không gửi tín hiệu từ {since}."),
        "en": ("Camera {camera} offline", "Camera {camera} ({place}) has been silent since {since}."),
    },
    "gauge_stale": {
        "vi": ("Trạm đo {place} không gửi số liệu", "Trạm đo mực nước {place} không gửi số liệu từ {since}."),
        "en": ("Gauge {place} silent", "The water gauge at {place} has sent nothing since {since}."),
    },
    "digest": {
        "vi": ("Tổng hợp ngày {day}: {place}", "Trong 24 giờ qua tại {place}: {new} phản ánh mới, {closed} đã "
                                               "đóng, {overdue} quá hạn, {on_time} đúng hạn, {open_alerts} cảnh báo "
                                               "đang mở."),
        "en": ("Daily summary {day}: {place}", "In the last 24 hours in {place}: {new} new reports, {closed} "
                                               "closed, {overdue} overdue, {on_time} on time, {open_alerts} open "
                                               "alerts."),
    },
}
TEXTS["hotspot_danger"] = TEXTS["hotspot_warning"]
FOOTER = {
    "vi": {"open": "Xem chi tiết", "unsubscribe": "Không muốn nhận thư này nữa? Huỷ đăng ký",
           "note": "Ghi chú", "auto": "Thư gửi tự động từ hệ thống phản ánh của thành phố."},
    "en": {"open": "Open", "unsubscribe": "Do not want these messages? Unsubscribe",
           "note": "Note", "auto": "Sent automatically by the city's reports system."},
}


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (a dashboard's PDF)."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


@dataclass(frozen=True)
class MessageRequest:
    """What a feature's message writer (the "notification_message" hook) gets for an event it recorded with
    outbox.record_direct: it returns a Rendered (compose() gives the common form), or None when the kind is not
    its own. *app* is the web app, for rendering in *language* outside a request (gisserver.core.i18n)."""

    session: object
    event: object  # the notification_events row (its columns as attributes)
    language: str
    public_url: str
    app: object | None


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    short: str  # for SMS, chat and push: the first line and the link
    attachments: tuple[Attachment, ...] = ()


class _Safe(dict):
    def __missing__(self, key):  # a fact the event lacks reads as a dash, never as a KeyError in the worker
        return "-"


@cache
def _html_environment() -> ImmutableSandboxedEnvironment:
    folder = Path(__file__).parent / "templates" / "notifications"
    return ImmutableSandboxedEnvironment(loader=FileSystemLoader(folder), autoescape=True,
                                         undefined=StrictUndefined)


def _one_line(value: str) -> str:
    return " ".join(str(value).split())


def render(kind: str, language: str, facts: dict, *, link: str, unsubscribe: str | None = None) -> Rendered:
    language = language if language in ("vi", "en") else "vi"
    values = _Safe({k: _one_line(v) for k, v in facts.items() if v is not None})
    if "status" in facts:
        values["status"] = STATUS[language].get(facts["status"], facts["status"])
    if "level" in facts:
        values["level_name"] = LEVEL[language].get(facts["level"], facts["level"])
    subject_template, line_template = TEXTS[kind][language]
    return compose(language, subject_template.format_map(values), line_template.format_map(values), link=link,
                   note=facts.get("note") or "", unsubscribe=unsubscribe)


def compose(language: str, subject: str, line: str, *, link: str, note: str = "", unsubscribe: str | None = None,
            attachments: tuple[Attachment, ...] = ()) -> Rendered:
    """A message of one line (and a note) with its link, the footer of every message, as text and HTML (every
    value escaped); for the kinds above and for other features' own messages (the "notification_message" hook)."""
    language = language if language in ("vi", "en") else "vi"
    subject = _one_line(subject)[:200]
    words = FOOTER[language]
    text = line + (f"\n\n{words['note']}: {note}" if note else "") + f"\n\n{words['open']}: {link}\n"
    if unsubscribe:
        text += f"\n{words['unsubscribe']}: {unsubscribe}\n"
    text += f"\n-- \n{words['auto']}\n"
    html = _html_environment().get_template("email.html").render(
        lang=language, subject=subject, line=line, note=note, link=link, unsubscribe=unsubscribe, words=words)
    return Rendered(subject=subject, text=text, html=html, short=f"{line} {link}", attachments=attachments)
