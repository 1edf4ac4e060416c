"""Email over SMTP (STARTTLS, SSL or plain for a local catcher; optional auth): multipart text + HTML."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from reports.notifications.channels import DeliveryError, Message, PermanentError, Receipt
from reports.notifications.config import NotificationSettings


def _no_line_breaks(value: str, name: str) -> str:
    # EmailMessage folds headers safely, but a CR/LF that reached here means a check upstream failed: refuse.
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{name} holds a line break")
    return value


def build(message: Message, settings: NotificationSettings) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = _no_line_breaks(settings.mail_from, "From")
    mail["To"] = _no_line_breaks(message.recipient, "To")
    mail["Subject"] = _no_line_breaks(message.subject, "Subject")
    mail["Date"] = formatdate(localtime=False)
    # The same Message-ID on every try: a receiving system that saw it may drop a resend.
    mail["Message-ID"] = make_msgid(idstring=message.key, domain="gisserver.local")
    for name, value in message.headers.items():
        mail[name] = _no_line_breaks(value, name)
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def send(message: Message, settings: NotificationSettings) -> Receipt:
    if not settings.smtp_host:
        raise PermanentError("no SMTP server configured (GISSERVER_SMTP_HOST)")
    mail = build(message, settings)
    try:
        if settings.smtp_security == "ssl":
            client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
        with client:
            if settings.smtp_security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if settings.smtp_user:
                client.login(settings.smtp_user, settings.smtp_password)
            refused = client.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(f"recipient refused: {exc.recipients}") from None
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentError(f"SMTP {exc.smtp_code}") from None
        raise DeliveryError(f"SMTP {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
    if refused:
        raise PermanentError(f"recipient refused: {sorted(refused)}")
    return Receipt(f"accepted by {settings.smtp_host}:{settings.smtp_port}")
