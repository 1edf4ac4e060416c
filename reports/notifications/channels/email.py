"""Email over SMTP (STARTTLS, SSL or plain for a local catcher; optional auth): multipart text + HTML."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import threading
from email.message import EmailMessage
from email.utils import formatdate

from reports.notifications.channels import ChannelOff, DeliveryError, Message, PermanentError, Receipt
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
    # The same Message-ID on every try of a delivery (a receiving system that saw it may drop a resend), unique to
    # this installation by a digest of its public address.
    installation = hashlib.sha256(settings.public_url.encode()).hexdigest()[:10]
    domain = settings.mail_from.rpartition("@")[2].strip(" >") or "gisserver.local"
    mail["Message-ID"] = f"<{message.key}.{installation}@{domain}>"
    for name, value in message.headers.items():
        mail[name] = _no_line_breaks(value, name)
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    for attachment in message.attachments:  # the text and HTML stay the body; files follow (multipart/mixed)
        maintype, _, subtype = attachment.content_type.partition("/")
        mail.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                            filename=_no_line_breaks(attachment.filename, "attachment name"))
    return mail


# One open SMTP session per sending thread, reused while the server keeps it: a new connection (and TLS
# handshake) per message would cost more than the message.
_sessions = threading.local()


def _tls(settings: NotificationSettings) -> ssl.SSLContext:
    # Certificates are always verified (host name included); a city's own CA can be named instead of the system's.
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def _connect(settings: NotificationSettings) -> smtplib.SMTP:
    if settings.smtp_security == "ssl":
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout,
                                  context=_tls(settings))
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout)
    if settings.smtp_security == "starttls":
        client.starttls(context=_tls(settings))
    if settings.smtp_user:
        client.login(settings.smtp_user, settings.smtp_password)
    return client


def _session(settings: NotificationSettings) -> smtplib.SMTP:
    """This thread's session with the configured server, checked with NOOP before reuse (never a resend: a
    message is only ever handed to a session that just answered)."""
    target = (settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_user)
    client = getattr(_sessions, "client", None)
    if client is not None and getattr(_sessions, "target", None) == target:
        try:
            if client.noop()[0] == 250:
                return client
        except (OSError, smtplib.SMTPException):
            pass
        _drop()
    client = _connect(settings)
    _sessions.client, _sessions.target = client, target
    return client


def _drop() -> None:
    client = getattr(_sessions, "client", None)
    _sessions.client = None
    if client is not None:
        try:
            client.close()
        except OSError:
            pass


def send(message: Message, settings: NotificationSettings) -> Receipt:
    if not settings.smtp_host:
        raise ChannelOff("no SMTP server configured (GISSERVER_SMTP_HOST)")
    mail = build(message, settings)
    try:
        client = _session(settings)
        try:
            refused = client.send_message(mail)
        except (OSError, smtplib.SMTPServerDisconnected):
            _drop()
            raise
    except smtplib.SMTPRecipientsRefused as exc:
        _reset()
        raise PermanentError(f"recipient refused: {exc.recipients}") from None
    except smtplib.SMTPResponseException as exc:
        _reset()
        if 500 <= exc.smtp_code < 600:
            raise PermanentError(f"SMTP {exc.smtp_code}") from None
        raise DeliveryError(f"SMTP {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {type(exc).__name__}: {exc}") from None
    if refused:
        raise PermanentError(f"recipient refused: {sorted(refused)}")
    return Receipt(f"accepted by {settings.smtp_host}:{settings.smtp_port}")


def _reset() -> None:
    """After a refused message the session is still usable once reset (RSET)."""
    client = getattr(_sessions, "client", None)
    try:
        if client is not None:
            client.rset()
    except (OSError, smtplib.SMTPException):
        _drop()
