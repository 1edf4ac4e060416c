"""How the planner's map shows a layer at first: switched on or off, and its place in the catalog.

Revision ID: layers_0004
Revises: layers_0003
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "layers_0004"
down_revision = "layers_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("layers", sa.Column("shown_by_default", sa.Boolean, nullable=False, server_default=sa.true()))
    op.add_column("layers", sa.Column("sort_order", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("layers", "sort_order")
    op.drop_column("layers", "shown_by_default")
