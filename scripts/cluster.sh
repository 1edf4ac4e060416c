#!/usr/bin/env bash
# More than one server, on one machine and 127.0.0.1 only: the primary and one streaming replica, PgBouncer
# (transaction pooling) in front of the primary, two `gisserver serve` app servers reading from the replica,
# `gisserver worker` when that command exists, HAProxy balancing the app servers with health checks on /health,
# and nginx in front of it all with a cache for vector tiles. README: "More than one server".
#   scripts/cluster.sh up        start what is not running (safe to re-run: it restarts what died)
#   scripts/cluster.sh down      stop everything it started, the databases included
#   scripts/cluster.sh status    what runs, and what each app server's /health says of each engine
#   scripts/cluster.sh promote   the primary is lost: promote the replica, re-point PgBouncer and the app servers
# Ports and folders (environment variables, defaults):
#   GISSERVER_DATA_DIR      var        private cluster in pg/, replicas in replicas/, this layout's state in cluster/
#   GISSERVER_PG_PORT       5439       the primary
#   CLUSTER_REPLICA_PORT    primary+1  the replica
#   CLUSTER_PGBOUNCER_PORT  6432
#   CLUSTER_APP_PORTS       "5001 5002"
#   CLUSTER_HAPROXY_PORT    8081
#   CLUSTER_PORT            8080       nginx: the address residents, map viewers and staff use
#   CLUSTER_WORKERS         2          gunicorn workers per app server (CLUSTER_THREADS: 4 threads each)
#   CLUSTER_DEMO            1          load the demo city into an empty database (0: leave the database as it is)
#   CLUSTER_DIR             $GISSERVER_DATA_DIR/cluster
# Other GISSERVER_* settings are passed on to the app servers (e.g. GISSERVER_REPLICA_MAX_LAG_MS).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$(pwd)/.venv"
export GISSERVER_DATA_DIR="${GISSERVER_DATA_DIR:-$(pwd)/var}"
if [ ! -x "$VENV/bin/gisserver" ]; then
    echo "no virtualenv yet: run scripts/setup.sh install first" >&2
    exit 2
fi
exec "$VENV/bin/python" scripts/cluster.py "$@"
