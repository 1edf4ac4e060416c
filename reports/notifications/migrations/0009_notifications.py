"""Notifications: the outbox, deliveries and attempts, who is told (duty contacts, staff profiles, residents'
contacts, webhook subscribers, push subscriptions), the per-channel rate budget, and procrastinate's job tables.

procrastinate's schema is its own SQL (procrastinate.schema), applied here so that one `gisserver db migrate`
sets up everything; upgrading procrastinate past 3.x means adding a revision with its migration scripts.

Revision ID: reports_0009
Revises: reports_0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

revision = "reports_0009"
down_revision = "reports_0007"
branch_labels = None
depends_on = "base_0002"  # users (profiles and push subscriptions belong to one)

PROCRASTINATE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                        "procrastinate_workers")


def _now():
    return sa.text("now()")


def upgrade() -> None:
    from procrastinate.schema import SchemaManager

    # Straight to psycopg, without parameters: the schema is many statements and holds literal % signs.
    op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())

    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("area_id", sa.Integer, index=True),
        sa.Column("unit_ids", ARRAY(sa.Integer), nullable=False, server_default="{}"),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("dedupe_key", sa.Text, unique=True),
        sa.Column("payload", JSONB, nullable=False, server_default="{}"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now(), index=True),
        sa.Column("fanned_out_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_notification_events_subject", "notification_events", ["subject_type", "subject_id"])
    op.create_table(
        "notification_deliveries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("notification_events.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("recipient_masked", sa.Text, nullable=False),
        sa.Column("recipient_kind", sa.String(16), nullable=False),
        sa.Column("language", sa.String(2), nullable=False, server_default="vi"),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending", index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acked_parts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("event_id", "channel", "recipient"),
        sa.CheckConstraint("channel IN ('email', 'sms', 'chat', 'webhook', 'push')", name="channel"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead', 'skipped')", name="status"),
    )
    op.create_table(
        "notification_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("delivery_id", sa.Integer, sa.ForeignKey("notification_deliveries.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("outcome", sa.String(16), nullable=False, server_default="started"),
        sa.Column("detail", sa.Text, nullable=False, server_default=""),
    )
    op.create_table(
        "unit_duty_contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("language", sa.String(2), nullable=False, server_default="vi"),
        sa.Column("on_duty_from", sa.Time),
        sa.Column("on_duty_to", sa.Time),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.UniqueConstraint("unit_id", "channel", "address"),
    )
    op.create_table(
        "notification_profiles",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("language", sa.String(2), nullable=False, server_default="vi"),
        sa.Column("channels", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("quiet_from", sa.Time),
        sa.Column("quiet_to", sa.Time),
        sa.Column("digest", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "resident_contacts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False,
                  unique=True),
        sa.Column("email", sa.Text),
        sa.Column("phone", sa.Text),
        sa.Column("language", sa.String(2), nullable=False, server_default="vi"),
        sa.Column("consent", sa.Text, nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unsubscribed_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "webhook_subscribers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("kinds", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("allow_private", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("endpoint", sa.Text, nullable=False, unique=True),
        sa.Column("p256dh", sa.Text, nullable=False),
        sa.Column("auth", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=_now()),
    )
    op.create_table(
        "notification_channel_budgets",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("tokens", sa.Float, nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("notification_channel_budgets", "push_subscriptions", "webhook_subscribers", "resident_contacts",
                  "notification_profiles", "unit_duty_contacts", "notification_attempts", "notification_deliveries",
                  "notification_events"):
        op.drop_table(table)
    for table in PROCRASTINATE_TABLES:
        op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
