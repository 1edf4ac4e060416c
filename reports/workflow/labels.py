"""What people read for a report's statuses and intake channels, in Vietnamese and English (pages, exports)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "new": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "in_progress": _l("Being handled"),
    "resolved": _l("Resolved"),
    "rejected": _l("Rejected"),
}
CHANNEL_LABELS = {"qr_web": _l("QR / web form"), "api": _l("App / API"), "open311": _l("Open311"),
                  "phone": _l("Phone"), "officer": _l("Officer")}


def template_labels() -> dict:
    """Every page may name a report's status (resident's status page, officer's pages, leaders' records)."""
    return {"STATUS_LABELS": STATUS_LABELS}
