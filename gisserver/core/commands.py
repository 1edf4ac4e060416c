"""What every feature's command group needs: a transaction with the CLI as its audited actor, and errors that
read as command-line messages rather than tracebacks."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import click
from flask.cli import ScriptInfo

from gisserver.core.audit import cli_actor, set_context
from gisserver.core.config import Settings
from gisserver.core.db import Database, database_from_settings
from gisserver.core.exceptions import ServiceError

T = TypeVar("T")
# Set by the `gisserver` command group when it builds its own app: a command may then open the database alone.
DATABASE_WITHOUT_APP = "database_without_app"


def command_error(exc: ServiceError) -> click.ClickException:
    """A service's refusal as a command-line error: the message, then each refused row or the details."""
    details = exc.details if isinstance(exc.details, dict) else {}
    rows = details.get("rows")
    if rows:
        lines = [exc.message] + [f"  row {r['row']}: {r['error']}" for r in rows]
    else:
        lines = [exc.message] + ([json.dumps(exc.details, ensure_ascii=False, default=str)] if exc.details else [])
    return click.ClickException("\n".join(lines))


def command_database() -> tuple[Database, bool]:
    """(database, owned): the app's, or for the `gisserver` command itself one built from the settings alone.

    Building the whole web app loads every feature package, which takes longer than some commands' work (an
    import of 200,000 polygons); an app handed in (tests, embedding) is used as it is.
    """
    info = click.get_current_context().ensure_object(ScriptInfo)
    if not info.data.get(DATABASE_WITHOUT_APP):
        return info.load_app().extensions["gisserver.db"], False
    return database_from_settings(Settings.from_env()), True


def run_in_transaction(work: Callable[..., T], database: Database | None = None) -> T:
    """Run ``work(session)`` in one transaction audited as the command line; a refusal becomes a CLI error."""
    from flask import current_app

    try:
        with (database or current_app.extensions["gisserver.db"]).transaction() as session:
            set_context(session, cli_actor)
            return work(session)
    except ServiceError as exc:
        raise command_error(exc) from exc
