"""The horizon a prune forgot a data table's past before: the state of an instant before it is no longer what it
was, so the ETag of a tile of that instant (which otherwise depends only on the changes up to the instant) moves.

Revision ID: layers_0008
Revises: layers_0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "layers_0008"
down_revision = "layers_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("layer_data_tables", sa.Column("pruned_before", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("layer_data_tables", "pruned_before")
