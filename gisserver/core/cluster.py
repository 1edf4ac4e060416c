"""A private PostGIS cluster under the data folder, for when no database URL is configured.

The system's PostgreSQL 15 + PostGIS binaries run it; since the service is often run as root
and PostgreSQL refuses to, every server-side command runs as the ``postgres`` user.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

SERVER_USER = "postgres"
APP_ROLE = "gisserver"
# Extensions every gisserver database needs; PostGIS is not a trusted extension, so the
# cluster's superuser creates them all up front.
EXTENSIONS = ("postgis", "pg_trgm", "unaccent")
DEFAULT_BINDIRS = ("/usr/lib/postgresql/15/bin",)
# Enough for a city's hot data on a small server; tests ask for less (several clusters may run at once there).
DEFAULT_SHARED_BUFFERS = "512MB"
_MEMORY = re.compile(r"^[1-9][0-9]{0,6}(kB|MB|GB)$")
# Left in a primary's data folder when one of its replicas is promoted: that folder must not start again.
SUPERSEDED_MARK = "gisserver-superseded.json"


class ClusterError(RuntimeError):
    """The private cluster could not be set up, started or stopped."""


@dataclass(frozen=True)
class ClusterStatus:
    running: bool
    pid: int | None
    data_dir: Path
    port: int
    url: str
    initialized: bool


class PrivateCluster:
    """Start, stop and inspect a PostgreSQL cluster owned by this project."""

    def __init__(self, data_dir: Path, port: int, database: str = "gisserver", bindir: str = "",
                 replicas_dir: Path | None = None, *, shared_buffers: str = DEFAULT_SHARED_BUFFERS,
                 stat_statements: bool = True):
        if not _MEMORY.match(shared_buffers):
            raise ClusterError(f"shared_buffers {shared_buffers!r} is a size such as 512MB or 1GB")
        self.data_dir = Path(data_dir).resolve()
        # Written into its settings at every start (GISSERVER_PG_SHARED_BUFFERS, GISSERVER_PG_STAT_STATEMENTS).
        self.shared_buffers = shared_buffers
        self.stat_statements = stat_statements
        self.port = int(port)
        self.database = database
        self.bindir = bindir or _find_bindir()
        self.secrets_path = self.data_dir.parent / f"{self.data_dir.name}.secrets.json"
        self.log_path = self.data_dir / "server.log"
        # Where `gisserver db replica add` puts this cluster's streaming replicas (gisserver/core/cluster_replicas.py).
        self.replicas_dir = Path(replicas_dir or self.data_dir.parent / "replicas").resolve()

    # -- connection strings ---------------------------------------------------------------

    def url(self, database: str | None = None, *, admin: bool = False, hide_password: bool = False) -> str:
        creds = self._secrets()
        user = SERVER_USER if admin else APP_ROLE
        password = "***" if hide_password else creds["admin_password" if admin else "app_password"]
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{database or self.database}"

    def _dsn(self, database: str = "postgres", admin: bool = True) -> str:
        creds = self._secrets()
        user = SERVER_USER if admin else APP_ROLE
        password = creds["admin_password" if admin else "app_password"]
        return f"host=127.0.0.1 port={self.port} dbname={database} user={user} password={password} connect_timeout=5"

    # -- state ------------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    @property
    def is_standby(self) -> bool:
        """A streaming replica (until promoted): it only reads, and follows its primary."""
        return (self.data_dir / "standby.signal").exists()

    @property
    def superseded_path(self) -> Path:
        return self.data_dir / SUPERSEDED_MARK

    def status(self) -> ClusterStatus:
        pid = self._live_pid()
        url = self.url(hide_password=True) if self.secrets_path.exists() else ""
        return ClusterStatus(pid is not None, pid, self.data_dir, self.port, url, self.initialized)

    def _live_pid(self) -> int | None:
        """PID of the running postmaster, or None; a pid file left by a crash does not count."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            pid = int(pid_file.read_text().split("\n", 1)[0])
        except (FileNotFoundError, ValueError, PermissionError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        # A recycled pid belongs to some other program: the pid file is stale.
        if not cmdline or not os.path.basename(cmdline[0]).startswith(b"postgres"):
            return None
        return pid

    # -- lifecycle --------------------------------------------------------------------------

    def up(self) -> list[str]:
        """Initialise (first time), start (if stopped) and provision the cluster; idempotent, and one process at a
        time: several processes starting on a fresh data folder at once (pytest-xdist's workers, a server and its
        worker) would each run initdb into the same folder."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir.parent / f"{self.data_dir.name}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed, also if this process dies
            return self._up()

    def _up(self) -> list[str]:
        done: list[str] = []
        self._check_binaries()
        if self.superseded_path.exists():
            # Starting it again would make two primaries that each take writes the other never sees.
            mark = json.loads(self.superseded_path.read_text())
            raise ClusterError(
                f"{self.data_dir} was the primary until {mark['promoted']} (port {mark['port']}) was promoted at "
                f"{mark['at']}: point GISSERVER_PG_DIR and GISSERVER_PG_PORT at {mark['data_dir']} and port "
                f"{mark['port']}, or move this folder away"
            )
        if not self.initialized:
            self._initdb()
            done.append(f"initialised cluster in {self.data_dir}")
        self._write_settings()
        if self._live_pid() is None:
            self._remove_stale_pid_file()
            self._start()
            done.append(f"started PostgreSQL on 127.0.0.1:{self.port}")
        self._wait_ready()
        if not self.is_standby and self._provision_app_database():
            done.append(f"created database {self.database} with {', '.join(EXTENSIONS)}")
        return done

    def down(self) -> bool:
        """Stop the cluster; returns False when it was not running."""
        if self._live_pid() is None:
            self._remove_stale_pid_file()
            return False
        self._run_as_server([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
        return True

    def recreate_database(self, name: str) -> str:
        """Drop and create database *name* owned by the app role, with extensions; returns its URL."""
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(APP_ROLE)))
        self._create_extensions(name)
        return self.url(name)

    # -- internals --------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(Path(self.bindir) / name)

    def _check_binaries(self) -> None:
        for name in ("initdb", "pg_ctl", "postgres"):
            if not Path(self._bin(name)).exists():
                raise ClusterError(
                    f"{self._bin(name)} not found: install Debian's postgresql-15 and "
                    "postgresql-15-postgis-3 (scripts/setup.sh does), or set GISSERVER_PG_BINDIR"
                )
        share = subprocess.run([self._bin("pg_config"), "--sharedir"],  # noqa: S603 - the configured bindir's tool
                               capture_output=True, text=True)
        sharedir = share.stdout.strip() or "/usr/share/postgresql/15"
        if not list(Path(sharedir, "extension").glob("postgis.control")):
            raise ClusterError("PostGIS is not installed for this PostgreSQL: install postgresql-15-postgis-3")

    def _as_server_user(self) -> bool:
        return os.geteuid() == 0

    def _run_as_server(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self._as_server_user():
            argv = ["runuser", "-u", SERVER_USER, "--", *argv]
        # PostgreSQL's own tools with arguments this module builds (no shell, nothing from requests).
        proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)  # noqa: S603
        if proc.returncode != 0:
            output = proc.stderr.strip() or proc.stdout.strip()
            raise ClusterError(f"{' '.join(argv)} failed ({proc.returncode}): {output}")
        return proc

    def _chown_to_server(self, path: Path) -> None:
        if self._as_server_user():
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def _ensure_traversable(self) -> None:
        """Let the server user reach the data folder: grant search (x) on ancestors lacking it."""
        if not self._as_server_user():
            return
        for ancestor in reversed(self.data_dir.parents):
            mode = ancestor.stat().st_mode
            if not mode & stat.S_IXOTH:
                log.warning("granting o+x on %s so the postgres user can reach %s", ancestor, self.data_dir)
                ancestor.chmod(mode | stat.S_IXOTH)

    def _secrets(self) -> dict:
        if not self.secrets_path.exists():
            # Written whole under a private name, then linked into place: a process reading it at the same moment
            # never sees it empty, and of two processes making it at once the first one's stands.
            self.secrets_path.parent.mkdir(parents=True, exist_ok=True)
            data = {"admin_password": secrets.token_urlsafe(24), "app_password": secrets.token_urlsafe(24)}
            draft = self.secrets_path.with_name(f"{self.secrets_path.name}.{os.getpid()}.draft")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(data, fh)
            try:
                os.link(draft, self.secrets_path)
            except FileExistsError:
                pass
            finally:
                draft.unlink()
        return json.loads(self.secrets_path.read_text())

    def secret(self, key: str) -> str:
        """A password kept with the cluster's others (made on first use): e.g. the replication role's."""
        data = self._secrets()
        if key not in data:
            data[key] = secrets.token_urlsafe(24)
            self.write_secrets(data)
        return data[key]

    def write_secrets(self, data: dict) -> None:
        """Replace the secrets file (mode 0600): a replica keeps a copy of its primary's."""
        self.secrets_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.secrets_path.with_suffix(".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        partial.replace(self.secrets_path)

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if any(self.data_dir.iterdir()):
            raise ClusterError(f"{self.data_dir} is not empty and holds no cluster; move it away first")
        self._ensure_traversable()
        self.data_dir.chmod(0o700)
        self._chown_to_server(self.data_dir)
        with tempfile.NamedTemporaryFile("w", delete=False, prefix="gisserver-pw-") as fh:
            fh.write(self._secrets()["admin_password"])
            pwfile = Path(fh.name)
        try:
            self._chown_to_server(pwfile)
            self._run_as_server(
                [
                    self._bin("initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    SERVER_USER,
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                ]
            )
        finally:
            pwfile.unlink(missing_ok=True)
        conf = self.data_dir / "postgresql.conf"
        with conf.open("a") as fh:
            fh.write("\ninclude_if_exists = 'gisserver.conf'\n")

    def _write_settings(self) -> None:
        # Rewritten at every start so that a changed port (or size) takes effect.
        settings = self.data_dir / "gisserver.conf"
        lines = [
            "# written by `gisserver db up`; edit GISSERVER_PG_* settings instead",
            "listen_addresses = '127.0.0.1'",
            f"port = {self.port}",
            "unix_socket_directories = ''",
            "max_connections = 200",
            f"shared_buffers = '{self.shared_buffers}'",
            "work_mem = '32MB'",
            "maintenance_work_mem = '256MB'",
            "jit = off",
            # A replica that died or was removed carelessly keeps its slot, and the slot keeps WAL: cap it, so
            # that it cannot fill the disk of the primary.
            "max_slot_wal_keep_size = '4GB'",
            # A streaming replica's own settings (gisserver/core/cluster_replicas.py), absent on a primary.
            "include_if_exists = 'standby.conf'",
        ]
        if self.stat_statements:
            # Statements counted per engine (primary, each replica): what the load benchmark reads to show
            # which engine answered what. Takes effect at the next start.
            lines.append("shared_preload_libraries = 'pg_stat_statements'")
        settings.write_text("\n".join(lines) + "\n")
        self._chown_to_server(settings)

    def _remove_stale_pid_file(self) -> None:
        pid_file = self.data_dir / "postmaster.pid"
        if pid_file.exists() and self._live_pid() is None:
            log.warning("removing stale %s left by a server that is no longer running", pid_file)
            pid_file.unlink()

    def _start(self) -> None:
        if port_in_use(self.port):
            raise ClusterError(
                f"127.0.0.1:{self.port} is already taken by another program; "
                "set GISSERVER_PG_PORT to a free port (or stop the other server)"
            )
        try:
            self._run_as_server(
                [self._bin("pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_path), "-w", "-t", "120", "start"],
            )
        except ClusterError as exc:
            raise ClusterError(f"{exc}\nlast lines of {self.log_path}:\n{self._log_tail()}") from exc

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self._dsn(), connect_timeout=3):
                    return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ClusterError(f"PostgreSQL on port {self.port} does not answer: {exc}") from exc
                time.sleep(0.3)

    def _provision_app_database(self) -> bool:
        app_password = self._secrets()["app_password"]
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            role_exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (APP_ROLE,)).fetchone()
            if not role_exists:
                conn.execute(
                    sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} CREATEDB").format(
                        sql.Identifier(APP_ROLE), sql.Literal(app_password)
                    )
                )
            db_exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not db_exists:
                conn.execute(
                    sql.SQL("CREATE DATABASE {} OWNER {}").format(
                        sql.Identifier(self.database), sql.Identifier(APP_ROLE)
                    )
                )
        self._create_extensions(self.database)
        return not db_exists

    def apply_role_settings(self, statement_timeout_ms: int) -> None:
        """The app role's own statement timeout: a transaction-mode pooler (PgBouncer) cannot pass the one the app
        sends at connection start, so behind it this is the one in force (the same value either way)."""
        with psycopg.connect(self._dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                sql.Identifier(APP_ROLE), sql.Literal(f"{int(statement_timeout_ms)}ms")))

    def _create_extensions(self, database: str) -> None:
        with psycopg.connect(self._dsn(database), autocommit=True) as conn:
            for ext in EXTENSIONS:
                conn.execute(sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(ext)))


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _find_bindir() -> str:
    for candidate in DEFAULT_BINDIRS:
        if Path(candidate, "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    return str(Path(found).resolve().parent) if found else DEFAULT_BINDIRS[0]


def private_cluster(settings) -> PrivateCluster:
    """The private cluster the settings describe (under GISSERVER_DATA_DIR, on GISSERVER_PG_PORT); its replicas
    live in GISSERVER_DATA_DIR/replicas."""
    return PrivateCluster(settings.pg_data_dir, settings.pg_port, settings.pg_database, settings.pg_bindir,
                          replicas_dir=settings.data_dir / "replicas", shared_buffers=settings.pg_shared_buffers,
                          stat_statements=settings.pg_stat_statements)


def resolve_database_url(settings) -> str:
    """The configured URL, or the private cluster's when none is configured."""
    if settings.database_url:
        return settings.database_url
    return private_cluster(settings).url()
