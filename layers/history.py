"""History of a layer's data: every change kept with who, when and why; the data as it was at any instant.

How it is stored (docs/history.md has the figures):
- `layer_changes`: one row per change (an import, a data replacement, a feature created, updated, deleted or
  restored, a whole layer restored), with its actor, instant and comment.
- `layer_data_tables`: every data table a layer has had, with the period it was the layer's data. A replaced
  table is kept as it was (not dropped): it is the layer's past.
- beside each data table `l<id>_v<n>`, a history table `l<id>_v<n>_h` holding each earlier state of its rows with
  the period it was valid (a tstzrange, GiST-indexed) and the changes that opened and closed it. The data table
  itself holds only the present, so today's maps and pages read exactly what they read before history was kept.

The layer at instant t is then: the data table whose period holds t, its rows with valid_from <= t, and its
history rows whose period holds t. Changes of one layer are serialised by a lock on its catalog row, and their
instants strictly increase, so periods never overlap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property

from sqlalchemy import Table, func, insert, literal, select, union_all
from sqlalchemy.dialects.postgresql import Range
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers.models import LayerChange, LayerTable
from layers.storage import (
    MERCATOR_COLUMN,
    attribute_columns,
    build_table,
    finish_table,
    history_table,
    qualified_name,
    table_name,
)

ONE_MICROSECOND = timedelta(microseconds=1)


def lock(session: Session, layer) -> None:
    """Hold the layer's catalog row until commit: its changes happen one after another, never interleaved."""
    session.refresh(layer, with_for_update=True)


def begin_change(session: Session, layer, kind: str, *, actor: str, comment: str = "", fid: int | None = None,
                 details: dict | None = None, data_table: str | None = None) -> LayerChange:
    """Record a change of *layer* (locked by the caller) and move its data version on; returns the change row,
    whose `at` is the instant the new state starts."""
    last = select(func.max(LayerChange.at) + ONE_MICROSECOND).where(LayerChange.layer_id == layer.id)
    # The wall clock at this point (after the lock), but always after the layer's previous change.
    at = session.scalar(select(func.greatest(func.clock_timestamp(), last.scalar_subquery())))
    layer.data_version = (layer.data_version or 0) + 1
    layer.updated_at = at
    layer.updated_by = actor
    change = LayerChange(layer_id=layer.id, at=at, actor=actor, comment=(comment or "").strip(), kind=kind, fid=fid,
                         data_table=data_table or layer.data_table, data_version=layer.data_version,
                         details=details or {})
    session.add(change)
    session.flush()
    return change


def open_table(session: Session, layer, table: Table, at: datetime) -> None:
    """*table* is the layer's data from *at* on."""
    session.add(LayerTable(data_table=table.name, layer_id=layer.id, geometry_type=layer.geometry_type,
                           attributes=layer.attributes, valid=Range(at, None, bounds="[)")))


def close_table(session: Session, name: str, at: datetime) -> None:
    """The table *name* stops being its layer's data at *at*; its rows stay, as the layer's past."""
    row = session.get(LayerTable, name)
    if row is not None:
        row.valid = Range(row.valid.lower, at, bounds="[)")


def tables_of(session: Session, layer_id: int) -> list[str]:
    return list(session.scalars(select(LayerTable.data_table).where(LayerTable.layer_id == layer_id)))


# -- keeping a row's state --------------------------------------------------------------------------------------


def keep_row(session: Session, live: Table, fid: int, change: LayerChange) -> bool:
    """Copy the current state of feature *fid* into the history table, closed by *change*; False if none."""
    hist = history_table(live)
    columns = ["fid", "change_id", "geom", *[c.name for c in attribute_columns(live)]]
    source = select(
        live.c.fid, live.c.change_id, live.c.geom, *attribute_columns(live),
        literal(change.id).label("closed_by"),
        func.tstzrange(live.c.valid_from, literal(change.at), "[)").label("valid"),
    ).where(live.c.fid == fid)
    result = session.execute(insert(hist).from_select([*columns, "closed_by", "valid"], source))
    return result.rowcount > 0


