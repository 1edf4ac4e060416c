"""Who filed a report (an officer taking a call keeps it in "reports I filed" wherever it lands), the facts of a
history entry kept as data (so that it reads in each reader's language), and photos of the fix.

Revision ID: reports_0010
Revises: reports_0009
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "reports_0010"
down_revision = "reports_0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("filed_by", sa.Text, nullable=True))
    op.create_index("ix_reports_filed_by", "reports", ["filed_by"], postgresql_where=sa.text("filed_by IS NOT NULL"))
    # Staff who filed before: their name is in the first history entry ("user:<name>" or "token:<name>").
    op.execute("""
        UPDATE reports r SET filed_by = split_part(e.actor, ':', 2)
        FROM report_events e
        WHERE e.report_id = r.id AND e.action = 'created' AND (e.actor LIKE 'user:%' OR e.actor LIKE 'token:%')
    """)
    op.add_column("report_events", sa.Column("details", JSONB, nullable=True))
    op.add_column("report_photos", sa.Column("kind", sa.String(16), nullable=False, server_default="report"))
    op.create_check_constraint("report_photos_kind", "report_photos", "kind IN ('report', 'fix')")


def downgrade() -> None:
    op.drop_constraint("report_photos_kind", "report_photos")
    op.drop_column("report_photos", "kind")
    op.drop_column("report_events", "details")
    op.drop_index("ix_reports_filed_by", "reports")
    op.drop_column("reports", "filed_by")
