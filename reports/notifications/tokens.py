"""One-click unsubscribe tokens: ``<contact id>.<HMAC>`` under a key derived from the app's secret, so that no
token is stored and a token names exactly one contact (changing the id breaks the HMAC)."""

from __future__ import annotations

import hashlib
import hmac

from gisserver.core.config import Settings, load_or_create_secret


def signing_key(settings: Settings) -> bytes:
    secret = settings.secret_key or load_or_create_secret(settings.data_dir / "secret_key")
    return hashlib.sha256(b"gisserver-notifications:" + secret.encode()).digest()


def unsubscribe_token(key: bytes, contact_id: int) -> str:
    digest = hmac.new(key, f"unsubscribe:{contact_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{contact_id}.{digest}"


def contact_of(key: bytes, token: str) -> int | None:
    """The contact id a token was made for, or None when it is not one of ours."""
    contact_id, _, digest = (token or "").partition(".")
    if not contact_id.isdigit() or len(contact_id) > 9 or len(digest) != 32:
        return None
    expected = unsubscribe_token(key, int(contact_id)).partition(".")[2]
    return int(contact_id) if hmac.compare_digest(expected, digest) else None
