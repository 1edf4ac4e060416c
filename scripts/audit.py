"""Audit the installed Python packages for known vulnerabilities (pip-audit), as `scripts/setup.sh test` does.

    .venv/bin/python scripts/audit.py

Fails (exit 1) when an installed version has a published advisory not listed in scripts/audit-ignore.txt (one id
per line, each with the reason it does not apply). The advisories come from PyPI's JSON API, else from OSV; when
neither answers from this machine (CI reaches package registries only, and a mirror may not serve that API), it
says so clearly and exits 0: a network that hides the advisories must not fail the build, nor pass as "no known
vulnerabilities" either.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IGNORE_FILE = ROOT / "scripts" / "audit-ignore.txt"
SERVICES = ("pypi", "osv")
TIMEOUT_SECONDS = 300


def ignored_ids() -> list[str]:
    if not IGNORE_FILE.exists():
        return []
    ids = []
    for line in IGNORE_FILE.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            ids.append(line.split()[0])
    return ids


def run(service: str) -> dict | None:
    """pip-audit's JSON report from *service*, or None when the service could not be asked."""
    argv = [sys.executable, "-m", "pip_audit", "--skip-editable", "--progress-spinner", "off", "--format", "json",
            "--vulnerability-service", service, "--timeout", "30"]
    for vuln_id in ignored_ids():
        argv += ["--ignore-vuln", vuln_id]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)  # noqa: S603
    except subprocess.TimeoutExpired:
        return None
    try:
        return json.loads(proc.stdout)
    except ValueError:  # a connection error ends pip-audit with a traceback instead of a report
        return None


def main(ask=run) -> int:
    """0: no known vulnerability, or no advisory service reachable (said so); 1: vulnerable packages."""
    for service in SERVICES:
        report = ask(service)
        if report is None:
            print(f"audit: the {service} advisory service could not be reached")
            continue
        dependencies = report.get("dependencies", [])
        audited = [d for d in dependencies if "skip_reason" not in d]
        if not audited:
            print(f"audit: the {service} advisory service answered for none of the {len(dependencies)} packages")
            continue
        skipped = [d["name"] for d in dependencies if "skip_reason" in d]
        vulnerable = [d for d in audited if d.get("vulns")]
        print(f"audit: {len(audited)} packages checked against {service}"
              + (f"; not found there: {', '.join(skipped)}" if skipped else ""))
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                print(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
        if vulnerable:
            print("audit: FAILED - upgrade, or list the id in scripts/audit-ignore.txt with the reason it does not "
                  "apply")
            return 1
        print("audit: no known vulnerabilities")
        return 0
    print("audit: SKIPPED - no advisory database could be reached from this machine (PyPI's JSON API, OSV); the "
          "packages were NOT audited. Run `.venv/bin/python scripts/audit.py` where one can be reached.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
