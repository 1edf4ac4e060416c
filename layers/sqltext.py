"""Statements that repeat, compiled once into the text the driver sends.

A feature page or a tile of a given shape (a layer's table, a zoom, whether a bbox is given) is the same statement
for every request but for a few values. Built and compiled once per shape, with its constants (the JSON keys, the
SRID, a zoom's pixel size) written in as SQL literals, it leaves SQLAlchemy nothing to do per request, and psycopg
sends the same short text each time: it converts its placeholders once (it caches texts of at most 50 parameters)
and prepares it on the server after a few runs, where the planner keeps a generic plan.
"""

from __future__ import annotations

import functools

from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

_DIALECT = psycopg_dialect()


@functools.lru_cache(maxsize=2048)
def compiled(statement) -> tuple[str, dict]:
    """(SQL text with psycopg's %(name)s placeholders for the statement's required parameters, the values of its
    constants that have no SQL literal form). *statement* must be an object built once per shape (cached)."""
    result = statement.compile(dialect=_DIALECT)
    sql, constants = str(result), {}
    for name, bind in result.binds.items():
        if bind.required:
            continue
        render = bind.type.literal_processor(_DIALECT)
        if render is None:
            constants[name] = bind.value
        else:
            # psycopg reads % as the start of a placeholder: a literal's own % is doubled.
            sql = sql.replace(f"%({name})s", render(bind.value).replace("%", "%%"))
    return sql, constants
