"""The whole multi-server layout on one machine, on 127.0.0.1 only (run it through scripts/cluster.sh).

    primary (the private cluster) --streaming--> replica1
       ^ PgBouncer, transaction mode                 ^ reads of the views declared on_replica
    app servers: `gisserver serve` x 2 (and `gisserver worker` when the command exists)
       ^ HAProxy: balancing, health checks on /health
    nginx: the one address clients use; caches public vector tiles

`up` starts whatever is not running (so it also restarts a killed app server), `down` stops everything it
started, `status` says what runs and what each app server's /health reports, `promote` replaces a lost primary by
the replica and re-points PgBouncer and the app servers. Ports and folders come from the environment (see
scripts/cluster.sh); every process's pid file and log is in GISSERVER_DATA_DIR/cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from gisserver.core.cluster import PrivateCluster, private_cluster
from gisserver.core.cluster_replicas import Replicas
from gisserver.core.config import Settings

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "cluster"
BIN = Path(sys.executable).parent
NEEDED = {"pgbouncer": "pgbouncer", "haproxy": "haproxy", "nginx": "nginx-light"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


@dataclass
class Layout:
    """Ports and folders, from the environment."""

    settings: Settings = field(default_factory=Settings.from_env)
    replica_name: str = field(default_factory=lambda: os.environ.get("CLUSTER_REPLICA_NAME", "replica1"))

    def __post_init__(self):
        env = os.environ
        self.state_dir = Path(env.get("CLUSTER_DIR") or self.settings.data_dir / "cluster").resolve()
        self.replica_port = _env_int("CLUSTER_REPLICA_PORT", self.settings.pg_port + 1)
        self.pgbouncer_port = _env_int("CLUSTER_PGBOUNCER_PORT", 6432)
        self.app_ports = [int(p) for p in (env.get("CLUSTER_APP_PORTS") or "5001 5002").split()]
        self.haproxy_port = _env_int("CLUSTER_HAPROXY_PORT", 8081)
        self.port = _env_int("CLUSTER_PORT", 8080)
        self.workers = _env_int("CLUSTER_WORKERS", 2)
        self.threads = _env_int("CLUSTER_THREADS", 4)
        self.demo = env.get("CLUSTER_DEMO", "1") not in ("0", "no", "false")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Topology:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.state_dir = layout.state_dir
        self.as_root = os.geteuid() == 0

    # -- the database side ----------------------------------------------------------------------

    def primary(self) -> PrivateCluster:
        """The private cluster, or the replica that replaced it (`promote` records which in primary.json)."""
        recorded = self.state_dir / "primary.json"
        settings = self.layout.settings
        if recorded.exists():
            data = json.loads(recorded.read_text())
            return PrivateCluster(Path(data["data_dir"]), data["port"], settings.pg_database, settings.pg_bindir,
                                  replicas_dir=settings.data_dir / "replicas",
                                  shared_buffers=settings.pg_shared_buffers,
                                  stat_statements=settings.pg_stat_statements)
        return private_cluster(settings)

    def replicas(self) -> Replicas:
        return Replicas(self.primary())

    def _standby(self) -> PrivateCluster | None:
        replicas = self.replicas()
        for info in replicas.list():
            if info.role == "standby":
                return replicas.cluster(info.name)
        return None

    def _database_env(self) -> dict[str, str]:
        """What an app server needs to reach the databases: PgBouncer, the primary directly, the replica."""
        primary = self.primary()
        password = primary._secrets()["app_password"]
        name = primary.database

        def url(port: int) -> str:
            return f"postgresql://gisserver:{password}@127.0.0.1:{port}/{name}"

        standby = self._standby()
        return {
            "GISSERVER_DATABASE_URL": url(self.layout.pgbouncer_port),
            "GISSERVER_DATABASE_POOLED": "1",
            "GISSERVER_DATABASE_DIRECT_URL": url(primary.port),
            "GISSERVER_DATABASE_REPLICA_URLS": url(standby.port) if standby else "",
            # nginx, then HAProxy: the resident's address is the second from the right in X-Forwarded-For.
            "GISSERVER_PROXY_HOPS": "2",
        }

    def _gisserver(self, *args: str, env: dict | None = None) -> None:
        subprocess.run([str(BIN / "gisserver"), *args], check=True, env={**os.environ, **(env or {})})

    def _database_up(self) -> list[str]:
        """What `gisserver db up`, `db migrate` and `db replica add` do, in this process (each command would
        import the whole app again: seconds apiece)."""
        from gisserver.migrate import upgrade

        primary = self.primary()
        steps = primary.up()
        primary.apply_role_settings(self.layout.settings.db_statement_timeout_ms)
        replicas = Replicas(primary)
        steps += replicas.up()
        upgrade(primary.url())
        if self.layout.demo:
            self._gisserver("demo", "load", env={"GISSERVER_PG_DIR": str(primary.data_dir),
                                                 "GISSERVER_PG_PORT": str(primary.port)})
        if self._standby() is None:
            name = self.layout.replica_name
            while (replicas.root / name).exists():  # taken by a replica that was promoted: replica1 -> replica2
                stem, number = re.match(r"^(.*?)(\d*)$", name).groups()
                name = f"{stem}{int(number or 1) + 1}"
            port = self.layout.replica_port
            if port == primary.port or _listening(port):
                port = None
            made = replicas.add(name, port)
            steps.append(f"made replica {name} (pg_basebackup), streaming on 127.0.0.1:{made.port}")
        return steps

    # -- processes ------------------------------------------------------------------------------

    def pid_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.pid"

    def running(self, name: str) -> int | None:
        try:
            pid = int(self.pid_file(name).read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def _start(self, name: str, argv: list[str], env: dict | None = None, port: int | None = None) -> bool:
        """Start a process in its own session (its log in the state folder), unless it runs; True if started."""
        if self.running(name):
            return False
        if port and _listening(port):
            raise SystemExit(f"127.0.0.1:{port} (for {name}) is taken by another program; set its port variable")
        log = (self.state_dir / f"{name}.log").open("ab")
        process = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=log, stderr=log,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=ROOT)
        self.pid_file(name).write_text(str(process.pid))
        return True

    def _stop(self, *names: str, timeout: float = 30) -> list[str]:
        """Ask each to stop (SIGTERM: gunicorn lets running requests finish), wait, then kill what is left."""
        pids = {name: self.running(name) for name in names}
        for name, pid in pids.items():
            if pid is None:
                self.pid_file(name).unlink(missing_ok=True)
            else:
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, pid in pids.items():
            if pid is None:
                continue
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
            self.pid_file(name).unlink(missing_ok=True)
        return [name for name, pid in pids.items() if pid is not None]

    def _render(self, template: str, target: Path, **values) -> bool:
        """Write a configuration from its template in scripts/cluster; True when it changed."""
        text = (TEMPLATES / template).read_text()
        values = {"state_dir": str(self.state_dir), **{k: str(v) for k, v in values.items()}}
        rendered = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)
        changed = not target.exists() or target.read_text() != rendered
        target.write_text(rendered)
        return changed

    def _chown(self, path: Path, user: str) -> None:
        if self.as_root:
            entry = pwd.getpwnam(user)
            for p in [path, *path.rglob("*")]:
                os.chown(p, entry.pw_uid, entry.pw_gid)

    # -- components ------------------------------------------------------------------------------

    def _pgbouncer(self, primary_port: int) -> list[str]:
        folder = self.state_dir / "pgbouncer"
        folder.mkdir(mode=0o700, exist_ok=True)
        primary = self.primary()
        password = primary._secrets()["app_password"]
        userlist = folder / "userlist.txt"
        userlist.write_text(f'"gisserver" "{password}"\n')
        userlist.chmod(0o600)
        self._render("pgbouncer.ini", folder / "pgbouncer.ini", primary_port=primary_port,
                     pgbouncer_port=self.layout.pgbouncer_port)
        # PgBouncer refuses to run as root: like PostgreSQL it runs as the postgres user.
        self._chown(folder, "postgres")
        pid = _read_pid(folder / "pgbouncer.pid")
        if pid and _alive(pid):
            os.kill(pid, signal.SIGHUP)  # re-reads its [databases]: a changed primary takes effect
            return []
        if _listening(self.layout.pgbouncer_port):
            raise SystemExit(f"127.0.0.1:{self.layout.pgbouncer_port} is taken by another program; "
                             "set CLUSTER_PGBOUNCER_PORT")
        argv = ["pgbouncer", "-d", str(folder / "pgbouncer.ini")]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        subprocess.run(argv, check=True)
        # Ours is up when it has written its pid file and lives (a port that answers could be another program's,
        # taken since the check above); its log says why when it does not.
        deadline = time.monotonic() + 10
        while not ((pid := _read_pid(folder / "pgbouncer.pid")) and _alive(pid)):
            if time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                raise SystemExit(f"PgBouncer did not start on 127.0.0.1:{self.layout.pgbouncer_port}\n{tail}")
            time.sleep(0.1)
        _wait_port(self.layout.pgbouncer_port, 10)
        shutil.copy(folder / "pgbouncer.pid", self.pid_file("pgbouncer"))
        return [f"started PgBouncer (transaction pooling) on 127.0.0.1:{self.layout.pgbouncer_port}"]

    def _apps(self) -> list[str]:
        """Start the app servers that do not run; restart, one at a time, those started with other databases (a
        replica added or gone, a new primary), so that the balancer always has one to send to."""
        env = self._database_env()
        # What an app server was started with: its databases, the GISSERVER_* settings passed on, its size.
        given = {k: v for k, v in os.environ.items() if k.startswith("GISSERVER_")}
        shape = [self.layout.workers, self.layout.threads]
        fingerprint = hashlib.sha256(json.dumps([env, given, shape], sort_keys=True).encode()).hexdigest()
        done, started = [], []
        for port in self.layout.app_ports:
            name = f"app-{port}"
            recorded = self.state_dir / f"{name}.databases"
            stale = self.running(name) and (not recorded.exists() or recorded.read_text() != fingerprint)
            if stale:
                self._wait_started(started)  # the others first
                self._stop(name)
                _wait_free(port, 20)
            argv = [str(BIN / "gisserver"), "serve", "--port", str(port), "--workers", str(self.layout.workers),
                    "--threads", str(self.layout.threads)]
            if self._start(name, argv, env, port):
                recorded.write_text(fingerprint)
                started.append((name, port))
                done.append(f"{'restarted' if stale else 'started'} app server on 127.0.0.1:{port}")
                if stale:
                    self._wait_started(started)
        self._wait_started(started)
        if _has_worker_command():
            done += self._worker(env, fingerprint)
        return done

    def _worker(self, env: dict, fingerprint: str) -> list[str]:
        """One `gisserver worker`; restarted when the databases changed (it holds the primary's address)."""
        # A worker LISTENs and holds job locks: a session of its own, so the primary directly.
        worker_env = {**env, "GISSERVER_DATABASE_URL": env["GISSERVER_DATABASE_DIRECT_URL"],
                      "GISSERVER_DATABASE_POOLED": "0"}
        recorded = self.state_dir / "worker.databases"
        stale = self.running("worker") and (not recorded.exists() or recorded.read_text() != fingerprint)
        if stale:
            self._stop("worker")  # SIGTERM: the jobs it runs finish first, the others wait in the queue
        if not self._start("worker", [str(BIN / "gisserver"), "worker"], worker_env):
            return []
        recorded.write_text(fingerprint)
        return [f"{'restarted' if stale else 'started'} gisserver worker"]

    def _wait_started(self, started: list[tuple[str, int]]) -> None:
        for name, port in started:
            _wait_health(f"http://127.0.0.1:{port}", 60, self.state_dir / f"{name}.log")

    def _haproxy(self) -> list[str]:
        config = self.state_dir / "haproxy.cfg"
        servers = "\n".join(f"    server app{n} 127.0.0.1:{port}" for n, port in enumerate(self.layout.app_ports, 1))
        run_as = "    user nobody\n    group nogroup" if self.as_root else ""
        changed = self._render("haproxy.cfg", config, haproxy_port=self.layout.haproxy_port, servers=servers,
                               run_as=run_as, server_maxconn=self.layout.workers * self.layout.threads)
        running = self.running("haproxy")
        if running and not changed:
            return []
        if not running and _listening(self.layout.haproxy_port):
            raise SystemExit(f"127.0.0.1:{self.layout.haproxy_port} is taken; set CLUSTER_HAPROXY_PORT")
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        # A new configuration: a new HAProxy takes over the port, the old one finishes what it holds (-sf).
        handover = ["-sf", str(running)] if running else []
        subprocess.run(["haproxy", "-D", "-p", str(self.pid_file("haproxy")), "-f", str(config), *handover],
                       check=True)
        _wait_port(self.layout.haproxy_port, 10)
        verb = "reloaded" if running else "started"
        return [f"{verb} HAProxy on 127.0.0.1:{self.layout.haproxy_port}, checking /health of each app server"]

    def _nginx(self) -> list[str]:
        folder = self.state_dir / "nginx"
        for sub in ("cache", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        run_as = "user nobody nogroup;" if self.as_root else ""
        changed = self._render("nginx.conf", folder / "nginx.conf", port=self.layout.port,
                               haproxy_port=self.layout.haproxy_port,
                               max_body_mb=self.layout.settings.max_upload_mb + 1, run_as=run_as)
        self._chown(folder / "cache", "nobody")
        self._chown(folder / "tmp", "nobody")
        argv = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
        if self.running("nginx"):
            if not changed:
                return []
            subprocess.run([*argv, "-t", "-q"], check=True)
            subprocess.run([*argv, "-s", "reload"], check=True)
            return [f"reloaded nginx on 127.0.0.1:{self.layout.port}"]
        if _listening(self.layout.port):
            raise SystemExit(f"127.0.0.1:{self.layout.port} is taken; set CLUSTER_PORT")
        subprocess.run([*argv, "-t", "-q"], check=True)
        subprocess.run(argv, check=True)
        _wait_port(self.layout.port, 10)
        shutil.copy(folder / "nginx.pid", self.pid_file("nginx"))
        return [f"started nginx with the tile cache on 127.0.0.1:{self.layout.port}"]

    # -- commands ---------------------------------------------------------------------------------

    def up(self) -> None:
        missing = [package for program, package in NEEDED.items() if shutil.which(program) is None]
        if missing:
            raise SystemExit(f"missing Debian packages: {' '.join(missing)} (scripts/setup.sh install adds them)")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        steps = self._database_up()
        steps += self._pgbouncer(self.primary().port)
        steps += self._apps()
        steps += self._haproxy()
        steps += self._nginx()
        for step in steps:
            print(step)
        _wait_health(self.layout.base_url, 30, self.state_dir / "nginx" / "error.log")
        print(f"serving on {self.layout.base_url} (state, pid files and logs in {self.state_dir})")

    def down(self) -> None:
        # Front to back: nothing is left sending requests to a part that is gone.
        for group in (("nginx",), ("haproxy",), ("worker", *(f"app-{p}" for p in self.layout.app_ports)),
                      ("pgbouncer",)):
            for name in self._stop(*group):
                print(f"stopped {name}")
        primary = self.primary()
        for step in Replicas(primary).down():
            print(step)
        if primary.down():
            print(f"stopped the primary on 127.0.0.1:{primary.port}")

    def status(self) -> int:
        names = ["pgbouncer", *(f"app-{p}" for p in self.layout.app_ports), "worker", "haproxy", "nginx"]
        for name in names:
            pid = self.running(name)
            if name != "worker" or pid:
                print(f"{name:12} {'running, pid ' + str(pid) if pid else 'stopped'}")
        primary = self.primary()
        print(f"{'primary':12} 127.0.0.1:{primary.port} {'running' if primary.status().running else 'stopped'}")
        for info in self.replicas().list():
            lag = f", lag {info.lag_seconds:.3f}s" if info.lag_seconds is not None else ""
            print(f"{info.name:12} 127.0.0.1:{info.port} {'running' if info.running else 'stopped'}, {info.role}{lag}")
        healthy = True
        for port in self.layout.app_ports:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
                    engines = json.load(answer)["engines"]
                print(f"app-{port} /health: " + ", ".join(
                    f"{e['name']} {e['status']}" + (f" (lag {e['lag_seconds']}s)" if e.get("lag_seconds") else "")
                    for e in engines))
            except (OSError, ValueError) as exc:
                healthy = False
                print(f"app-{port} /health: {exc}")
        return 0 if healthy else 3

    def promote(self) -> None:
        """The primary is lost: promote the replica, point PgBouncer at it, restart the app servers one by one."""
        standby = self._standby()
        if standby is None:
            raise SystemExit("no standby replica to promote")
        old = self.primary()
        env = {"GISSERVER_PG_DIR": str(old.data_dir), "GISSERVER_PG_PORT": str(old.port)}
        self._gisserver("db", "promote", standby.data_dir.name, env=env)
        (self.state_dir / "primary.json").write_text(
            json.dumps({"data_dir": str(standby.data_dir), "port": standby.port}))
        # The new primary's secrets are a copy of the old one's: same roles, same passwords.
        self._pgbouncer(standby.port)
        print(f"PgBouncer now sends transactions to 127.0.0.1:{standby.port}")
        # The app servers write through PgBouncer, so their requests reach the new primary at once, without a
        # restart. What holds a session of its own (the worker, each app server's live-map LISTEN) has the old
        # primary's address: restart them, the app servers one at a time so that the balancer always has one.
        for step in self._apps():
            print(step)
        print("app servers write and read on the new primary; `scripts/cluster.sh up` builds a new replica and "
              "restarts them one at a time to read from it")


def _has_worker_command() -> bool:
    """Whether this gisserver has a `worker` command (the notifications' outbox worker)."""
    import click

    from gisserver.cli import main

    # Feature commands are loaded when asked for (gisserver.cli.CommandGroup): ask for it.
    return main.get_command(click.Context(main), "worker") is not None


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        # A child of ours that exited stays a zombie until reaped; it is not alive.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _listening(port):
        if time.monotonic() > deadline:
            raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")
        time.sleep(0.1)


def _wait_free(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _listening(port) and time.monotonic() < deadline:
        time.sleep(0.1)


def _wait_health(base: str, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            pass
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(f"{base}/health does not answer 200 after {timeout:.0f} s\n{tail}")
        time.sleep(0.2)


def main(argv: list[str]) -> int:
    commands = {"up", "down", "status", "promote"}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: scripts/cluster.sh up|down|status|promote", file=sys.stderr)
        return 2
    topology = Topology(Layout())
    result = getattr(topology, argv[0])()
    return result or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
