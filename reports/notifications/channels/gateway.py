"""SMS and chat through an HTTP gateway described by configuration alone (URL template, method, headers, body
template): Vietnamese SMS providers and Zalo OA-style chat APIs differ, none is hard-coded.

SMS text is cut into segments (segments.py) and each segment is one request; a retry resumes after the last
segment the gateway acknowledged. Chat messages are cut at CHAT_LIMIT characters, never inside a character.
"""

from __future__ import annotations

from gisserver.core.exceptions import Invalid
from reports.notifications.channels import ChannelOff, Message, PermanentError, Receipt, segments
from reports.notifications.channels.http import call
from reports.notifications.channels.netguard import pin
from reports.notifications.channels.templating import TemplateRefused, render
from reports.notifications.config import NotificationSettings

CHAT_LIMIT = 2000


def parts_of(message: Message) -> list[str]:
    if message.channel == "sms":
        return segments.split(message.text)
    clusters = segments._clusters(message.text)
    return ["".join(clusters[i:i + CHAT_LIMIT]) for i in range(0, len(clusters), CHAT_LIMIT)] or [""]


def send(message: Message, settings: NotificationSettings, on_part=None) -> Receipt:
    """Send every part not yet acknowledged; *on_part(n)* records each acknowledged part at once."""
    gateway = settings.gateway(message.channel)
    if not gateway["url"]:
        raise ChannelOff(f"no {message.channel} gateway configured (GISSERVER_{message.channel.upper()}_URL)")
    parts = parts_of(message)
    for index in range(message.parts_done, len(parts)):
        context = {"to": message.recipient, "text": parts[index], "segment": index + 1, "segments": len(parts),
                   "message_id": f"{message.key}-{index + 1}", "subject": message.subject}
        try:
            url = render(gateway["url"], context)
            body = render(gateway["body"], context)
            pin(url, allow_private=settings.webhook_allow_private or message.allow_private)
        except (TemplateRefused, Invalid) as exc:
            raise PermanentError(f"gateway configuration: {exc}") from None
        call(f"{message.channel} gateway", gateway["method"], url, data=body.encode(), headers={
            "Content-Type": "application/json; charset=utf-8", "Idempotency-Key": context["message_id"],
            **gateway["headers"]}, timeout=settings.gateway_timeout)
        if on_part is not None:
            on_part(index + 1)
    return Receipt(f"{len(parts)} part(s) accepted by the {message.channel} gateway", parts=len(parts))
