"""The notification settings, read from GISSERVER_* environment variables (README "Notifications" lists them).

Kept with the domain rather than in the core's Settings: only the worker, the outbox hooks and the live map read
them, and a deployment without mail or gateways leaves them all empty (nothing is sent on a channel that is not
configured; its deliveries are recorded as skipped).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class NotificationSettings:
    # Off: the hooks write nothing (no outbox, no live map); for a deployment that delivers nothing.
    notifications_enabled: bool = True
    # Email (SMTP). smtp_security: "starttls", "ssl" or "none" (a local catcher).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_timeout: float = 10.0
    smtp_ca_file: str = ""  # a private CA to trust for the SMTP server's certificate (else the system's)
    mail_from: str = "gisserver <no-reply@localhost>"
    # SMS and chat gateways: URL template, method, headers (JSON object) and body template, each rendered in a
    # sandbox with {to, text, segment, segments, message_id}. Empty URL: the channel is off.
    sms_url: str = ""
    sms_method: str = "POST"
    sms_headers: str = "{}"
    sms_body: str = '{"to": {{ to|tojson }}, "text": {{ text|tojson }}, "id": {{ message_id|tojson }}}'
    chat_url: str = ""
    chat_method: str = "POST"
    chat_headers: str = "{}"
    chat_body: str = '{"recipient": {"user_id": {{ to|tojson }}}, "message": {"text": {{ text|tojson }}}}'
    gateway_timeout: float = 10.0
    # Webhooks: subscribers live in the database; their URL may not point at private ranges unless allowed.
    webhook_timeout: float = 10.0
    webhook_allow_private: bool = False
    # Web Push (VAPID): the key pair's private key (PEM or base64url) and the contact in the JWT's "sub".
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:no-reply@localhost"
    # Delivery: attempts before the dead-letter state, backoff base and cap (seconds), jitter share.
    notify_max_attempts: int = 6
    notify_backoff_seconds: float = 5.0
    notify_backoff_max_seconds: float = 1800.0
    # Events one fan-out job serves at most: its own and those of ready fan-out jobs it takes along (a burst).
    notify_fanout_batch: int = 8
    # Per-channel rate caps, messages per second over all workers ("email=20,sms=5,...").
    notify_rate_caps: str = "email=50,sms=10,chat=20,webhook=50,push=50"
    # Who is told, and when: the escalation ladder (hours after the deadline), the deadline warning (hours
    # before), a camera silent this long, a gauge silent this long, the leaders' digest hour (city time).
    escalate_ward_hours: float = 4.0
    escalate_city_hours: float = 24.0
    deadline_warning_hours: float = 4.0
    camera_offline_alert_minutes: int = 60
    gauge_stale_minutes: int = 60
    digest_hour: int = 7
    # The job queue's finished jobs are kept this long (hours), then removed by a daily task; failed ones stay.
    job_retention_hours: int = 168
    # Alert types that are urgent: they ignore quiet hours and raise the banner on the live map.
    urgent_alert_types: str = "fire,flood"
    # A resident's contact is erased this many days after the report closes.
    contact_retention_days: int = 30
    # Where links in messages point (the report page, the status page, unsubscribe).
    public_url: str = "http://127.0.0.1:5000"
    # Live map: open event streams per server process, and the heartbeat interval in seconds.
    live_max_streams: int = 2  # `gisserver serve` sets it to half its --threads
    live_heartbeat_seconds: float = 15.0
    live_max_seconds: float = 600.0

    @classmethod
    def from_env(cls, environ=None) -> NotificationSettings:
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get("GISSERVER_" + f.name.upper())
            if raw is None or raw == "":
                continue
            if f.type == "int":
                values[f.name] = int(raw)
            elif f.type == "float":
                values[f.name] = float(raw)
            elif f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        return cls(**values)

    def rate_caps(self) -> dict[str, float]:
        caps = {}
        for part in self.notify_rate_caps.split(","):
            name, _, value = part.partition("=")
            if name.strip() and value.strip():
                caps[name.strip()] = float(value)
        return caps

    def gateway(self, channel: str) -> dict:
        """The gateway of "sms" or "chat": url, method, headers (dict) and body template."""
        headers = json.loads(getattr(self, f"{channel}_headers") or "{}")
        if not isinstance(headers, dict):
            raise ValueError(f"GISSERVER_{channel.upper()}_HEADERS must be a JSON object")
        return {"url": getattr(self, f"{channel}_url"), "method": getattr(self, f"{channel}_method").upper(),
                "headers": {str(k): str(v) for k, v in headers.items()}, "body": getattr(self, f"{channel}_body")}

    def urgent_types(self) -> set[str]:
        return {t.strip() for t in self.urgent_alert_types.split(",") if t.strip()}
