"""Web Push to staff browsers (VAPID, pywebpush): a short encrypted notice with the page to open."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import requests
from pywebpush import WebPushException, webpush

from gisserver.core.exceptions import Invalid
from reports.notifications.channels import ChannelOff, DeliveryError, Message, PermanentError, Receipt, Unreachable
from reports.notifications.channels.netguard import client, pin
from reports.notifications.config import NotificationSettings


def send(message: Message, settings: NotificationSettings) -> Receipt:
    if not settings.vapid_private_key:
        raise ChannelOff("no VAPID key configured (GISSERVER_VAPID_PRIVATE_KEY)")
    try:
        pin(message.recipient, allow_private=settings.webhook_allow_private)
    except Invalid as exc:
        raise PermanentError(f"push endpoint refused: {exc.message}") from None
    endpoint = urlsplit(message.recipient)
    data = json.dumps({"title": message.subject, "body": message.text[:300], "url": message.body.get("url", "/"),
                       "tag": message.key}, ensure_ascii=False)
    try:
        response = webpush(
            subscription_info={"endpoint": message.recipient, "keys": message.push_keys}, data=data,
            vapid_private_key=settings.vapid_private_key,
            vapid_claims={"sub": settings.vapid_subject, "aud": f"{endpoint.scheme}://{endpoint.netloc}"},
            timeout=settings.webhook_timeout, ttl=3600, requests_session=client(),
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status in (404, 410):
            raise PermanentError(f"push subscription gone ({status})") from None
        raise DeliveryError(f"push service: {status or type(exc).__name__}") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise Unreachable(f"push service: {type(exc).__name__}") from None
    except Exception as exc:  # other network errors come through requests
        raise DeliveryError(f"push service: {type(exc).__name__}") from None
    return Receipt(f"push service answered {response.status_code}")
