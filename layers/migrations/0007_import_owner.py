"""Who an upload in steps belongs to: the person who created it (only they, and admins, may read, publish or
discard it). Imports from before have none and stay with the actor label they were created under.

Revision ID: layers_0007
Revises: layers_0006
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "layers_0007"
down_revision = "layers_0006"
branch_labels = None
depends_on = "base_0002"  # the users table


def upgrade() -> None:
    op.add_column("layer_imports", sa.Column("created_by_user_id", sa.Integer,
                                             sa.ForeignKey("users.id", ondelete="SET NULL")))
    op.create_index("ix_layer_imports_created_by_user_id", "layer_imports", ["created_by_user_id"])


def downgrade() -> None:
    op.drop_index("ix_layer_imports_created_by_user_id", table_name="layer_imports")
    op.drop_column("layer_imports", "created_by_user_id")
