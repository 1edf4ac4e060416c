"""Leaders' weekly mails of a dashboard's PDF (their day and hour), sent through the notifications' outbox.

Revision ID: reports_0013
Revises: reports_0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0013"
down_revision = "reports_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_mails",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dashboard_id", sa.Integer, sa.ForeignKey("dashboards.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("weekday", sa.SmallInteger, nullable=False),
        sa.Column("hour", sa.SmallInteger, nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("dashboard_id", "user_id"),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7 AND hour BETWEEN 0 AND 23", name="ck_dashboard_mails_when"),
    )


def downgrade() -> None:
    op.drop_table("dashboard_mails")
