"""What people read for a report's statuses and intake channels, in Vietnamese and English (pages, exports)."""

from __future__ import annotations

from flask_babel import format_decimal
from flask_babel import gettext as _
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
    """Every page may name a report's status and its history's steps (resident's status page, officer's pages,
    leaders' records)."""
    return {"STATUS_LABELS": STATUS_LABELS, "history_action": history_action}


# -- a report's history in the reader's words (entries from reports.workflow.history) --------------------------

HISTORY_ACTIONS = {"created": _l("Received"), "acknowledge": _l("Acknowledged"), "start": _l("Handling started"),
                   "resolve": _l("Resolved"), "reject": _l("Rejected"), "reopen": _l("Reopened"),
                   "move": _l("Moved"), "reassign": _l("Reassigned"), "merge": _l("Merged into another report"),
                   "absorb": _l("Duplicates merged in"), "support": _l("Another resident reported it too"),
                   "comment": _l("Answer to the resident")}
RESIDENT_BY_CHANNEL = {"qr_web": _l("A resident (QR code)"), "api": _l("A resident (app)"),
                       "open311": _l("A resident (Open311 app)"), "phone": _l("A resident (by phone)")}
# Eight points of the compass, clockwise from north, for "moved 120 m to the north-east".
COMPASS = (_l("north"), _l("north-east"), _l("east"), _l("south-east"), _l("south"), _l("south-west"), _l("west"),
           _l("north-west"))


def history_action(action: str) -> str:
    # A merged duplicate follows its main report ("follow_resolve"): it reads like its own step.
    return str(HISTORY_ACTIONS.get(action.removeprefix("follow_"), action))


def actor_text(actor) -> str:
    """"Nguyễn Văn A, Công an phường Phú Xuân"; "Người dân (mã QR)"; "Hệ thống"."""
    if actor.kind == "staff":
        return ", ".join(part for part in (actor.name, actor.unit) if part)
    if actor.kind == "resident":
        return str(RESIDENT_BY_CHANNEL.get(actor.channel or "", _l("A resident")))
    return _("The system")


def distance_text(metres: float) -> str:
    if metres < 1000:
        return f"{format_decimal(round(metres), format='#,##0')} m"
    return f"{format_decimal(round(metres / 1000, 1), format='#,##0.0')} km"


def compass(bearing: float) -> str:
    return str(COMPASS[int(((bearing % 360) + 22.5) // 45) % 8])


def event_text(entry: dict) -> str:
    """What the system did in an entry, in the reader's language ("" when only the step itself says it)."""
    action, details = entry["action"].removeprefix("follow_"), entry.get("details") or {}
    if entry["action"].startswith("follow_") and details.get("main"):
        return _("Follows the main report %(code)s", code=details["main"])
    if action == "created" and details.get("channel") in CHANNEL_LABELS:
        return f"{_('Channel')}: {CHANNEL_LABELS[details['channel']]}"
    if action == "move":
        place = details.get("area_name") or ""
        if details.get("metres") is not None:
            text = _("Moved %(distance)s to the %(direction)s", distance=distance_text(details["metres"]),
                     direction=compass(details.get("bearing", 0)))
        else:
            text = _("Placed on the map")
        if place:
            text += ", " + _("into %(area)s", area=place)
        if details.get("unit_name"):
            text += "; " + _("now handled by %(unit)s", unit=details["unit_name"])
        return text
    if action == "reassign":
        if details.get("unit_name") and details.get("area_name"):
            return _("Handed to %(unit)s (%(area)s)", unit=details["unit_name"], area=details["area_name"])
        if details.get("unit_name"):
            return _("Handed to %(unit)s", unit=details["unit_name"])
        return ""
    if action == "merge" and details.get("into"):
        return _("Merged into report %(code)s", code=details["into"])
    if action == "absorb" and details.get("duplicates"):
        return _("Duplicates merged in: %(codes)s", codes=", ".join(details["duplicates"]))
    return ""
