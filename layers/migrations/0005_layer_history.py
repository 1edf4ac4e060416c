"""History of layer data: the changes log, the periods of each data table, and a history table beside each.

Existing data tables get valid_from/change_id (constant defaults: no rewrite) from one "import" change per layer
dated at the layer's last update, and an empty history table.

Revision ID: layers_0005
Revises: layers_0004
Create Date: 2026-12-04
"""

import json

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE

revision = "layers_0005"
down_revision = "layers_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "layer_changes",
        sa.Column("id", sa.BigInteger, primary_key=True),
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False, server_default=""),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("fid", sa.BigInteger),
        sa.Column("data_table", sa.String(63), nullable=False),
        sa.Column("data_version", sa.Integer, nullable=False),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
        sa.CheckConstraint("kind IN ('import', 'replace', 'create', 'update', 'delete', 'restore', 'restore_layer')",
                           name="kind"),
    )
    op.create_index("ix_layer_changes_layer_fid", "layer_changes", ["layer_id", "fid", "id"])
    op.create_index("ix_layer_changes_layer_at", "layer_changes", ["layer_id", "at"])
    op.create_table(
        "layer_data_tables",
        sa.Column("data_table", sa.String(63), primary_key=True),
        sa.Column("layer_id", sa.Integer, sa.ForeignKey("layers.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("geometry_type", sa.String(32), nullable=False),
        sa.Column("attributes", JSONB, nullable=False),
        sa.Column("valid", TSTZRANGE, nullable=False),
        sa.CheckConstraint("data_table ~ '^l[0-9]+_v[0-9]+$'", name="data_table"),
    )
    conn = op.get_bind()
    q = conn.dialect.identifier_preparer.quote
    layers = conn.execute(sa.text("SELECT id, data_table, data_version, geometry_type, attributes, updated_at, "
                                  "updated_by FROM layers ORDER BY id")).all()
    for layer in layers:
        change_id, at = conn.execute(sa.text(
            "INSERT INTO layer_changes (layer_id, at, actor, comment, kind, data_table, data_version) "
            "VALUES (:layer, :at, :actor, 'data as it was when history began to be kept', 'import', :table, "
            ":version) RETURNING id, at"),
            {"layer": layer.id, "at": layer.updated_at, "actor": layer.updated_by or "system",
             "table": layer.data_table, "version": layer.data_version}).one()
        conn.execute(sa.text("INSERT INTO layer_data_tables (data_table, layer_id, geometry_type, attributes, valid) "
                             "VALUES (:table, :layer, :type, CAST(:attributes AS jsonb), tstzrange(:at, NULL))"),
                     {"table": layer.data_table, "layer": layer.id, "type": layer.geometry_type,
                      "attributes": json.dumps(layer.attributes), "at": at})
        exists = conn.execute(sa.text("SELECT to_regclass(:t) IS NOT NULL"),
                              {"t": f"layer_data.{layer.data_table}"}).scalar()
        if not exists:
            continue
        table = f"layer_data.{q(layer.data_table)}"  # a name the catalog generated (checked by its constraint)
        stamp = at.isoformat()
        op.execute(f"ALTER TABLE {table} ADD COLUMN valid_from timestamptz NOT NULL DEFAULT '{stamp}', "
                   f"ADD COLUMN change_id bigint NOT NULL DEFAULT {int(change_id)}")
        op.execute(f"ALTER TABLE {table} ALTER COLUMN valid_from DROP DEFAULT, ALTER COLUMN change_id DROP DEFAULT")
        history = f"layer_data.{q(layer.data_table + '_h')}"
        attribute_columns = "".join(
            f", {q(a['column'])} {_SQL_TYPES[a['type']]}" for a in layer.attributes)
        geometry = f"geometry({layer.geometry_type}, 4326)"
        op.execute(f"CREATE TABLE {history} (fid bigint NOT NULL, change_id bigint NOT NULL, closed_by bigint NOT NULL,"
                   f" valid tstzrange NOT NULL, geom {geometry} NOT NULL{attribute_columns},"
                   " PRIMARY KEY (fid, change_id))")
        op.execute(f"CREATE INDEX {q(layer.data_table + '_h_valid')} ON {history} USING gist (valid)")
        op.execute(f"CREATE INDEX {q(layer.data_table + '_h_geom')} ON {history} USING gist (geom)")


_SQL_TYPES = {"text": "text", "integer": "integer", "bigint": "bigint", "double": "double precision",
              "boolean": "boolean", "date": "date", "timestamp": "timestamp without time zone"}


def downgrade() -> None:
    conn = op.get_bind()
    q = conn.dialect.identifier_preparer.quote
    current = {name for (name,) in conn.execute(sa.text("SELECT data_table FROM layers"))}
    for (name,) in conn.execute(sa.text("SELECT data_table FROM layer_data_tables")).all():
        op.execute(f"DROP TABLE IF EXISTS layer_data.{q(name + '_h')}")
        if name in current:
            op.execute(f"ALTER TABLE IF EXISTS layer_data.{q(name)} DROP COLUMN IF EXISTS valid_from, "
                       "DROP COLUMN IF EXISTS change_id")
        else:
            op.execute(f"DROP TABLE IF EXISTS layer_data.{q(name)}")
    op.drop_table("layer_data_tables")
    op.drop_table("layer_changes")
