"""The shape of the code, enforced: imports point down the floors, services stay free of Flask, views import no
other views, and the core names no feature module (docs/architecture.md draws the same picture).

The rules are checked over the syntax trees of the real packages, and the checker is first shown to catch each
kind of breach on a small tree made for the purpose, so that a rule which silently stopped working would fail.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("gisserver", "layers", "planning", "reports")

# Lowest first. A module may import its own package's modules and anything on a lower floor, nothing higher and
# nothing beside it (operations and summaries share a floor and know nothing of each other).
FLOORS: tuple[tuple[str, ...], ...] = (
    ("gisserver.core",),
    ("gisserver.accounts",),
    ("gisserver.demo",),
    ("layers",),
    ("reports.areas",),
    # The planners' workspace builds on layers and on the areas its projects cover; nothing builds on it.
    ("reports.workflow", "planning"),
    ("reports.intake",),
    ("reports.cameras",),
    ("reports.notifications",),
    ("reports.operations", "reports.summaries"),
    ("reports.dashboards",),
    # The assembly: the app factory, the command group, migrations and backups use everything.
    ("gisserver.app", "gisserver.cli", "gisserver.migrate", "gisserver.backup", "gisserver.migrations", "reports"),
)
# Rooms that speak HTTP or the command line; every other module of a feature is a service and must not.
WEB_ROOMS = {"api", "pages", "forms", "cli", "open311", "ogc", "navigation", "limits", "auth"}
# The core's own web glue (request helpers, error handlers, its few routes).
CORE_WEB = {"access", "assets", "commands", "errors", "health", "http", "i18n", "logs", "maps", "openapi",
            "ratelimit", "security"}
VIEWS = {"api", "pages", "open311", "ogc", "navigation"}
# Translations are not request handling: labels and manifests may name lazy strings.
TRANSLATION_ONLY = {"labels", "__init__"}
ALLOWED_WEB_IMPORTS = {"werkzeug.security"}  # password hashing, not the web


@dataclass(frozen=True)
class Module:
    name: str
    tree: ast.Module

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1] if not self.is_package else "__init__"

    @property
    def is_package(self) -> bool:
        return getattr(self.tree, "is_package", False)


def load_modules(root: Path, packages=PACKAGES) -> list[Module]:
    modules = []
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            tree.is_package = is_package
            modules.append(Module(".".join(parts), tree))
    return modules


def floor_of(name: str) -> tuple[int, str] | None:
    """(floor, package) of a module name: the longest prefix listed in FLOORS."""
    if name == "gisserver":  # the namespace itself (an empty __init__), not a prefix for anything new
        return len(FLOORS) - 1, name
    best = None
    for level, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[1])):
                best = (level, prefix)
    return best


def imports_of(module: Module, names: set[str]) -> list[tuple[str, int]]:
    """Every module imported (at any depth of the file, functions included), with its line: for `from a import b`,
    a.b when it is a module of ours, else a."""
    found = []
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            inner = [f"{node.module}.{alias.name}" for alias in node.names if f"{node.module}.{alias.name}" in names]
            found += [(name, node.lineno) for name in inner] or [(node.module, node.lineno)]
    return found


def violations(modules: list[Module]) -> list[str]:
    names = {m.name for m in modules}
    problems = []
    for module in modules:
        here = floor_of(module.name)
        for imported, line in imports_of(module, names):
            where = f"{module.name}:{line} imports {imported}"
            top = imported.split(".")[0]
            if top in ("flask", "werkzeug") or top.startswith("flask_"):
                web_module = (module.leaf in WEB_ROOMS or (module.name.startswith("gisserver.core.")
                                                            and module.leaf in CORE_WEB))
                translation = top == "flask_babel" and module.leaf in TRANSLATION_ONLY
                if not (web_module or translation or imported in ALLOWED_WEB_IMPORTS
                        or (here is not None and here[0] == len(FLOORS) - 1)):
                    problems.append(f"{where}: a service must not use Flask")
                continue
            if top not in PACKAGES or imported not in names:
                continue  # a third-party module, or a name inside a module
            target = floor_of(imported)
            if here is None or target is None:
                continue
            sideways = target[0] == here[0] and target[1] != here[1] and here[0] < len(FLOORS) - 1
            if target[0] > here[0] or sideways:
                problems.append(f"{where}: {here[1]} may not import {target[1]} (it is not below)")
            if imported.rsplit(".", 1)[-1] in VIEWS and here[0] != len(FLOORS) - 1:
                problems.append(f"{where}: views are reached through the app, never imported")
        if here is not None and here[1].startswith("gisserver.") and here[0] < len(FLOORS) - 1:
            for node in ast.walk(module.tree):
                if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                        and node.value.startswith(("reports.", "layers.")) and ":" in node.value):
                    problems.append(f"{module.name}:{node.lineno} names the feature module {node.value!r}")
    return problems


def test_the_checker_catches_each_kind_of_breach(tmp_path):
    """A made-up tree with one breach of each rule: the checker names all of them, and a clean tree passes."""
    files = {
        "gisserver/core/__init__.py": "",
        "gisserver/core/db.py": "import flask\n",  # a pure core module using Flask
        "gisserver/core/http.py": "from flask import request\n",  # allowed: the core's web glue
        "gisserver/app.py": "from reports.cameras import api\n",  # allowed: the assembly
        "gisserver/cli.py": 'GROUPS = ("reports.cameras.cli:cameras",)\n',  # allowed: the top may name features
        "gisserver/accounts/__init__.py": 'X = "reports.cameras.api:bp"\n',  # the base naming a feature module
        "reports/__init__.py": "",
        "reports/areas/__init__.py": "",
        "reports/areas/service.py": "from reports.workflow.models import Report\n",  # a lower room importing a higher
        "reports/workflow/__init__.py": "",
        "reports/workflow/models.py": "from reports.areas import service\n",  # allowed: downwards
        "reports/workflow/queries.py": "def f():\n    from flask import g\n",  # a service using Flask, in a function
        "reports/cameras/__init__.py": "",
        "reports/cameras/api.py": "from flask import Blueprint\nfrom reports.workflow import queries\n",
        "reports/summaries/__init__.py": "",
        "reports/summaries/pages.py": "from reports.cameras import api\n",  # a view importing another view
        "reports/operations/__init__.py": "",
        "reports/operations/pages.py": "from reports.summaries import figures\n",  # a sibling on the same floor
        "reports/summaries/figures.py": "",
    }
    for name, body in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(body))
    found = violations(load_modules(tmp_path))
    expected = {
        "gisserver.core.db:1 imports flask: a service must not use Flask",
        "gisserver.accounts:1 names the feature module 'reports.cameras.api:bp'",
        "reports.areas.service:1 imports reports.workflow.models: reports.areas may not import reports.workflow "
        "(it is not below)",
        "reports.workflow.queries:2 imports flask: a service must not use Flask",
        "reports.summaries.pages:1 imports reports.cameras.api: views are reached through the app, never imported",
        "reports.operations.pages:1 imports reports.summaries.figures: reports.operations may not import "
        "reports.summaries (it is not below)",
    }
    assert set(found) == expected, found
    clean = [m for m in load_modules(tmp_path) if m.name in {"reports.workflow.models", "gisserver.core.http",
                                                              "reports.cameras.api", "gisserver.app"}]
    assert violations(clean) == []


def test_the_packages_keep_their_shape():
    assert violations(load_modules(ROOT)) == []


@pytest.mark.parametrize("package", ["reports"])
def test_no_module_lives_at_the_top_of_reports(package):
    top = sorted(p.name for p in (ROOT / package).glob("*.py"))
    assert top == ["__init__.py"]


def test_every_feature_module_is_on_a_floor():
    unplaced = [m.name for m in load_modules(ROOT) if floor_of(m.name) is None]
    assert unplaced == []
