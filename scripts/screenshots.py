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

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
PASSWORD = "demo-password-2025"
# (who, path); a path "first-report" opens the first report on the officer's map, "first-status" its public
# status page.
PAGES = [
    (None, "/"), (None, "/login"), (None, "/maps/layers"), (None, "/flood"), (None, "/flood/NGAP-001"), (None, "/r"),
    (None, "/r/HUE-01/committee"), (None, "/status"), (None, "first-status"),
    ("officer", "/"), ("officer", "/maps/reports"), ("officer", "first-report"), ("officer", "/account/password"),
    ("leader", "/maps/leader"), ("leader", "/summaries/HUE"), ("leader", "/summaries/HUE-01"),
    ("leader", "/summaries/HUE/records?measure=overdue"),
]
USERS = (None, "officer", "leader")


def first_status_code(base: str) -> str:
    """A tracking code from the public Open311 list (the status page is reached by its code)."""
    with urllib.request.urlopen(f"{base}/open311/v2/requests.json") as answer:
        return json.load(answer)[0]["service_request_id"]


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:  # Playwright gives the browser a fresh temporary profile
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
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
                    page.goto(f"{base}/login")
                    page.fill("input[name=username]", user)
                    page.fill("input[name=password]", PASSWORD)
                    page.click("form.card button[type=submit]")
                    page.wait_for_load_state()
                for who, path in PAGES:
                    if who != user:
                        continue
                    if path == "first-status":
                        path = "/status/" + first_status_code(base)
                    if path == "first-report":
                        page.goto(f"{base}/maps/reports", wait_until="networkidle")
                        link = page.evaluate("JSON.parse(document.getElementById('officer-config').textContent)"
                                             ".reportPage")
                        first = page.evaluate("c => window[c].getLayers()[0].feature.properties.id",
                                              page.evaluate("JSON.parse(document.getElementById("
                                                            "'officer-config').textContent).cluster"))
                        path = link[:-1] + str(first)
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
