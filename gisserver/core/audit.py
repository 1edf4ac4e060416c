"""Audit log: every ORM write is recorded with who, when, what and from where.

A session listener collects the rows a flush inserts, updates or deletes and writes one audit entry
per row in the same transaction, so an entry exists exactly when the write was committed. Writes
that bypass the ORM (bulk layer loads) call record() themselves.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Text,
    bindparam,
    cast,
    event,
    func,
    insert,
    inspect,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import FromClause, Insert

from gisserver.core.db import Base

# Never copied into the audit log: secrets and private reporter data. A model adds its own with
# ``__audit_redacted__ = ("column", ...)``, and opts out with ``__audited__ = False`` (derived rows such as an
# outbox, whose cause is audited itself).
REDACTED_COLUMNS = {"password_hash", "token_hash", "reporter_name", "reporter_phone", "stream_url", "totp_secret",
                    "code_hash", "secret_hash"}
SKIPPED_TABLES = {"audit_log"}


def _audited(obj) -> bool:
    return getattr(obj, "__tablename__", None) not in SKIPPED_TABLES and getattr(obj, "__audited__", True)
CONTEXT_KEY = "audit_context"


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_table_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor: Mapped[str] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # insert, update, delete, or a service's own verb
    table_name: Mapped[str] = mapped_column(Text)
    row_id: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[dict] = mapped_column(JSONB, default=dict)


def set_context(session: Session, context: Callable[[], dict] | dict) -> None:
    """Say who acts through *session*: a dict, or a callable evaluated at each flush."""
    session.info[CONTEXT_KEY] = context


def cli_actor() -> dict:
    try:
        name = pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        name = str(os.geteuid())
    return {"actor": f"cli:{name}", "remote_addr": None, "request_id": None}


def _context(session: Session) -> dict:
    context = session.info.get(CONTEXT_KEY) or cli_actor
    return dict(context() if callable(context) else context)


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return "<geometry>" if type(value).__name__ in ("WKBElement", "WKTElement") else str(value)


REDACTED = "<redacted>"  # what an audit entry says instead of a secret's value


def _redacted_columns(model) -> set[str]:
    """The columns of *model* (a class or an instance) whose values no audit entry copies."""
    return REDACTED_COLUMNS.union(getattr(model, "__audit_redacted__", ()))


def _changes(obj, action: str) -> dict:
    state = inspect(obj)
    out = {}
    redacted = _redacted_columns(obj)
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in redacted:
            if action != "delete" and state.attrs[key].history.has_changes():
                out[key] = REDACTED
            continue
        history = state.attrs[key].history
        if action == "update":
            if history.has_changes():
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                out[key] = [_jsonable(old), _jsonable(new)]
        elif action == "insert":
            # Read only what is loaded: server defaults are expired after the flush and
            # touching them would cost one SELECT per row.
            value = state.dict.get(key)
            if value is not None:
                out[key] = _jsonable(value)
    return out


def _row_id(obj) -> str | None:
    # From the mapped primary key, not the identity: a row inserted by this flush has its key already in
    # after_flush, but not yet its identity (every insert was logged without its row id).
    key = inspect(obj).mapper.primary_key_from_instance(obj)
    return ",".join(str(v) for v in key) if key and all(v is not None for v in key) else None


def record(session: Session, action: str, table_name: str, row_id: str | None, changes: dict | None = None) -> None:
    """Write one audit entry for a write that did not go through the ORM."""
    ctx = _context(session)
    session.execute(
        insert(AuditEntry).values(
            action=action, table_name=table_name, row_id=row_id, changes=_jsonable(changes or {}), **ctx
        )
    )


def _constant(name: str):
    """An identifier of ours as an SQL string literal (never input: checked to be a plain lowercase name)."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"not an identifier: {name!r}")
    return literal_column(f"'{name}'", Text)


def entries_for_inserts(inserted: list[tuple[str, FromClause, dict]]) -> Insert:
    """The audit entries of rows that hand-written SQL inserts, as one INSERT ... SELECT to run in the same statement
    (a CTE beside the inserts): the entries the session listener would have written for the ORM.

    Each item is (the table name, the CTE whose RETURNING gave its row, {key: column of that CTE} for what only the
    database knew, such as the id). The row id is the first of those columns. Who acts and what each row holds are
    bound parameters (inserted_entry_params gives them), so a caller builds the statement once per shape. The table
    names and keys, the caller's own identifiers, are written into the SQL: psycopg re-reads a statement of more than
    50 parameters on every run instead of caching it, and the intake's write is close to that.
    """
    selects = []
    for i, (table_name, written, known) in enumerate(inserted):
        changes = cast(bindparam(f"audit_changes_{i}", type_=JSONB), JSONB)
        if known:
            changes = changes.op("||")(func.jsonb_build_object(*[x for key, column in known.items()
                                                                   for x in (_constant(key), column)]))
        selects.append(select(
            bindparam("audit_actor", type_=Text), bindparam("audit_remote_addr", type_=Text),
            bindparam("audit_request_id", type_=Text), _constant("insert"), _constant(table_name),
            cast(next(iter(known.values())), Text), changes).select_from(written))
    table = AuditEntry.__table__
    return insert(table).from_select(
        [table.c.actor, table.c.remote_addr, table.c.request_id, table.c.action, table.c.table_name, table.c.row_id,
         table.c.changes], union_all(*selects))


def inserted_entry_params(session: Session, rows: list[tuple[type, dict]]) -> dict:
    """The parameters of entries_for_inserts(), in its order: each row as (its model, the values written by column,
    whose names are its attributes')."""
    ctx = _context(session)
    params = {"audit_actor": ctx["actor"], "audit_remote_addr": ctx["remote_addr"],
              "audit_request_id": ctx["request_id"]}
    for i, (model, values) in enumerate(rows):
        redacted = _redacted_columns(model)
        # As _changes() describes an insert: what was given, secrets only named.
        params[f"audit_changes_{i}"] = {key: REDACTED if key in redacted else _jsonable(value)
                                        for key, value in values.items() if value is not None or key in redacted}
    return params


@event.listens_for(Session, "before_flush")
def _collect(session: Session, flush_context, instances) -> None:
    pending = session.info.setdefault("_audit_pending", [])
    for action, objects in (("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            if not _audited(obj):
                continue
            if action == "update" and not session.is_modified(obj, include_collections=False):
                continue
            pending.append((action, obj, _changes(obj, action), _row_id(obj)))
    session.info["_audit_new"] = [o for o in session.new if _audited(o)]


@event.listens_for(Session, "after_flush")
def _write(session: Session, flush_context) -> None:
    pending = session.info.pop("_audit_pending", [])
    # Inserted rows get their primary keys during the flush, so they are described after it.
    for obj in session.info.pop("_audit_new", []):
        pending.append(("insert", obj, _changes(obj, "insert"), _row_id(obj)))
    if not pending:
        return
    ctx = _context(session)
    rows = [
        dict(ctx, action=action, table_name=obj.__tablename__, row_id=row_id, changes=changes)
        for action, obj, changes, row_id in pending
    ]
    session.connection().execute(insert(AuditEntry), rows)


def recent_entries(
    session: Session,
    *,
    table: str | None = None,
    actor: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if table:
        query = query.where(AuditEntry.table_name == table)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
