"""The outbox's event rows carry two indexes fewer: every filed report writes one, and nothing read these.

Nothing queries the events by their creation time, and only scheduled events (overdue, escalations, digests) have a
dedupe key: its unique index now holds only those, not one NULL per report.

Revision ID: reports_0015
Revises: reports_0014
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0015"
down_revision = "reports_0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_notification_events_created_at", table_name="notification_events")
    op.drop_constraint("uq_notification_events_dedupe_key", "notification_events", type_="unique")
    op.create_index("uq_notification_events_dedupe_key", "notification_events", ["dedupe_key"], unique=True,
                    postgresql_where=sa.text("dedupe_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("uq_notification_events_dedupe_key", table_name="notification_events")
    op.create_unique_constraint("uq_notification_events_dedupe_key", "notification_events", ["dedupe_key"])
    op.create_index("ix_notification_events_created_at", "notification_events", ["created_at"])
