"""Signing in through the pages as a browser does, the second step included: a code from the user's
authenticator (enrolling it first when the role requires two-factor sign-in and the user has none yet)."""

from __future__ import annotations

import re
import time

import pyotp

from gisserver.accounts.twofactor import STEP_SECONDS

# The last time step each secret gave a code for: the server takes every code once, so a test signing in again
# within the same 30 s uses the next step's code (accepted one step ahead), or waits for the clock.
_USED: dict[str, int] = {}


def csrf_of(html: bytes | str) -> str:
    text = html.decode() if isinstance(html, bytes) else html
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def next_code(secret: str) -> str:
    step = max(int(time.time()) // STEP_SECONDS - 1, _USED.get(secret, -1) + 1)
    while step > int(time.time()) // STEP_SECONDS + 1:
        time.sleep(1)
    _USED[secret] = step
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def sign_in(client, username: str, password: str = "correct horse battery", *, secret: str | None = None,
            next_url: str | None = None, **request) -> tuple[object, str | None]:
    """Sign *client* in; returns the last response (302 when done) and the user's TOTP secret, if any."""
    token = csrf_of(client.get("/login", **request).data)
    form = {"username": username, "password": password, "csrf_token": token}
    if next_url:
        form["next"] = next_url
    response = client.post("/login", data=form, **request)
    if response.status_code != 302 or not response.headers["Location"].endswith("/login/code"):
        return response, secret
    page = client.get("/login/code", **request).get_data(as_text=True)
    shown = re.search(r'<code class="secret">([A-Z2-7]+)</code>', page)
    secret = shown.group(1) if shown else secret
    assert secret, "the user has two-factor sign-in on and the test gave no secret"
    response = client.post("/login/code", data={"code": next_code(secret), "csrf_token": csrf_of(page)}, **request)
    if response.status_code == 200 and b"recovery-codes" in response.data:  # just enrolled: the codes page
        return client.get(next_url or "/", **request), secret
    return response, secret
