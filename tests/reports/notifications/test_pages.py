"""Notifications on the pages people use: the resident's opt-in on the QR report form, and the messages sent about
a report on its page (masked, in the reader's words)."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from gisserver.accounts.users import create_user, grant
from reports.areas.units import unit_by_code
from reports.intake.submit import CONSENT_LINE
from reports.notifications.models import NotificationEvent, ResidentContact
from reports.workflow.models import Report
from tests.reports.notifications.servers import SmtpServer
from tests.reports.notifications.test_delivery import PROCRASTINATE, drain, settings_for

PASSWORD = "correct horse battery"


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _form(client, **fields):
    html = client.get("/r/T-W/police").get_data(as_text=True)
    data = {"csrf_token": _csrf(html), "category": "gay_roi", "description": "Đánh nhau ở chợ", "lon": "107.55",
            "lat": "16.42", **fields}
    return client.post("/r/T-W/police", data=data)


def test_the_qr_form_asks_for_consent_and_the_resident_hears_back(app, client, city):
    db = city
    db.execute(text(f"TRUNCATE {PROCRASTINATE} CASCADE"))
    db.commit()
    page = client.get("/r/T-W/police").get_data(as_text=True)
    assert 'name="notify_email"' in page and 'name="notify_phone"' in page
    assert re.search(r'<input type="checkbox" name="notify_consent" value="yes"> ' + re.escape(CONSENT_LINE["vi"]),
                     page)
    # An address without the consent ticked, or a malformed one: the form again, with what was typed, and nothing
    # stored.
    for fields, words in (({"notify_email": "hoa@example.vn"}, "đồng ý"),
                          ({"notify_email": "hoa@@example", "notify_consent": "yes"}, "email"),
                          ({"notify_phone": "0905<b>", "notify_consent": "yes"}, "")):
        resp = _form(client, **fields)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, fields
        assert "Đánh nhau ở chợ" in html and words in html.lower()
        assert "<b>" not in html.split('name="notify_phone"')[1][:200]  # kept, escaped
    assert db.scalar(select(Report.id)) is None and db.scalar(select(ResidentContact.id)) is None

    resp = _form(client, notify_email="hoa@example.vn", notify_consent="yes")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    report = db.scalar(select(Report))
    contact = db.scalar(select(ResidentContact))
    assert (contact.report_id, contact.email, contact.phone, contact.language) == (report.id, "hoa@example.vn",
                                                                                  None, "vi")
    assert contact.consent == CONSENT_LINE["vi"] and contact.consented_at is not None
    status = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "hoa@example.vn" not in status  # the contact is shown to nobody, the resident's status page included
    with SmtpServer() as smtp:
        drain(app, settings_for(smtp))
        [mail] = [m for m in smtp.mailbox.wait_for(1) if m["To"] == "hoa@example.vn"]
    assert mail["Subject"] == f"Đã tiếp nhận phản ánh {report.tracking_code}"
    assert f"http://city.example/status/{report.tracking_code}" in mail.get_body(("plain",)).get_content()
    assert mail["List-Unsubscribe"]


def test_the_report_page_lists_the_messages_sent_masked(app, client, city):
    db = city
    db.execute(text(f"TRUNCATE {PROCRASTINATE} CASCADE"))
    officer = create_user(db, "ward-officer", PASSWORD, ["officer"], display_name="Nguyễn Văn An")
    grant(db, officer, unit_id=unit_by_code(db, "T-W-CA").id)
    db.commit()
    from reports.notifications import admin

    admin.add_duty_contact(db, "T-W-CA", "email", "truc-ban@ca.example.vn")
    admin.add_duty_contact(db, "T-W-CA", "sms", "0905 111 222")  # no SMS gateway configured: not sent
    db.commit()
    assert _form(client, notify_email="hoa@example.vn", notify_consent="yes").status_code == 302
    report = db.scalar(select(Report))
    html = _csrf(client.get("/login").get_data(as_text=True))
    assert client.post("/login", data={"username": "ward-officer", "password": PASSWORD, "csrf_token": html}
                       ).status_code == 302
    before = client.get(f"/reports/{report.id}").get_data(as_text=True)
    assert "Tin đã gửi" in before
    assert 'class="timeline deliveries"' not in before  # the worker has not run yet
    with SmtpServer() as smtp:
        drain(app, settings_for(smtp))
        smtp.mailbox.wait_for(2)
    page = client.get(f"/reports/{report.id}").get_data(as_text=True)
    listed = re.search(r'<ol class="timeline deliveries">(.*?)</ol>', page, re.S).group(1)
    items = [re.sub(r"<[^>]+>|\s+", " ", li).strip() for li in re.findall(r"<li[^>]*>(.*?)</li>", listed, re.S)]
    assert len(items) == 3, items
    assert any("Email" in i and "t***@ca.example.vn" in i and "đã gửi" in i.lower() for i in items), items
    assert any("h***@example.vn" in i and "người dân" in i.lower() for i in items), items
    assert any("***222" in i and "không gửi" in i.lower() for i in items), items
    for secret in ("truc-ban@", "hoa@example.vn", "0905 111 222"):
        assert secret not in page
    english = client.get(f"/reports/{report.id}?lang=en").get_data(as_text=True)
    assert "Messages sent" in english and "delivered" in english and "not sent" in english
    assert db.scalar(select(NotificationEvent.kind)) == "report_filed"
