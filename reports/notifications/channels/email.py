"""Email over SMTP (STARTTLS, SSL or plain for a local catcher; optional auth): multipart text + HTML."""

from __future__ import annotations

import hashlib
import secrets
import smtplib
import ssl
import threading
import time
from email import encoders
from email.header import Header
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, parseaddr

from reports.notifications.channels import ChannelOff, DeliveryError, Message, PermanentError, Receipt, Unreachable
from reports.notifications.config import NotificationSettings


def _no_line_breaks(value: str, name: str) -> str:
    # EmailMessage folds headers safely, but a CR/LF that reached here means a check upstream failed: refuse.
    if "\r" in value or "\n" in value:
        raise PermanentError(f"{name} holds a line break")
    return value


def _text(value: str) -> str | Header:
    # A header with Vietnamese in it travels as RFC 2047 encoded words; plain ASCII as it is.
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    name, address = parseaddr(value)
    return formataddr((name, address), charset="utf-8") if name else value


def _boundary() -> str:
    # Given rather than left to the generator, which makes one and compiles a regular expression to search every
    # part for it, each mail. The parts are base64, and "=_" never occurs in base64 (RFC 2045 6.7's advice).
    return f"=_{secrets.token_hex(16)}"


def build(message: Message, settings: NotificationSettings) -> MIMEMultipart | MIMEText:
    """The mail, built with the standard library's classic MIME classes: EmailMessage's header registry parses and
    refolds every header, and on a flood day that was a third of the worker's time for the same bytes."""
    text = MIMEText(message.text, "plain", "utf-8")
    mail: MIMEMultipart | MIMEText = text
    if message.html:
        mail = MIMEMultipart("alternative", boundary=_boundary())
        mail.attach(text)
        mail.attach(MIMEText(message.html, "html", "utf-8"))
    if message.attachments:  # the text and HTML stay the body; files follow (multipart/mixed)
        mixed = MIMEMultipart("mixed", boundary=_boundary())
        mixed.attach(mail)
        for attachment in message.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype, subtype)
            part.set_payload(attachment.data)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment",
                            filename=("utf-8", "", _no_line_breaks(attachment.filename, "attachment name")))
            mixed.attach(part)
        mail = mixed
    mail["From"] = _address(_no_line_breaks(settings.mail_from, "From"))
    mail["To"] = _no_line_breaks(message.recipient, "To")
    mail["Subject"] = _text(_no_line_breaks(message.subject, "Subject"))
    mail["Date"] = formatdate(localtime=False)
    # The same Message-ID on every try of a delivery (a receiving system that saw it may drop a resend), unique to
    # this installation by a digest of its public address.
    installation = hashlib.sha256(settings.public_url.encode()).hexdigest()[:10]
    domain = settings.mail_from.rpartition("@")[2].strip(" >") or "gisserver.local"
    mail["Message-ID"] = f"<{message.key}.{installation}@{domain}>"
    for name, value in message.headers.items():
        mail[name] = _text(_no_line_breaks(value, name))
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


# A session that answered this recently is used without a NOOP first: in a burst that round trip would cost as much
# as the message. A server that dropped it in between makes the send fail, and the delivery is tried again later.
TRUSTED_SECONDS = 5.0


def _session(settings: NotificationSettings) -> smtplib.SMTP:
    """This thread's session with the configured server; checked with NOOP before reuse when it has been idle
    for a while."""
    target = (settings.smtp_host, settings.smtp_port, settings.smtp_security, settings.smtp_user)
    client = getattr(_sessions, "client", None)
    if client is not None and getattr(_sessions, "target", None) == target:
        if time.monotonic() - getattr(_sessions, "answered_at", 0.0) < TRUSTED_SECONDS:
            return client
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
        _sessions.answered_at = time.monotonic()
    except smtplib.SMTPRecipientsRefused as exc:
        _reset()
        raise PermanentError(f"recipient refused: {exc.recipients}") from None
    except smtplib.SMTPResponseException as exc:
        _reset()
        if 500 <= exc.smtp_code < 600:
            raise PermanentError(f"SMTP {exc.smtp_code}") from None
        raise DeliveryError(f"SMTP {exc.smtp_code}") from None
    except (OSError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError) as exc:
        raise Unreachable(f"SMTP: {type(exc).__name__}: {exc}") from None
    except smtplib.SMTPException as exc:
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
