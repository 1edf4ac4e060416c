#!/usr/bin/env bash
# Install what is missing, then serve the demo city or run the whole test suite.
#   scripts/setup.sh serve     install, start PostGIS, migrate, load the demo city, serve on :5000
#   scripts/setup.sh test      install, start PostGIS, run ruff and pytest
#   scripts/setup.sh install   only install
# Safe to re-run: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
export GISSERVER_DATA_DIR="${GISSERVER_DATA_DIR:-$ROOT/var}"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_system_packages() {
    local wanted missing=()
    wanted=$(grep -v '^\s*#' scripts/apt-packages.txt | tr -s ' \n' ' ')
    for pkg in $wanted; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "installing Debian packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python_packages() {
    local python stamp_file="$VENV/.gisserver-installed" stamp
    python=$(command -v python3.11 || command -v python3)
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating virtualenv in $VENV"
        "$python" -m venv "$VENV"
    fi
    stamp=$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
        say "installing Python packages into $VENV"
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test]"
        echo "$stamp" > "$stamp_file"
    fi
}

install_all() {
    install_system_packages
    install_python_packages
    # Folium's map assets are served from static/vendor; they are committed, nothing to fetch.
}

gis() { "$VENV/bin/gisserver" "$@"; }

case "${1:-}" in
    install)
        install_all
        ;;
    serve)
        install_all
        say "starting PostGIS"; gis db up
        say "migrating"; gis db migrate
        say "loading the demo city"; gis demo load
        # The demo has no real cameras: stand in for their heartbeats while the server runs.
        gis demo pulse >/dev/null
        server_shell=$$
        ( while sleep 120 && kill -0 "$server_shell" 2>/dev/null; do gis demo pulse >/dev/null 2>&1 || true; done ) &
        pulse_pid=$!
        # Notifications: the demo units' duty mailboxes are delivered to a local catcher (var/mail), by the worker.
        export GISSERVER_SMTP_HOST="${GISSERVER_SMTP_HOST:-127.0.0.1}" GISSERVER_SMTP_PORT="${GISSERVER_SMTP_PORT:-1025}"
        export GISSERVER_SMTP_SECURITY="${GISSERVER_SMTP_SECURITY:-none}"
        export GISSERVER_PUBLIC_URL="${GISSERVER_PUBLIC_URL:-http://127.0.0.1:${GISSERVER_PORT:-5000}}"
        say "mail catcher on 127.0.0.1:$GISSERVER_SMTP_PORT (messages in $GISSERVER_DATA_DIR/mail)"
        "$VENV/bin/python" scripts/mail_catcher.py --port "$GISSERVER_SMTP_PORT" &
        catcher_pid=$!
        say "notification worker"
        "$VENV/bin/gisserver" worker &
        worker_pid=$!
        trap 'kill "$pulse_pid" "$catcher_pid" "$worker_pid" 2>/dev/null || true' EXIT INT TERM
        say "serving on http://127.0.0.1:${GISSERVER_PORT:-5000}"
        "$VENV/bin/gisserver" serve --host 127.0.0.1 --port "${GISSERVER_PORT:-5000}"
        ;;
    worker)
        # The notification worker alone (a server already runs elsewhere): `scripts/setup.sh worker`.
        install_all
        exec "$VENV/bin/gisserver" worker "${@:2}"
        ;;
    test)
        install_all
        say "starting PostGIS"; gis db up
        say "ruff (with its security rules)"; "$VENV/bin/ruff" check .
        say "dependency audit"; "$VENV/bin/python" scripts/audit.py
        # Three processes (pytest-xdist): most tests wait on PostgreSQL, a server or a browser, so a 2-core machine
        # runs three at once (8 min, against 10 with two); tests that start their own clusters and servers stay
        # together on one of them (tests/conftest.py).
        say "pytest"; exec "$VENV/bin/python" -m pytest -n "${GISSERVER_TEST_PROCESSES:-3}" "${@:2}"
        ;;
    *)
        echo "usage: $0 serve|test|install|worker" >&2
        exit 2
        ;;
esac
