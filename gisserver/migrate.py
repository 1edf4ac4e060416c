"""Alembic migrations of every feature package, applied with one command."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from gisserver.core import features

HERE = Path(__file__).resolve().parent


def version_locations() -> list[Path]:
    """The core's revisions and every feature's folders (a feature package keeps its own branch; its domains may
    split the branch's revisions over their folders, Alembic follows the revision ids)."""
    return [HERE / "migrations" / "versions", *features.migration_folders()]


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", ":".join(str(p) for p in version_locations()))
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str) -> None:
    """Bring the database at *url* to the newest schema."""
    command.upgrade(alembic_config(url), "heads")


def current_heads(url: str) -> set[str]:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
