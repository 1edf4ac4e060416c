"""The demo city's duty contacts: every unit's mailbox at the local SMTP catcher that `setup.sh serve` starts
(mailpit-like addresses on example.vn, delivered to 127.0.0.1:1025), so that a newcomer sees mails arrive."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.areas.models import Unit
from reports.notifications.admin import add_duty_contact


def contacts_step(session: Session, context) -> str:
    count = 0
    for unit in session.scalars(select(Unit).where(Unit.active).order_by(Unit.code)):
        add_duty_contact(session, unit.code, "email", f"{unit.code.lower()}@example.vn")
        count += 1
    return f"{count} duty mailboxes"
