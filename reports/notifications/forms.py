"""What the notification views share: the settings as this app sees them."""

from __future__ import annotations

from dataclasses import replace

from flask import current_app

from reports.notifications.config import NotificationSettings


def settings() -> NotificationSettings:
    """The notification settings from the environment, read once per app; the app's own config may set the live
    feed's limits (tests keep streams short)."""
    if "gisserver.notifications" not in current_app.extensions:
        found = NotificationSettings.from_env()
        for name in ("live_max_seconds", "live_max_streams", "live_heartbeat_seconds"):
            if current_app.config.get(name.upper()) is not None:
                found = replace(found, **{name: type(getattr(found, name))(current_app.config[name.upper()])})
        current_app.extensions["gisserver.notifications"] = found
    return current_app.extensions["gisserver.notifications"]
