"""Layer data tables are read without parallel workers (set on every table the importer creates).

Revision ID: layers_0002
Revises: layers_0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "layers_0002"
down_revision = "layers_0001"
branch_labels = None
depends_on = None


def _tables(conn) -> list[str]:
    # Only names the catalog generated (l<id>_v<version>), as the catalog's check constraint guarantees.
    return [name for (name,) in conn.execute(sa.text("SELECT data_table FROM layers"))]


def _set(reloption: str) -> None:
    conn = op.get_bind()
    preparer = conn.dialect.identifier_preparer
    for name in _tables(conn):
        exists = conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f"layer_data.{name}"}).scalar()
        if exists:
            op.execute(f"ALTER TABLE layer_data.{preparer.quote(name)} {reloption}")


def upgrade() -> None:
    _set("SET (parallel_workers = 0)")


def downgrade() -> None:
    _set("RESET (parallel_workers)")
