"""The channels on their own: SMTP with STARTTLS or SSL and a login (a real aiosmtpd with a certificate made
here), no header injection through names or subjects, the shared per-channel rate cap, and contacts erased after
the retention period."""

from __future__ import annotations

import datetime as dt
import ssl
import time
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import text

from reports.intake.submit import ReportInput, resident_contact, submit_report
from reports.notifications import checks, messages
from reports.notifications.channels import Message, PermanentError
from reports.notifications.channels import email as email_channel
from reports.notifications.config import NotificationSettings
from reports.notifications.delivery import budget_left_in, send_times, take_budget, take_budget_in
from reports.workflow import transitions
from tests.ports import free_port
from tests.reports.conftest import WEST_INSIDE
from tests.reports.notifications.servers import Mailbox, certificate


def _login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"gisserver" and auth_data.password == b"mat-khau-smtp"
    return AuthResult(success=ok)


MESSAGE = Message(channel="email", recipient="truc-ban@ca.example.vn", key="dlv-1", subject="Phản ánh mới ABC",
                  text="Nội dung", html="<p>Nội dung</p>")


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_over_tls_with_a_login(tmp_path, security):
    cert_file, key_file = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    mailbox = Mailbox()
    options = {"tls_context": context, "require_starttls": True} if security == "starttls" else \
        {"ssl_context": context, "auth_require_tls": False}  # aiosmtpd only counts STARTTLS as TLS
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port(), authenticator=_login,
                            auth_required=True, **options)
    controller.start()
    try:
        settings = replace(NotificationSettings(), smtp_host="127.0.0.1", smtp_port=controller.port,
                           smtp_security=security, smtp_user="gisserver", smtp_password="mat-khau-smtp",
                           smtp_ca_file=str(cert_file))
        email_channel._drop()
        assert "accepted" in email_channel.send(MESSAGE, settings).detail
        assert mailbox.wait_for(1)[0]["Subject"] == "Phản ánh mới ABC"
        email_channel._drop()
        untrusted = replace(settings, smtp_ca_file="")
        with pytest.raises(Exception) as refused:  # an unverified certificate is never accepted
            email_channel.send(MESSAGE, untrusted)
        assert "certificate" in str(refused.value).lower() or "SSL" in str(refused.value)
    finally:
        email_channel._drop()
        controller.stop()


def test_no_header_injection_through_names_or_subjects():
    rendered = messages.render("hotspot_warning", "en", {"place": "Kiệt 12\r\nBcc: all@example.vn",
                                                         "level": "warning", "level_cm": 35}, link="http://x/")
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert rendered.subject == "Water level warning at Kiệt 12 Bcc: all@example.vn"
    mail = email_channel.build(replace(MESSAGE, subject=rendered.subject), NotificationSettings())
    assert mail["Bcc"] is None and mail.get_all("To") == ["truc-ban@ca.example.vn"]
    for bad in ({"recipient": "a@example.vn\r\nBcc: b@example.vn"}, {"subject": "x\nBcc: b@example.vn"}):
        with pytest.raises(PermanentError):
            email_channel.build(replace(MESSAGE, **bad), NotificationSettings())
    html = messages.render("report_comment", "vi", {"code": "ABC", "note": "<script>alert(1)</script>"},
                           link="http://x/").html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_the_rate_cap_is_shared_through_the_database(app, db):
    db.execute(text("DELETE FROM notification_channel_budgets"))
    db.commit()
    database = app.extensions["gisserver.db"]
    caps = {"sms": 5.0}
    waits = [take_budget(database, "sms", caps) for _ in range(15)]
    assert waits[:4] == [0.0] * 4  # a second's worth at once
    assert 1.5 < waits[-1] < 2.5  # then one every fifth of a second: the fifteenth waits about two seconds
    assert take_budget(database, "email", caps) == 0.0  # no cap, no wait
    time.sleep(0.01)


