"""Extensions every gisserver database needs.

Revision ID: base_0001
Revises:
Create Date: 2026-11-24
"""

from alembic import op

revision = "base_0001"
down_revision = None
branch_labels = ("gisserver",)
depends_on = None


def upgrade() -> None:
    # PostGIS needs a superuser: on the private cluster `db up` has created it already, and on
    # a managed database the administrator creates it; IF NOT EXISTS then makes this a no-op.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    # Trusted extensions: the database owner may create them.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


def downgrade() -> None:
    pass
