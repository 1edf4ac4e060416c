"""Browser tests: the app served on a free local port over a small demo city, driven by Debian's chromium.

The demo city is loaded once for the whole tests/browser package (the root conftest would empty the
database before every test; here that is switched off), so every browser test module - the leader
map's included - can reuse `live_server`, `browser_page` and `login` without loading it again.
Tests that change data add their own reports or layers and never rely on the others' changes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from gisserver.accounts.demo import DEMO_PASSWORD
from gisserver.app import create_app
from gisserver.demo.loader import DemoOptions, load_demo
from tests.conftest import LENIENT_LIMITS, PUBLIC_URL, empty_database
from tests.signing import next_code

playwright_api = pytest.importorskip("playwright.sync_api")

# Demo users' authenticator secrets, learnt when they set up two-factor sign-in in the first test that signs in.
TOTP_SECRETS: dict[str, str] = {}
CHROMIUM = os.environ.get("GISSERVER_TEST_CHROMIUM", "/usr/bin/chromium")
# Debian's chromium, headless, with everything that would phone home switched off.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# Small enough to load in a few seconds, large enough that every map has something to show.
DEMO = DemoOptions(days=10, reports_per_day=4.0, groups_per_ward=(2, 3), cameras=60, ai_cameras=8, hotspots=12,
                   hotspot_days=2, ai_event_days=2)

if not Path(CHROMIUM).is_file():
    pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(autouse=True)
def clean_database():
    """The demo city stays for the whole package (this overrides the root conftest's emptying)."""
    yield


@pytest.fixture(scope="package")
def demo_app(database_url, _engine, tmp_path_factory):
    """The app over a freshly loaded small demo city."""
    empty_database(_engine)
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path_factory.mktemp("browser-data"),
                      **LENIENT_LIMITS, "LIVE_MAX_STREAMS": 50,
                      "LIVE_HEARTBEAT_SECONDS": 2, "LIVE_MAX_SECONDS": 60, "PUBLIC_URL": PUBLIC_URL})
    load_demo(app.extensions["gisserver.db"], DEMO, echo=lambda _line: None)
    yield app
    app.extensions["gisserver.db"].dispose()
    empty_database(_engine)  # the next package's tests start from an empty database, as they expect


@pytest.fixture(scope="package")
def live_server(demo_app):
    """The base URL of the app served by a threaded werkzeug server on a free port of 127.0.0.1."""
    server = make_server("127.0.0.1", 0, demo_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def demo_db(demo_app):
    """A session on the demo city's database, to arrange data and check what the pages saved."""
    session = demo_app.extensions["gisserver.db"].session()
    yield session
    session.rollback()
    session.close()


@pytest.fixture(scope="package")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@dataclass
class Watched:
    """A page and everything it did that a test may hold against it."""

    page: object
    base: str
    console_errors: list[str] = field(default_factory=list)
    # Content-Security-Policy violations, whatever level the console gave them: a script or style the policy
    # refused means a broken page. (Chromium posts them to /csp-report too, but a minute later.)
    csp_violations: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)

    def goto(self, path: str, wait: str = "load"):
        response = self.page.goto(self.base + path, wait_until=wait)
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"
        return response

    def login(self, username: str) -> None:
        self.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", DEMO_PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form.card button[type=submit]")
        if self.page.url.endswith("/login/code"):  # admins and planners: the code step (set up on first sign-in)
            shown = self.page.locator("code.secret")
            if shown.count():
                TOTP_SECRETS[username] = shown.inner_text()
            self.page.fill("input[name=code]", next_code(TOTP_SECRETS[username]))
            with self.page.expect_navigation():
                self.page.click("form.card button[type=submit]")
            if self.page.locator(".recovery-codes").count():
                with self.page.expect_navigation():
                    self.page.click("section.card a")
        assert "/login" not in self.page.url, "the demo user could not sign in"

    def assert_clean(self) -> None:
        assert self.csp_violations == [], self.csp_violations
        assert self.console_errors == [], self.console_errors
        assert self.outside_requests == [], self.outside_requests
        assert self.dialogs == [], self.dialogs


def _watch(context, base: str) -> Watched:
    page = context.new_page()
    watched = Watched(page, base)
    def on_console(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            watched.csp_violations.append(message.text)
        elif message.type == "error":
            watched.console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: watched.console_errors.append(f"uncaught: {e}"))

    def on_dialog(dialog):
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    local = (base + "/", "data:", "blob:", "about:")

    def on_request(request):
        if not request.url.startswith(local) and request.url != base:
            watched.outside_requests.append(request.url)

    # Anything not for our server is refused before it leaves the machine, and remembered.
    context.route(lambda url: not url.startswith(local), lambda route: route.abort())
    page.on("request", on_request)
    return watched


@pytest.fixture
def browser_page(browser, live_server):
    """A desktop-sized page of a fresh browser context (no cookies), watched for errors, dialogs and
    requests leaving 127.0.0.1; the test fails if any happened and the test did not expect it."""
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(15_000)
    watched = _watch(context, live_server)
    yield watched
    context.close()
    watched.assert_clean()


@pytest.fixture
def phone_page(browser, live_server):
    """Like browser_page, at a phone's size with touch."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2,
                                  locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    context.set_default_timeout(15_000)
    watched = _watch(context, live_server)
    yield watched
    context.close()
    watched.assert_clean()

