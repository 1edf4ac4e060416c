"""Layer data tables keep their geometry in Web Mercator too (a stored generated column), for tiles.

Revision ID: layers_0003
Revises: layers_0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "layers_0003"
down_revision = "layers_0002"
branch_labels = None
depends_on = None


def _existing_tables(conn) -> list[str]:
    # Only names the catalog generated (l<id>_v<version>), as the catalog's check constraint guarantees.
    names = [name for (name,) in conn.execute(sa.text("SELECT data_table FROM layers"))]
    return [n for n in names
            if conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"layer_data.{n}"}).scalar()]


def upgrade() -> None:
    conn = op.get_bind()
    preparer = conn.dialect.identifier_preparer
    for name in _existing_tables(conn):
        op.execute(f"ALTER TABLE layer_data.{preparer.quote(name)} ADD COLUMN IF NOT EXISTS geom_3857 geometry "
                   "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED")


def downgrade() -> None:
    conn = op.get_bind()
    preparer = conn.dialect.identifier_preparer
    for name in _existing_tables(conn):
        op.execute(f"ALTER TABLE layer_data.{preparer.quote(name)} DROP COLUMN IF EXISTS geom_3857")
