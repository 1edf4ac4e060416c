"""Gazetteer for address search and reverse geocoding.

Revision ID: reports_0006
Revises: reports_0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "reports_0006"
down_revision = "reports_0004"
branch_labels = None
depends_on = "layers_0001"


def upgrade() -> None:
    op.create_table(
        "gazetteer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    )
    op.create_index("ix_gazetteer_geom", "gazetteer", ["geom"], postgresql_using="gist")
    op.execute("CREATE INDEX ix_gazetteer_search_text ON gazetteer USING gin (search_text gin_trgm_ops)")


def downgrade() -> None:
    op.drop_table("gazetteer")
