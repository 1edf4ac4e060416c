"""PostgreSQL's INSERT ... ON CONFLICT DO NOTHING, in a form SQLAlchemy 2.0 keeps in its compiled cache.

SQLAlchemy 2.0 marks its PostgreSQL Insert (and the ON CONFLICT clauses) as not cacheable, so a statement using
one is compiled again on every execution: for the report intake's one-statement write (a report, its first event
and their audit entries) that was about a quarter of the request's CPU. The clause below declares what its SQL
depends on (the conflict target), which is all the cache key needs; the statement is otherwise the standard one.
"""

from __future__ import annotations

from sqlalchemy.dialects.postgresql import dml
from sqlalchemy.sql.base import _generative
from sqlalchemy.sql.visitors import InternalTraversal


class _OnConflictDoNothing(dml.OnConflictDoNothing):
    _traverse_internals = [
        ("constraint_target", InternalTraversal.dp_string),
        ("inferred_target_elements", InternalTraversal.dp_clauseelement_list),
        ("inferred_target_whereclause", InternalTraversal.dp_clauseelement),
    ]


class Insert(dml.Insert):
    inherit_cache = True  # the standard INSERT's internals, _post_values_clause (the clause above) included

    @_generative
    def on_conflict_do_nothing(self, constraint=None, index_elements=None, index_where=None):
        self._post_values_clause = _OnConflictDoNothing(constraint, index_elements, index_where)
        return self


def insert(table) -> Insert:
    """INSERT into *table*, with a cacheable `on_conflict_do_nothing()` (no DO UPDATE: it is not needed yet)."""
    return Insert(table)
