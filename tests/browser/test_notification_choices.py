"""A staff member's notification choices in chromium: save channels and quiet hours, and turn on Web Push in this
browser (the service worker registers; the subscription reaches the server and ticks the browser channel)."""

from __future__ import annotations

import base64
import os
from dataclasses import replace

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from gisserver.accounts.models import User
from reports.notifications.forms import settings as notification_settings
from reports.notifications.models import NotificationProfile, PushSubscription

SHOTS = os.environ.get("GISSERVER_TEST_SHOTS")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_an_officer_saves_their_choices_and_turns_on_browser_notifications(browser_page, demo_app, demo_db):
    page = browser_page.page
    browser_page.login("officer")
    browser_page.goto("/me/notifications")
    # Without a VAPID key the page says so instead of offering a button that cannot work.
    assert page.locator("#push-off").is_visible() and page.locator("#push-on").count() == 0
    page.fill("input[name=email]", "can-bo@example.vn")
    page.check("input[name=channels][value=email]")
    page.fill("input[name=quiet_hours]", "22-06")
    page.click("#choices-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('choices-status').textContent.length > 0")
    assert "HH:MM" in page.inner_text("#choices-status")  # the API's refusal, readable
    browser_page.console_errors.clear()  # the 400 of that refusal, expected; anything else still fails the test
    page.fill("input[name=quiet_hours]", "22:00-06:00")
    page.click("#choices-form button[type=submit]")
    page.wait_for_function("() => document.getElementById('choices-status').className === 'hint' && "
                           "document.getElementById('choices-status').textContent.length > 0")
    officer = demo_db.scalar(select(User.id).where(User.username == "officer"))
    profile = demo_db.get(NotificationProfile, officer)
    assert (profile.email, profile.channels, f"{profile.quiet_from:%H:%M}") == ("can-bo@example.vn", ["email"],
                                                                                 "22:00")

    # Web Push set up on the server. Chromium here has no push service to talk to (no network), so the page's
    # PushManager.subscribe answers what a browser's push service would: a subscription with its keys.
    browser_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    server_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    with demo_app.app_context():
        before = notification_settings()
    demo_app.extensions["gisserver.notifications"] = replace(before, vapid_public_key=_b64(server_key),
                                                             webhook_allow_private=True)
    try:
        page.context.grant_permissions(["notifications"])
        page.add_init_script(f"""
          PushManager.prototype.getSubscription = function () {{ return Promise.resolve(null); }};
          PushManager.prototype.subscribe = function (options) {{
            window.subscribedWith = options.applicationServerKey.byteLength;
            return Promise.resolve({{ toJSON: function () {{ return {{
              endpoint: "http://127.0.0.1:9/push/browser-test",
              keys: {{ p256dh: "{_b64(browser_key)}", auth: "{_b64(os.urandom(16))}" }} }}; }} }});
          }};""")
        browser_page.goto("/me/notifications")
        page.click("#push-on")
        page.wait_for_function("() => document.getElementById('push-status').textContent.length > 0")
        assert page.get_attribute("#push-status", "class") == "hint", page.inner_text("#push-status")
        assert page.evaluate("window.subscribedWith") == 65  # the server's key, as bytes
        assert page.is_checked("input[name=channels][value=push]")
        registered = page.evaluate("navigator.serviceWorker.getRegistration('/').then(r => r && r.active && "
                                   "r.active.scriptURL)")
        assert registered.endswith("/push-sw.js")
        if SHOTS:
            page.screenshot(path=f"{SHOTS}/notification-choices.png", full_page=True)
        demo_db.expire_all()
        [subscription] = demo_db.scalars(select(PushSubscription).where(PushSubscription.user_id == officer))
        assert subscription.endpoint == "http://127.0.0.1:9/push/browser-test"
        assert demo_db.get(NotificationProfile, officer).channels == ["email", "push"]
    finally:
        demo_app.extensions["gisserver.notifications"] = before
        demo_db.rollback()
        demo_db.query(PushSubscription).filter(PushSubscription.user_id == officer).delete()
        demo_db.query(NotificationProfile).filter(NotificationProfile.user_id == officer).delete()
        demo_db.commit()
