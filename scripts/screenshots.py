"""Screenshots of every page at desktop and phone widths, to look at after changing the pages.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:5000 var/screenshots

Needs the demo city loaded on that server and Debian's chromium (no browser is downloaded). Prints, per page,
the console errors and the requests that tried to leave the server.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from pathlib import Path

import pyotp
from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
PASSWORD = "demo-password-2025"
# (who, path); a path "first-report" opens the first report of the officer's work queue, "first-status" the
# public status page of a closed report.
PAGES = [
    (None, "/"), (None, "/login"), (None, "/maps/layers"), (None, "/flood"), (None, "/flood/NGAP-001"), (None, "/r"),
    (None, "/r/HUE-01/ub"), (None, "/r/HUE-01/ca"), (None, "/status"), (None, "first-status"),
    ("officer", "/"), ("officer", "/maps/reports"), ("officer", "/reports"), ("officer", "first-report"),
    ("officer", "/keychains"), ("officer", "/account/password"),
    ("planner", "/maps/layers"), ("planner", "/ogc/collections?f=html"), ("planner", "/planning"),
    ("planner", "/planning/projects"), ("planner", "/planning/projects/QHPK-HUE-2030"),
    ("planner", "/planning/layers/quy-hoach-su-dung-dat"), ("planner", "/planning/layers/quy-hoach-su-dung-dat/style"),
    ("planner", "/planning/layers/quy-hoach-su-dung-dat/edit"), ("planner", "/planning/upload"),
    ("officer", "/account"),
    ("leader", "/maps/leader"), ("leader", "/summaries/HUE"), ("leader", "/summaries/HUE-01"),
    ("leader", "/summaries/HUE/records?measure=overdue"), ("leader", "/dashboards"), ("leader", "/dashboards/1"),
    ("leader", "/dashboards/1?compare_area=HUE-05"),
]
USERS = (None, "officer", "planner", "leader")


def sign_in(page, base: str, user: str, secrets: dict[str, str]) -> None:
    """The sign-in form, and the code step for roles with two-factor sign-in (enrolled on the first sign-in; each
    code is taken once, so a second sign-in uses the next 30 s step's code)."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.card button[type=submit]")
    page.wait_for_load_state()
    if not page.url.endswith("/login/code"):
        return
    shown = page.locator("code.secret")
    if shown.count():
        secrets[user] = shown.inner_text()
    page.fill("input[name=code]", pyotp.TOTP(secrets[user]).at(time.time() + (30 if shown.count() == 0 else 0)))
    page.click("form.card button[type=submit]")
    page.wait_for_load_state()
    if page.locator(".recovery-codes").count():
        page.click("section.card a")
        page.wait_for_load_state()


def first_status_code(base: str) -> str:
    """A tracking code from the public Open311 list (the status page is reached by its code): a closed request
    when there is one, so that the page shows the answer too."""
    with urllib.request.urlopen(f"{base}/open311/v2/requests.json?status=closed") as answer:
        closed = json.load(answer)
    if closed:
        return closed[0]["service_request_id"]
    with urllib.request.urlopen(f"{base}/open311/v2/requests.json") as answer:
        return json.load(answer)[0]["service_request_id"]


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:  # Playwright gives the browser a fresh temporary profile
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        secrets: dict[str, str] = {}
        for size, (width, height) in SIZES.items():
            for user in USERS:
                context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN",
                                              timezone_id="Asia/Ho_Chi_Minh", is_mobile=size == "phone",
                                              has_touch=size == "phone")
                page = context.new_page()
                errors, outside = [], []
                page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
                page.on("request", lambda r, outside=outside: not r.url.startswith((base, "data:"))
                        and outside.append(r.url))
                if user:
                    sign_in(page, base, user, secrets)
                for who, path in PAGES:
                    if who != user:
                        continue
                    if path == "first-status":
                        path = "/status/" + first_status_code(base)
                    if path == "first-report":  # the first report of the officer's work queue
                        page.goto(f"{base}/reports?status=all", wait_until="networkidle")
                        path = page.get_attribute("#queue-table a.code", "href")
                    page.goto(base + path, wait_until="networkidle")
                    time.sleep(1)
                    name = f"{user or 'resident'}{re.sub(r'[^a-z0-9]+', '_', path.lower())[:40]}_{size}.png"
                    page.screenshot(path=str(out / name))
                    print(f"{name}: errors={errors} outside={outside}")
                    errors.clear()
                    outside.clear()
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"), Path(sys.argv[2] if len(sys.argv) > 2 else "var/screenshots"))
