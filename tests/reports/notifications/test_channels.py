"""The channels on their own: SMTP with STARTTLS or SSL and a login (a real aiosmtpd with a certificate made
here), no header injection through names or subjects, the shared per-channel rate cap, and contacts erased after
the retention period."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from dataclasses import replace

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import text

from reports.intake.submit import ReportInput, resident_contact, submit_report
from reports.notifications import checks, messages
from reports.notifications.channels import Message, PermanentError
from reports.notifications.channels import email as email_channel
from reports.notifications.config import NotificationSettings
from reports.notifications.delivery import take_budget
from reports.workflow import transitions
from tests.reports.conftest import WEST_INSIDE
from tests.reports.notifications.servers import Mailbox, free_port


def _certificate(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"gisserver" and auth_data.password == b"mat-khau-smtp"
    return AuthResult(success=ok)


MESSAGE = Message(channel="email", recipient="truc-ban@ca.example.vn", key="dlv-1", subject="Phản ánh mới ABC",
                  text="Nội dung", html="<p>Nội dung</p>")


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_smtp_over_tls_with_a_login(tmp_path, security):
    cert_file, key_file = _certificate(tmp_path)
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