# -- the past ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataAt:
    """A layer's data as it was at an instant: the table that was its data then (None before the layer existed)."""

    at: datetime
    table: Table | None
    geometry_type: str
    attributes: list[dict]
    pruned_before: datetime | None = None  # the table's prune horizon (LayerTable.pruned_before)

    @cached_property
    def rows(self):
        """A selectable with the columns of a data table (fid, geom, geom_3857, attributes) holding the rows valid
        at the instant; the current rows come from the data table, earlier states from its history table."""
        if self.table is None:
            return None
        return snapshot(self.table, self.at)


def state_at(session: Session, layer, at: datetime) -> DataAt:
    row = session.scalar(select(LayerTable).where(LayerTable.layer_id == layer.id,
                                                  LayerTable.valid.contains(at)))
    if row is None:
        return DataAt(at=at, table=None, geometry_type=layer.geometry_type, attributes=layer.attributes)
    return DataAt(at=at, table=build_table(row.data_table, row.geometry_type, row.attributes),
                  geometry_type=row.geometry_type, attributes=row.attributes, pruned_before=row.pruned_before)


def state_key(session: Session, layer, state: DataAt) -> str:
    """What the layer's data at state.at depends on, and nothing later: the data table of that instant, the last
    change made at or before it, and a prune that forgot states of that instant (its horizon lies after it).
    Changes after the instant do not move it (a tile of 1 July stays cached however much is edited since); a change
    up to the instant (the instant may lie ahead) does. One lookup on (layer_id, at)."""
    if state.table is None:
        return "none"
    last = session.scalar(select(func.max(LayerChange.id)).where(LayerChange.layer_id == layer.id,
                                                                 LayerChange.at <= state.at))
    pruned = state.pruned_before if state.pruned_before and state.at < state.pruned_before else None
    return f"{state.table.name}:{last}:{pruned.isoformat() if pruned else ''}"


def snapshot(live: Table, at: datetime):
    hist = history_table(live)
    instant = literal(at)
    attributes = attribute_columns(live)
    present = select(live.c.fid, live.c.geom, live.c[MERCATOR_COLUMN], live.c.change_id, *attributes).where(
        live.c.valid_from <= instant)
    # Earlier states are read seldom: their Web Mercator copy is computed when a tile asks for it.
    past = select(hist.c.fid, hist.c.geom, func.ST_Transform(hist.c.geom, 3857).label(MERCATOR_COLUMN),
                  hist.c.change_id, *[hist.c[c.name] for c in attributes]).where(hist.c.valid.contains(instant))
    rows = union_all(present, past).subquery(f"{live.name}_at")
    for column in attributes:
        rows.c[column.name].info.update(column.info)
    return rows


def parse_instant(text: str | None, parameter: str = "at") -> datetime | None:
    """An instant from a query parameter: RFC 3339 with a time zone, or a date (its start, in UTC)."""
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{parameter} must be an RFC 3339 instant (2025-07-01T00:00:00Z) or a date (2025-07-01)",
                      {"parameter": parameter}) from None
    if parsed.tzinfo is None:
        raise Invalid(f"{parameter} needs a time zone, e.g. 2025-07-01T08:00:00+07:00", {"parameter": parameter})
    return parsed


def changes(session: Session, layer, *, fid: int | None = None, limit: int = 100,
            before_id: int | None = None) -> list[LayerChange]:
    """The layer's changes, newest first (only those of one feature when *fid* is given)."""
    query = select(LayerChange).where(LayerChange.layer_id == layer.id).order_by(LayerChange.id.desc()).limit(limit)
    if fid is not None:
        query = query.where(LayerChange.fid == fid)
    if before_id:
        query = query.where(LayerChange.id < before_id)
    return list(session.scalars(query))


def change_json(change: LayerChange) -> dict:
    return {"id": change.id, "at": change.at.isoformat(), "actor": change.actor, "comment": change.comment,
            "kind": change.kind, "fid": change.fid, "data_version": change.data_version, "details": change.details}


