"""A unit's webhook duty contact signs its messages like a subscriber: its own secret, and the admin's choice to
let it reach a private address (an internal system of the unit).

Revision ID: reports_0012
Revises: reports_0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "reports_0012"
down_revision = "reports_0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("unit_duty_contacts", sa.Column("secret", sa.Text))
    op.add_column("unit_duty_contacts", sa.Column("allow_private", sa.Boolean, nullable=False,
                                                  server_default=sa.false()))
    # Webhook contacts made before could not be delivered (no secret to sign with): give each one now, from
    # PostgreSQL's strong random source; `notifications contact-add` run again for the contact prints a new one
    # to hand over.
    op.execute("UPDATE unit_duty_contacts SET secret = replace(gen_random_uuid()::text || gen_random_uuid()::text, "
               "'-', '') WHERE channel = 'webhook'")


def downgrade() -> None:
    op.drop_column("unit_duty_contacts", "allow_private")
    op.drop_column("unit_duty_contacts", "secret")
