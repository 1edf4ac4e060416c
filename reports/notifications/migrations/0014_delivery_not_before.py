"""A delivery held for duty or quiet hours says until when: the job that fans an event out sends the others
itself, and finds them again by this when it is retried.

Revision ID: reports_0014
Revises: reports_0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0014"
down_revision = "reports_0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification_deliveries", sa.Column("not_before", sa.DateTime(timezone=True)))
    # Pending deliveries of before this revision each have their deliver job: mark them held, so that no fan-out
    # job takes them as its own.
    op.execute("UPDATE notification_deliveries SET not_before = created_at WHERE status = 'pending'")


def downgrade() -> None:
    op.drop_column("notification_deliveries", "not_before")