def test_one_statement_takes_an_events_budget_on_every_channel_it_uses(app, db):
    db.execute(text("DELETE FROM notification_channel_budgets"))
    db.commit()
    caps = {"sms": 4.0, "email": 10.0}
    assert take_budget_in(db, {"email": 6, "sms": 2, "webhook": 3}, caps) == 0.0  # within a second's worth each
    # sms now owes 2 messages (0.5 s at 4 a second), email owes 1 (0.1 s): the wait is the longer one
    assert 0.4 < take_budget_in(db, {"email": 5, "sms": 4}, caps) <= 0.5
    left = dict(db.execute(text("SELECT channel, tokens FROM notification_channel_budgets")).all())
    assert set(left) == {"email", "sms"} and -1.0 <= left["email"] < 0 and -2.0 <= left["sms"] < -1.8
    db.rollback()


def test_a_batch_sends_each_message_when_its_own_token_is_there(app, db):
    """A fan-out job that serves several events takes their budget at once, then sends each message at the time
    its own token comes: never faster than the cap, and no message waits for the batch's last one."""
    db.execute(text("DELETE FROM notification_channel_budgets"))
    db.commit()
    caps = {"sms": 4.0}
    channels = ["sms", "email", "sms", "sms", "sms", "sms", "sms"]
    left = budget_left_in(db, {"sms": 6, "email": 1}, caps)
    assert left == {"sms": -2.0}  # a full bucket holds 4; email has no cap
    times = send_times(channels, left, caps)
    assert times[:5] == [0.0] * 5  # four sms from the bucket, and the uncapped mail
    assert times[5:] == [0.25, 0.5]  # then one every quarter of a second
    db.rollback()


def test_a_residents_contact_is_erased_after_the_retention_period(city):
    db = city
    report, _ = submit_report(db, ReportInput(category="gay_roi", description="Đánh nhau trước chợ",
                                              lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                              contact=resident_contact("dan@example.vn", None, True, "vi")),
                              actor="test")
    transitions.transition(db, report, "resolve", actor="officer", note="xong")
    db.commit()
    settings = NotificationSettings(contact_retention_days=30)
    assert checks.erase_old_contacts(db, settings, dt.datetime.now(dt.UTC) + dt.timedelta(days=29)) == 0
    assert checks.erase_old_contacts(db, settings, dt.datetime.now(dt.UTC) + dt.timedelta(days=31)) == 1
    assert db.scalar(text("SELECT count(*) FROM resident_contacts")) == 0
    # The erasure is in the audit log (which report's contact, why), the contact itself is not.
    [entry] = db.execute(text("SELECT actor, row_id, changes FROM audit_log WHERE table_name = 'resident_contacts' "
                              "AND action = 'delete'")).all()
    assert entry.changes == {"report_id": report.id, "reason": "erased 30 days after the report closed"}
    assert db.scalar(text("SELECT count(*) FROM audit_log WHERE changes::text LIKE '%dan@example.vn%'")) == 0


def test_the_worker_names_itself_in_the_audit_log_of_what_its_checks_write(app, city):
    from reports.notifications import tasks

    db = city
    report, _ = submit_report(db, ReportInput(category="gay_roi", description="Đánh nhau trước chợ",
                                              lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                              contact=resident_contact(None, "0905 111 222", True, "vi")),
                              actor="test")
    transitions.transition(db, report, "resolve", actor="officer", note="xong")
    db.execute(text("UPDATE reports SET closed_at = now() - interval '40 days' WHERE id = :id"), {"id": report.id})
    db.commit()
    tasks.set_runtime(tasks.Runtime(app.extensions["gisserver.db"], NotificationSettings(), b"k" * 32))
    try:
        found = tasks.run_checks.func(int(dt.datetime.now(dt.UTC).timestamp()))
    finally:
        tasks.set_runtime(None)
    assert found["erase_old_contacts"] == 1
    assert db.scalar(text("SELECT actor FROM audit_log WHERE table_name = 'resident_contacts' AND action = 'delete'")
                     ) == "system:notifications-worker"
