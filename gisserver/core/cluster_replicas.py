"""Streaming replicas of the private cluster on this machine: `gisserver db replica add|list|remove`, `db promote`.

A replica is a pg_basebackup copy of the primary in its own data folder (GISSERVER_DATA_DIR/replicas/<name>), on its
own port, streaming from the primary through a replication slot of its own (so the primary keeps the WAL it has not
received yet, up to max_slot_wal_keep_size). Like the primary it runs as the postgres user, and it is itself a
PrivateCluster: the same commands start, stop and inspect it, with a copy of the primary's passwords (its roles are
the primary's).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from psycopg import sql

from gisserver.core.cluster import ClusterError, PrivateCluster, port_in_use

REPLICATION_ROLE = "gisserver_replication"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_PORT_LINE = re.compile(r"^port\s*=\s*(\d+)", re.M)
STANDBY_SETTINGS = "standby.conf"
STREAMING_WAIT_SECONDS = 60.0

# The primary's own measure of each standby: the time between a commit's WAL flush there and its replay on the
# standby (NULL once the standby has caught up and nothing new came).
_REPLICATION = """
SELECT application_name, state, coalesce(extract(epoch FROM replay_lag), 0) AS lag_seconds
FROM pg_stat_replication
"""


@dataclass(frozen=True)
class ReplicaInfo:
    name: str
    data_dir: Path
    port: int
    running: bool
    role: str  # standby, or primary once promoted
    url: str
    lag_seconds: float | None = None
    receiver: str | None = None  # streaming, or None when not connected to its primary


def slot_name(name: str) -> str:
    return f"gisserver_{name}"


class Replicas:
    """The replicas of one private cluster (its replicas_dir)."""

    def __init__(self, primary: PrivateCluster):
        self.primary = primary
        self.root = primary.replicas_dir

    def cluster(self, name: str, port: int | None = None) -> PrivateCluster:
        data_dir = self.root / name
        if port is None:
            port = self._port_of(data_dir)
        # Sized like its primary: a promoted replica takes over the primary's load.
        return PrivateCluster(data_dir, port, self.primary.database, self.primary.bindir, replicas_dir=self.root,
                              shared_buffers=self.primary.shared_buffers,
                              stat_statements=self.primary.stat_statements)

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir()
                      if (p / "PG_VERSION").exists() and p.resolve() != self.primary.data_dir)

    @staticmethod
    def _port_of(data_dir: Path) -> int:
        try:
            found = _PORT_LINE.search((data_dir / "gisserver.conf").read_text())
        except OSError:
            found = None
        if not found:
            raise ClusterError(f"{data_dir} holds no replica made by gisserver (no port in its gisserver.conf)")
        return int(found.group(1))

    # -- add --------------------------------------------------------------------------------------

    def add(self, name: str, port: int | None = None, apply_delay_ms: int = 0) -> PrivateCluster:
        """Copy the running primary into a new replica folder and start it streaming; returns the replica."""
        if not _NAME.match(name):
            raise ClusterError("a replica's name is lower-case letters, digits and _ (e.g. replica1)")
        if name in self.names() or (self.root / name).exists():
            raise ClusterError(f"{self.root / name} already exists: remove the replica first")
        if self.primary._live_pid() is None:
            raise ClusterError("the primary is not running: start it first (gisserver db up)")
        if self.primary.is_standby:
            raise ClusterError("this cluster is itself a replica: add replicas to its primary")
        port = port or self._free_port()
        if port_in_use(port):
            raise ClusterError(f"127.0.0.1:{port} is already taken; pick another --port")
        password = self._replication_role()
        replica = self.cluster(name, port)
        replica.write_secrets({**self.primary._secrets(), "replication_password": password})
        self.root.mkdir(parents=True, exist_ok=True)
        replica.data_dir.mkdir(mode=0o700)
        replica._ensure_traversable()
        replica._chown_to_server(replica.data_dir)
        conninfo = (f"host=127.0.0.1 port={self.primary.port} user={REPLICATION_ROLE} password={password} "
                    f"application_name={name}")
        try:
            # -R writes standby.signal and primary_conninfo/primary_slot_name; -C -S creates the slot first, so no
            # WAL written during the copy is recycled before the replica asks for it.
            replica._run_as_server([
                replica._bin("pg_basebackup"), "--pgdata", str(replica.data_dir), "--dbname", conninfo,
                "--wal-method=stream", "--write-recovery-conf", "--create-slot", "--slot", slot_name(name),
                "--checkpoint=fast", "--no-password",
            ])
        except ClusterError:
            self._drop_slot(name)
            shutil.rmtree(replica.data_dir, ignore_errors=True)
            replica.secrets_path.unlink(missing_ok=True)
            raise
        # The primary's log came along in the copy; the replica starts its own.
        replica.log_path.unlink(missing_ok=True)
        self._write_standby_settings(replica, apply_delay_ms)
        replica.up()
        self._wait_streaming(name, replica)
        return replica

    def _wait_streaming(self, name: str, replica: PrivateCluster, timeout: float = STREAMING_WAIT_SECONDS) -> None:
        """Return once the primary streams to the new replica: it accepts connections a moment before its WAL
        receiver has connected (longer on a busy machine), and `add` promises a streaming replica."""
        deadline = time.monotonic() + timeout
        while True:
            with psycopg.connect(self.primary._dsn(), autocommit=True) as conn:
                if conn.execute("SELECT 1 FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                                (name,)).fetchone():
                    return
            if time.monotonic() > deadline:
                raise ClusterError(f"replica {name} started but does not stream from the primary after "
                                   f"{timeout:.0f} s: see {replica.log_path}")
            time.sleep(0.2)

    def _free_port(self) -> int:
        taken = {self._port_of(self.root / n) for n in self.names()}
        port = self.primary.port + 1
        while port in taken or port_in_use(port):
            port += 1
        return port

    def _replication_role(self) -> str:
        password = self.primary.secret("replication_password")
        with psycopg.connect(self.primary._dsn(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (REPLICATION_ROLE,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE {} WITH REPLICATION LOGIN PASSWORD {}").format(
                sql.Identifier(REPLICATION_ROLE), sql.Literal(password)))
        return password

    @staticmethod
    def _write_standby_settings(replica: PrivateCluster, apply_delay_ms: int) -> None:
        settings = replica.data_dir / STANDBY_SETTINGS
        settings.write_text(
            "# written by `gisserver db replica add`\n"
            "hot_standby = on\n"
            # Without feedback, the primary's vacuum removes rows a long read on the replica still needs, and
            # the replica cancels that read (a recovery conflict). With it the primary keeps them a little longer.
            "hot_standby_feedback = on\n"
            # Only for tests and drills: a replica that replays everything this much later.
            f"recovery_min_apply_delay = '{int(apply_delay_ms)}ms'\n"
        )
        replica._chown_to_server(settings)

    def set_apply_delay(self, name: str, apply_delay_ms: int) -> None:
        """Make a replica replay this much later (a drill for read-your-writes); takes effect on reload."""
        replica = self.cluster(name)
        self._write_standby_settings(replica, apply_delay_ms)
        replica._run_as_server([replica._bin("pg_ctl"), "-D", str(replica.data_dir), "reload"])

    # -- list -------------------------------------------------------------------------------------

    def list(self) -> list[ReplicaInfo]:
        streaming = {}
        if self.primary._live_pid() is not None:
            try:
                with psycopg.connect(self.primary._dsn(), autocommit=True) as conn:
                    streaming = {row[0]: (row[1], float(row[2])) for row in conn.execute(_REPLICATION)}
            except psycopg.OperationalError:
                pass
        found = []
        for name in self.names():
            replica = self.cluster(name)
            running = replica._live_pid() is not None
            role = "standby" if replica.is_standby else "primary (promoted)"
            receiver, lag = streaming.get(name, (None, None))
            found.append(ReplicaInfo(name, replica.data_dir, replica.port, running, role,
                                     replica.url(hide_password=True), lag if running else None, receiver))
        return found

    # -- start, stop, remove ----------------------------------------------------------------------

    def up(self) -> list[str]:
        done = []
        for name in self.names():
            replica = self.cluster(name)
            if replica._live_pid() is None:
                replica.up()
                done.append(f"started replica {name} on 127.0.0.1:{replica.port}")
        return done

    def down(self) -> list[str]:
        return [f"stopped replica {name}" for name in self.names() if self.cluster(name).down()]

    def remove(self, name: str) -> list[str]:
        """Stop a replica, drop its slot on the primary and delete its folder."""
        if name not in self.names():
            raise ClusterError(f"no replica named {name} in {self.root}")
        replica = self.cluster(name)
        if not replica.is_standby:
            raise ClusterError(f"{name} was promoted: it is a primary now, and this would delete its data. Stop it "
                               f"with GISSERVER_PG_DIR={replica.data_dir} gisserver db down, and move the folder "
                               "away yourself if that is really meant")
        done = []
        if replica.down():
            done.append(f"stopped replica {name}")
        if self._drop_slot(name):
            done.append(f"dropped replication slot {slot_name(name)} on the primary")
        elif replica.is_standby:
            done.append(f"the primary did not answer: drop the slot {slot_name(name)} there when it is back")
        shutil.rmtree(replica.data_dir)
        replica.secrets_path.unlink(missing_ok=True)
        done.append(f"removed {replica.data_dir}")
        return done

    def _drop_slot(self, name: str) -> bool:
        if self.primary._live_pid() is None:
            return False
        try:
            with psycopg.connect(self.primary._dsn(), autocommit=True) as conn:
                conn.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                             "WHERE slot_name = %s", (slot_name(name),))
        except psycopg.Error:
            return False
        return True

    # -- promote ----------------------------------------------------------------------------------

    def promote(self, name: str, *, force: bool = False) -> PrivateCluster:
        """Make a replica the primary after the primary is lost; the old primary's folder is marked so that it
        cannot start again as a second primary."""
        if name not in self.names():
            raise ClusterError(f"no replica named {name} in {self.root}")
        replica = self.cluster(name)
        if not replica.is_standby:
            raise ClusterError(f"{name} is already a primary")
        if replica._live_pid() is None:
            replica.up()
        if not force and (self.primary._live_pid() is not None or port_in_use(self.primary.port)):
            raise ClusterError(
                f"the primary still answers on 127.0.0.1:{self.primary.port}: promoting now would make two primaries. "
                "Stop it first (gisserver db down), or pass --force if it is on its way out"
            )
        replica._run_as_server([replica._bin("pg_ctl"), "-D", str(replica.data_dir), "-w", "-t", "60", "promote"])
        if self.primary.data_dir.is_dir():
            mark = {"promoted": name, "data_dir": str(replica.data_dir), "port": replica.port,
                    "at": datetime.now(UTC).isoformat(timespec="seconds")}
            self.primary.superseded_path.write_text(json.dumps(mark))
        return replica