# -- a feature's versions ---------------------------------------------------------------------------------------


def versions(session: Session, layer, fid: int) -> dict:
    """Every state feature *fid* of the layer's current data has had, newest first, each with the change that made
    it, the change that ended it, its GeoJSON geometry, its properties and what differs from the state before."""
    live = build_table(layer.data_table, layer.geometry_type, layer.attributes)
    hist = history_table(live)
    attributes = attribute_columns(live)

    def properties(row) -> dict:
        return {c.info["name"]: _json_value(getattr(row, c.name)) for c in attributes}

    geometry = func.ST_AsGeoJSON(live.c.geom, 7)
    current = session.execute(select(live.c.change_id, live.c.valid_from, geometry.label("geometry"), *attributes)
                              .where(live.c.fid == fid)).one_or_none()
    past = session.execute(select(hist.c.change_id, hist.c.closed_by, func.lower(hist.c.valid).label("valid_from"),
                                  func.upper(hist.c.valid).label("valid_to"),
                                  func.ST_AsGeoJSON(hist.c.geom, 7).label("geometry"),
                                  *[hist.c[c.name] for c in attributes])
                           .where(hist.c.fid == fid).order_by(func.lower(hist.c.valid))).all()
    if current is None and not past:
        raise NotFound(f"feature {fid} of {layer.name} has no history in its current data")
    states = [{"version": r.change_id, "valid_from": r.valid_from, "valid_to": r.valid_to, "closed_by": r.closed_by,
               "geometry": r.geometry, "properties": properties(r)} for r in past]
    if current is not None:
        states.append({"version": current.change_id, "valid_from": current.valid_from, "valid_to": None,
                       "closed_by": None, "geometry": current.geometry, "properties": properties(current)})
    ids = {s["version"] for s in states} | {s["closed_by"] for s in states if s["closed_by"]}
    by_id = {c.id: c for c in session.scalars(select(LayerChange).where(LayerChange.id.in_(ids)))}
    previous, previous_geometry = None, None
    for state in states:
        state["change"] = change_json(by_id[state["version"]]) if state["version"] in by_id else None
        state["ended_by"] = change_json(by_id[state.pop("closed_by")]) if state["closed_by"] else None
        state["changed"] = ({} if previous is None else
                            {k: [previous["properties"].get(k), v] for k, v in state["properties"].items()
                             if previous["properties"].get(k) != v})
        state["geometry_changed"] = previous is not None and previous_geometry != state["geometry"]
        previous_geometry = state["geometry"]
        state["geometry"] = json.loads(state["geometry"])
        state["valid_from"] = _iso(state["valid_from"])
        state["valid_to"] = _iso(state["valid_to"])
        previous = state
    deleted = current is None
    return {"fid": fid, "layer": layer.name, "deleted": deleted, "versions": list(reversed(states))}


def _json_value(value):
    return value.isoformat() if isinstance(value, date | datetime) else value


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


# -- restoring a whole layer ------------------------------------------------------------------------------------


