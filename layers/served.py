"""What serving a layer's features and tiles needs from the catalog, kept per process and checked by every use.

An items page or a tile used to read the layer's catalog row (through the ORM) before its own statement: a round
trip and a Layer object per request. Each process now keeps a small entry per layer (no ORM object), and the
statement that serves the page or the tile checks in SQL that the catalog row still says what the entry says
(`still_valid`: same table, data version, last change and a visibility the caller may see). A layer whose data
changed, or that was made internal, fails that check in the very statement that would have served it; the caller
then forgets the entry, reloads it and runs the statement once more. No time-to-live: the check is the expiry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Boolean, Connection, DateTime, Integer, String, Table, bindparam, exists, or_, select

from gisserver.core.exceptions import NotFound, Unavailable
from layers import storage
from layers.models import Layer

T = TypeVar("T")


@dataclass(frozen=True)
class Served:
    """A layer as its features and tiles are served, from its catalog row (duck-types a Layer for storage)."""

    id: int
    name: str
    geometry_type: str
    data_table: str
    data_version: int
    updated_at: datetime
    visibility: str
    attributes: list[dict]
    extent: list[float] | None
    feature_count: int

    @property
    def table(self) -> Table:
        return storage.data_table(self)

    def check_params(self, staff: bool) -> dict:
        """The values still_valid() compares the catalog row with, for a caller who is (not) staff."""
        return {"served_id": self.id, "served_table": self.data_table, "served_version": self.data_version,
                "served_updated": self.updated_at, "served_staff": staff}


_ENTRIES: dict[tuple[object, str], Served] = {}
_LOCK = threading.Lock()


def still_valid():
    """SQL: the catalog row still says what the entry behind check_params() says, and the caller may see it."""
    layers = Layer.__table__
    return exists(select(1).where(
        layers.c.id == bindparam("served_id", type_=Integer),
        layers.c.data_table == bindparam("served_table", type_=String),
        layers.c.data_version == bindparam("served_version", type_=Integer),
        layers.c.updated_at == bindparam("served_updated", type_=DateTime(timezone=True)),
        or_(layers.c.visibility == "public", bindparam("served_staff", type_=Boolean))))


def served(conn: Connection, name: str, *, fresh: bool = False) -> Served | None:
    """The layer's entry (loaded on first use, or again when *fresh*); None when there is no such layer."""
    key = (conn.engine.pool, name)  # one process may serve several databases (the tests do)
    entry = None if fresh else _ENTRIES.get(key)
    if entry is None:
        entry = _load(conn, name)
        with _LOCK:
            if entry is None:
                _ENTRIES.pop(key, None)
            else:
                _ENTRIES[key] = entry
    return entry


def forget(conn: Connection, name: str) -> None:
    _ENTRIES.pop((conn.engine.pool, name), None)


def serve(conn: Connection, name: str, use: Callable[[Served, bool], T | None], *, staff: bool) -> T:
    """What *use(entry, fresh)* answers for the layer *name*, which the caller (staff or not) may see. *use* runs the
    statement that checks the entry (still_valid) and answers None when it failed; the entry is then reloaded and
    *use* asked once more (fresh=True)."""
    for fresh in (False, True):
        entry = served(conn, name, fresh=fresh)
        if entry is None or (entry.visibility != "public" and not staff):
            if fresh:
                raise NotFound(f"no layer named {name!r}")
            continue  # the entry may be stale the other way (the layer made public again): the catalog says
        answer = use(entry, fresh)
        if answer is not None:
            return answer
        forget(conn, name)
    raise Unavailable(f"layer {name!r} changed while it was read; ask again")


def check(conn: Connection, entry: Served, *, staff: bool) -> bool:
    """Whether the entry still holds, for a caller (not) staff: one small statement, for answers that read no data
    (a tile the client has already)."""
    return bool(conn.execute(select(still_valid()), entry.check_params(staff)).scalar())


def clear() -> None:
    """Forget every entry (the tests empty the database under the same process; a stale entry would only cost a
    retry, but their counts of statements per request would see it)."""
    with _LOCK:
        _ENTRIES.clear()


def _load(conn: Connection, name: str) -> Served | None:
    row = conn.execute(select(
        Layer.id, Layer.name, Layer.geometry_type, Layer.data_table, Layer.data_version, Layer.updated_at,
        Layer.visibility, Layer.attributes, Layer.extent, Layer.feature_count).where(Layer.name == name)).first()
    return None if row is None else Served(**row._asdict())
