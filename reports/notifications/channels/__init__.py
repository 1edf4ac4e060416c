"""Every way of delivering a message behind one small interface: ``send(message, settings) -> Receipt``.

A channel raises DeliveryError for a failure worth retrying (the server is down, a 5xx, a timeout) and
PermanentError for one that a retry cannot fix (a refused address, a 4xx, a template error), ChannelOff when it is
not configured at all; it returns a Receipt
when the other side acknowledged the message.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DeliveryError(Exception):
    """A failure worth retrying."""


class Unreachable(DeliveryError):
    """The other side could not be reached or did not answer in time (refused, dropped, timed out): the next
    message to the same place would most likely wait as long for the same answer."""


class PermanentError(DeliveryError):
    """A failure no retry will fix: the delivery goes to the dead letters at once."""


class ChannelOff(PermanentError):
    """The channel is not configured on this installation: the delivery is recorded as not sent (skipped), not as
    a failure for an admin to retry."""


@dataclass(frozen=True)
class Message:
    """What one recipient receives, in their language; *key* is the same on every retry (idempotency)."""

    channel: str
    recipient: str
    key: str
    subject: str
    text: str
    html: str = ""
    body: dict = field(default_factory=dict)  # the webhook's JSON document
    secret: str = ""  # the webhook subscriber's signing secret
    allow_private: bool = False
    headers: dict = field(default_factory=dict)  # extra mail headers (List-Unsubscribe)
    push_keys: dict = field(default_factory=dict)  # a push subscription's p256dh and auth
    parts_done: int = 0  # parts the channel already acknowledged on an earlier try
    attachments: tuple = ()  # email only: messages.Attachment (filename, content type, bytes)


@dataclass(frozen=True)
class Receipt:
    detail: str
    parts: int = 1