def restore_layer(session: Session, layer, at: datetime, *, actor: str, comment: str) -> LayerChange:
    """Make the layer's data as it was at *at* its current data, as a new change (in a new data table; the
    current one is kept as the past, like a replaced one). Feature ids stay what they were then."""
    lock(session, layer)
    now = session.scalar(select(func.clock_timestamp()))
    if at > now:
        raise Invalid("at lies in the future", {"field": "at"})
    state = state_at(session, layer, at)
    if state.table is None:
        raise NotFound(f"{layer.name} had no data at {at.isoformat()}", {"field": "at", "reason": "no_data"})
    version = layer.data_version + 1
    new = build_table(table_name(layer.id, version), state.geometry_type, state.attributes)
    change = begin_change(session, layer, "restore_layer", actor=actor, comment=comment, data_table=new.name,
                          details={"to": at.isoformat(), "from_table": state.table.name})
    conn = session.connection()
    new.create(conn)
    history_table(new).create(conn)
    rows = state.rows
    attributes = [c.name for c in attribute_columns(new)]
    source = select(rows.c.fid, rows.c.geom, literal(change.at).label("valid_from"),
                    literal(change.id).label("change_id"), *[rows.c[c] for c in attributes])
    conn.execute(insert(new).from_select(["fid", "geom", "valid_from", "change_id", *attributes], source))
    with conn.connection.driver_connection.cursor() as cursor:
        finish_table(cursor, qualified_name(new))
    count, *extent = session.execute(select(func.count(), func.ST_XMin(func.ST_Extent(new.c.geom)),
                                            func.ST_YMin(func.ST_Extent(new.c.geom)),
                                            func.ST_XMax(func.ST_Extent(new.c.geom)),
                                            func.ST_YMax(func.ST_Extent(new.c.geom)))).one()
    close_table(session, layer.data_table, change.at)
    layer.data_table = new.name
    layer.geometry_type = state.geometry_type
    layer.attributes = state.attributes
    layer.feature_count = count
    layer.extent = [float(v) for v in extent] if count else layer.extent
    open_table(session, layer, new, change.at)
    session.flush()
    return change


# -- what history costs, and bounding it --------------------------------------------------------------------------


@dataclass
class HistorySize:
    layer: str
    current_bytes: int  # the data table the layer reads now (with its indexes)
    history_rows: int  # earlier states of features, in the history tables
    history_bytes: int  # history tables and replaced data tables
    past_tables: int  # replaced data tables kept as the past


def sizes(session: Session) -> list[HistorySize]:
    """Disk used by each layer's present and by its past (PostgreSQL's total relation sizes, indexes included)."""
    from layers.models import Layer

    result = []
    for layer in session.scalars(select(Layer).order_by(Layer.name)):
        tables = list(session.scalars(select(LayerTable).where(LayerTable.layer_id == layer.id)))
        past = [t.data_table for t in tables if t.data_table != layer.data_table]
        states = sum(session.scalar(select(func.count()).select_from(
            history_table(build_table(t.data_table, t.geometry_type, t.attributes)))) for t in tables)
        history_bytes = (sum(_relation_size(session, name) for name in past)
                         + sum(_relation_size(session, t.data_table + "_h") for t in tables))
        result.append(HistorySize(layer.name, _relation_size(session, layer.data_table), states, history_bytes,
                                  len(past)))
    return result


def _relation_size(session: Session, name: str) -> int:
    return session.scalar(select(func.coalesce(func.pg_total_relation_size(func.to_regclass(f"layer_data.{name}")),
                                               0)))


def prune(session: Session, before: datetime, *, layer=None) -> dict:
    """Forget the past before *before*: states of features that ended earlier, and replaced data tables whose
    period ended earlier. The changes log (who, when, why) is kept; those states can no longer be read or
    restored. The only way history is ever lost, and an explicit one."""
    from gisserver.core import audit
    from layers.models import Layer
    from layers.storage import drop_table

    layers = [layer] if layer is not None else list(session.scalars(select(Layer)))
    dropped_tables, deleted_rows = 0, 0
    for each in layers:
        lock(session, each)
        for row in list(session.scalars(select(LayerTable).where(LayerTable.layer_id == each.id))):
            if row.data_table != each.data_table and row.valid.upper is not None and row.valid.upper <= before:
                drop_table(session.connection(), row.data_table)
                session.delete(row)
                dropped_tables += 1
                continue
            hist = history_table(build_table(row.data_table, row.geometry_type, row.attributes))
            result = session.execute(hist.delete().where(func.upper(hist.c.valid) <= before))
            deleted_rows += result.rowcount
            if result.rowcount and (row.pruned_before is None or row.pruned_before < before):
                row.pruned_before = before  # what instants before it read has changed (tiles' ETags follow)
    summary = {"before": before.isoformat(), "tables_dropped": dropped_tables, "states_deleted": deleted_rows,
               "layer": layer.name if layer is not None else None}
    audit.record(session, "prune_history", "layer_data_tables", None, summary)
    session.flush()
    return summary
