"""An HTTP call of a channel (a webhook, an SMS or chat gateway) through netguard's pinned client, with its
failures told apart the way every channel tells them: no answer (Unreachable), worth retrying (DeliveryError: a
5xx, 408 or 429, a broken exchange) or refused for good (PermanentError: any other status from 300 up; redirects
are not followed, so that a checked address cannot send the request on to another)."""

from __future__ import annotations

import requests

from reports.notifications.channels import DeliveryError, PermanentError, Unreachable
from reports.notifications.channels.netguard import client


def call(what: str, method: str, url: str, **kwargs) -> requests.Response:
    """*method* on *url* (checked by netguard.pin first); *what* names the other side in the errors."""
    try:
        response = client().request(method, url, allow_redirects=False, **kwargs)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise Unreachable(f"{what}: {type(exc).__name__}") from None
    except requests.RequestException as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}") from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise DeliveryError(f"{what} answered {response.status_code}")
    if response.status_code >= 300:
        raise PermanentError(f"{what} refused: {response.status_code}")
    return response
