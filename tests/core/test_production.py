"""GISSERVER_ENV=production: the app refuses to start with a weak or demo secret key, or with the demo users still
able to sign in with their published password."""

from __future__ import annotations

import stat
import subprocess
import sys
import time

import pytest

from gisserver.accounts.demo import DEMO_PASSWORD
from gisserver.accounts.users import create_user, get_user, set_password
from gisserver.app import UnsafeProduction, create_app

STRONG = "q8Jx3Lr0vTz7Wm2Np5Ks9Hd4Gf6Bc1Ya-_Ue"


def make(database_url, tmp_path, **config):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path, "ENV": "production", **config})
    app.extensions["gisserver.db"].dispose()
    return app


def test_weak_or_placeholder_secret_keys_are_refused(tmp_path):
    for secret in ("dev", "change-me", "secret", "x" * 40, "short-but-random-7f3a"):
        with pytest.raises(UnsafeProduction, match="secret key"):
            # Refused before the database is touched: this address is never reached.
            make("postgresql+psycopg://nobody@127.0.0.1:9/none", tmp_path, SECRET_KEY=secret)


def test_demo_users_with_the_demo_password_are_refused(database_url, tmp_path, db):
    create_user(db, "admin", DEMO_PASSWORD, ["admin"])
    create_user(db, "officer", DEMO_PASSWORD, ["officer"])
    db.commit()
    with pytest.raises(UnsafeProduction, match="admin, officer"):
        make(database_url, tmp_path, SECRET_KEY=STRONG)
    get_user(db, "admin").active = False
    set_password(db, get_user(db, "officer"), "a real password now")
    db.commit()
    app = make(database_url, tmp_path, SECRET_KEY=STRONG)
    assert app.config["PRODUCTION_CHECKED"]
    # A generated secret key (GISSERVER_SECRET_KEY unset) is random: production accepts it.
    assert make(database_url, tmp_path / "fresh").config["PRODUCTION_CHECKED"]


def test_development_mode_starts_with_anything(database_url, tmp_path, db):
    create_user(db, "admin", DEMO_PASSWORD, ["admin"])
    db.commit()
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path, "SECRET_KEY": "dev"})
    app.extensions["gisserver.db"].dispose()
    assert "PRODUCTION_CHECKED" not in app.config


def test_processes_starting_at_once_on_a_fresh_folder_agree_on_one_secret(tmp_path):
    # The app servers and the worker of one layout start together: one creates the secret, all use that one.
    path = tmp_path / "var" / "secret_key"
    # Each process imports first, then waits for the same instant to ask (else the first would be done long before
    # the last had started).
    script = ("import sys, time; from pathlib import Path; from gisserver.core.config import load_or_create_secret; "
              "time.sleep(max(0, float(sys.argv[2]) - time.time())); print(load_or_create_secret(Path(sys.argv[1])))")
    at = str(time.time() + 3)
    starts = [subprocess.Popen([sys.executable, "-c", script, str(path), at], stdout=subprocess.PIPE, text=True)
              for _ in range(8)]
    answers = {p.communicate(timeout=60)[0].strip() for p in starts}
    assert all(p.returncode == 0 for p in starts)
    assert answers == {path.read_text()} and len(path.read_text()) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # no draft left behind
