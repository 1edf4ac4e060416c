"""Feature manifests: what each feature package contributes, and the one walk over them.

A feature package (layers, reports and its domains, accounts) says in its ``__init__.py`` what it brings:
blueprints, command groups, table modules, migration folders, OpenAPI paths, navigation links and demo steps.
Packages are found through the ``gisserver.features`` entry point group (setup.cfg), so nothing in the core
names a feature module, and adding a feature never means editing a list here. References are "module:attribute"
strings, imported only when the app, the CLI or a migration asks for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

ENTRY_POINT_GROUP = "gisserver.features"


@dataclass(frozen=True)
class NavLink:
    """A page in the navigation and on the start page; *roles* empty means everyone, residents included."""

    endpoint: str
    label: object  # a lazy translation
    description: object
    roles: tuple[str, ...] = ()
    order: int = 50  # menu position: staff pages first, then the residents' pages


@dataclass(frozen=True)
class DemoStep:
    """One step of `gisserver demo load`, run in its own transaction: ``run(session, context) -> str``.

    *after* names the steps whose data it needs; the loader orders steps by these names, not by package.
    """

    name: str
    run: str
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Feature:
    """What one feature package contributes; every reference is a "module:attribute" string."""

    name: str
    package: str
    blueprints: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    demo_commands: tuple[str, ...] = ()  # sub-commands of `gisserver demo`
    models: tuple[str, ...] = ()  # modules whose import registers tables on Base.metadata
    migrations: tuple[str, ...] = ()  # folders, relative to the package, of its Alembic revisions
    openapi: tuple[str, ...] = ()  # callables returning {"paths": ..., "schemas": ...} for /api/openapi.json
    nav_links: tuple[NavLink, ...] = ()
    template_context: tuple[str, ...] = ()  # context processors: names every page template may use
    demo_steps: tuple[DemoStep, ...] = field(default_factory=tuple)
    # Named points where a lower domain lets the higher ones act (e.g. "area_changed": records follow a merger),
    # each name mapped to the callables this feature plugs in.
    hooks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def migration_folders(self) -> list[Path]:
        base = Path(importlib.import_module(self.package).__file__).parent
        return [base / folder for folder in self.migrations]


def load(reference: str):
    """The object a "module:attribute" reference names."""
    module_name, _, attribute = reference.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


@cache
def features() -> tuple[Feature, ...]:
    """Every installed feature, in a stable order (entry point name, then the order its package lists)."""
    found: list[Feature] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        contributed = entry.load()
        found.extend(contributed if isinstance(contributed, tuple | list) else (contributed,))
    return tuple(found)


def references(kind: str) -> Iterator[str]:
    """Every reference of one kind ("blueprints", "commands", ...) over all features."""
    for feature in features():
        yield from getattr(feature, kind)


# The core's own tables: settings kept in the database, the audit log, the shared rate-limit counters.
CORE_MODELS = ("gisserver.core.meta", "gisserver.core.audit", "gisserver.core.ratelimit")


def hooks(name: str) -> list[Callable]:
    """The callables every feature plugs into the hook *name*, in feature order."""
    return [load(reference) for feature in features() for reference in feature.hooks.get(name, ())]


def import_models() -> None:
    """Import every table module, so that Base.metadata knows all tables (migrations, tests)."""
    for reference in (*CORE_MODELS, *references("models")):
        load(reference)


def migration_folders() -> list[Path]:
    return [folder for feature in features() for folder in feature.migration_folders()]


def nav_links() -> list[NavLink]:
    return sorted((link for feature in features() for link in feature.nav_links), key=lambda link: link.order)


def demo_steps(skip: set[str] | frozenset[str] = frozenset()) -> list[DemoStep]:
    """Every demo step but those in *skip*, each after the steps it names (then in the order features list them)."""
    every = [step for feature in features() for step in feature.demo_steps]
    names = {step.name for step in every}
    for step in every:
        unknown = set(step.after) - names
        if unknown:
            raise LookupError(f"demo step {step.name!r} runs after unknown steps {sorted(unknown)}")
    pending = [step for step in every if step.name not in skip]
    ordered: list[DemoStep] = []
    done: set[str] = set(skip)
    while pending:
        ready = [step for step in pending if set(step.after) <= done]
        if not ready:
            raise LookupError(f"demo steps wait on each other: {[step.name for step in pending]}")
        ordered.append(ready[0])
        done.add(ready[0].name)
        pending.remove(ready[0])
    return ordered
