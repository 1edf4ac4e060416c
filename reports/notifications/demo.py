"""The demo city's notifications: every unit's duty mailbox (unit-code@example.vn) and the demo officer's choice of
email, delivered by `setup.sh serve` to a local SMTP catcher (var/mail), so that a newcomer sees mails arrive.

The demo replays months of history, which is not news: the loader marks its sessions (HISTORY_REPLAY) and the
outbox hooks stay quiet. What the scheduled checks would find in that past (every overdue report, every silent
camera) counts as told already: their events are written, with their once-only keys, and their jobs dropped.
From then on, every new report, change, alert and deadline is delivered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gisserver.accounts.models import User
from reports.areas.models import Unit
from reports.notifications import queue
from reports.notifications.admin import add_duty_contact, save_profile
from reports.notifications.checks import run_checks
from reports.notifications.config import NotificationSettings


def contacts_step(session: Session, context) -> str:
    count = 0
    for unit in session.scalars(select(Unit).where(Unit.active).order_by(Unit.code)):
        add_duty_contact(session, unit.code, "email", f"{unit.code.lower()}@example.vn")
        count += 1
    officer = session.scalar(select(User).where(User.username == "officer"))
    if officer is not None:
        save_profile(session, officer.id, {"email": "officer@example.vn", "channels": ["email"], "language": "vi"})
    mark = queue.deferred_mark(session)
    run_checks(session, NotificationSettings(), datetime.now(UTC))
    session.flush()
    # Only the jobs these checks deferred: others in the queue (a worker's, a server's) are none of the demo's.
    own = queue.deferred_since(session, mark)
    dropped = session.execute(text("DELETE FROM procrastinate_jobs WHERE id = ANY(:ids) AND status = 'todo'"),
                              {"ids": own}).rowcount if own else 0
    return f"{count} duty mailboxes; {dropped} messages of the demo's past not sent"
