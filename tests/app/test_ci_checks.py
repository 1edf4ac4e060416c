"""What CI runs besides the tests: ruff with its security rules, and the dependency audit, which fails on a known
vulnerability but only says so (and passes) when no advisory database can be reached."""

from __future__ import annotations

import importlib.util
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _audit_module():
    spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_setup_test_runs_the_security_lint_and_the_audit_before_pytest():
    script = (ROOT / "scripts" / "setup.sh").read_text()
    test_branch = script[script.index("    test)"):script.index(";;", script.index("    test)"))]
    steps = [re.search(r"ruff\"? check", test_branch), re.search(r"scripts/audit\.py", test_branch),
             re.search(r"-m pytest", test_branch)]
    assert all(steps), test_branch
    assert steps[0].start() < steps[1].start() < steps[2].start()
    assert "bash scripts/setup.sh test" in (ROOT / ".ci" / "run").read_text()
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    code_ignores = {rule for pattern, rules in lint.get("per-file-ignores", {}).items()
                    if not pattern.startswith(("tests", "bench", "scripts")) for rule in rules}
    assert not {rule for rule in code_ignores if rule.startswith("S")}, "the app's code is not exempt from S rules"


def test_audit_fails_on_a_vulnerability_and_skips_loudly_without_advisories(capsys):
    audit = _audit_module()
    clean = {"dependencies": [{"name": "flask", "version": "3.1.3", "vulns": []}]}
    vulnerable = {"dependencies": [{"name": "flask", "version": "0.1", "vulns": [
        {"id": "PYSEC-0000-1", "fix_versions": ["3.1.3"]}]}]}
    unknown = {"dependencies": [{"name": "flask", "version": "3.1.3", "skip_reason": "not found on PyPI"}]}
    assert audit.main(lambda service: clean) == 0
    assert "no known vulnerabilities" in capsys.readouterr().out
    assert audit.main(lambda service: vulnerable) == 1
    assert "flask 0.1: PYSEC-0000-1 (fixed in 3.1.3)" in capsys.readouterr().out
    # PyPI's mirror answers for nothing, OSV cannot be reached: not a failure, and not a pass in disguise either.
    assert audit.main(lambda service: unknown if service == "pypi" else None) == 0
    out = capsys.readouterr().out
    assert "SKIPPED" in out and "NOT audited" in out
    assert audit.main(lambda service: None if service == "pypi" else vulnerable) == 1
