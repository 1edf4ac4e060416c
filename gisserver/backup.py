"""Backups: the database as a pg_dump custom-format archive plus the stored files, in one tar.

Restores skip the extension entries of the dump: PostGIS must be created by a superuser, so the
target database gets its extensions first (`gisserver db up` does this on the private cluster).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from gisserver.core.cluster import EXTENSIONS
from gisserver.core.exceptions import Conflict, Invalid

DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
FILES_DIR = "files"
# Folders under the data directory that hold stored user files (photos, uploads, snapshots).
STORED_FILE_DIRS = ("photos", "snapshots", "files")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    tables: dict[str, int]
    files: int


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment carrying it."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    dsn = (
        f"host={parsed.host or '127.0.0.1'} port={parsed.port or 5432} dbname={parsed.database} user={parsed.username}"
    )
    return dsn, env


def _extension_owned(listing_line: str) -> bool:
    """Entries the extensions create themselves (PostGIS's spatial_ref_sys rows included)."""
    return " EXTENSION " in listing_line or " spatial_ref_sys " in listing_line


def _pg_tool(name: str, bindir: str) -> str:
    candidate = Path(bindir or "/usr/lib/postgresql/15/bin") / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


_TABLES = text(
    "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
    "WHERE schemaname IN ('public', 'layer_data') AND tablename <> 'spatial_ref_sys' ORDER BY 1"
)


def _table_names(conn) -> list[str]:
    return conn.execute(_TABLES).scalars().all()


def _contents(conn) -> dict[str, dict]:
    """Row count and an order-independent checksum of every row's text, per table."""
    result = {}
    for name in _table_names(conn):
        # Names come from the catalog (quote_ident), never from user input. The checksum sums the
        # first 60 bits of each row's md5: constant memory however large the table.
        count, checksum = conn.execute(text(
            f"SELECT count(*), coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text "  # noqa: S608
            f"FROM {name} AS t"
        )).one()
        result[name] = {"rows": count, "checksum": checksum}
    return result


def table_counts(url: str) -> dict[str, int]:
    """Row count of every table in the public and layer_data schemas."""
    return {name: c["rows"] for name, c in table_contents(url).items()}


def table_contents(url: str) -> dict[str, dict]:
    """Row count and content checksum of every table in the public and layer_data schemas."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return _contents(conn)
    finally:
        engine.dispose()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_files(data_dir: Path) -> dict[str, Path]:
    """Archive name -> path of every stored user file under *data_dir*."""
    files = {}
    for folder in STORED_FILE_DIRS:
        source = Path(data_dir) / folder
        if source.is_dir():
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    files[f"{FILES_DIR}/{folder}/{path.relative_to(source)}"] = path
    return files


def create_backup(url: str, data_dir: Path, out: Path, bindir: str = "") -> BackupResult:
    """Write a backup archive of the database at *url* and the files under *data_dir*.

    pg_dump and the manifest's row counts and checksums read one exported snapshot, so the
    manifest describes exactly what the dump holds even while the service keeps writing.
    """
    dsn, env = _libpq(url)
    out = Path(out)
    engine = create_engine(url, isolation_level="REPEATABLE READ")
    try:
        with tempfile.TemporaryDirectory() as tmp, engine.connect() as conn, conn.begin():
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            dump = Path(tmp) / DUMP_NAME
            proc = subprocess.run(  # noqa: S603 - pg_dump from the configured bindir, fixed arguments
                [_pg_tool("pg_dump", bindir), "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={dump}", dsn],
                env=env,
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                raise Invalid(f"pg_dump failed: {proc.stderr.strip()}")
            contents = _contents(conn)
            files = _stored_files(data_dir)
            manifest = {
                "format": 2,
                "created_at": datetime.now(UTC).isoformat(),
                "tables": {name: c["rows"] for name, c in contents.items()},
                "checksums": {name: c["checksum"] for name, c in contents.items()},
                "files": {name: _sha256(path) for name, path in files.items()},
            }
            (Path(tmp) / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
            out.parent.mkdir(parents=True, exist_ok=True)
            with tarfile.open(out, "w") as tar:
                tar.add(Path(tmp) / MANIFEST_NAME, MANIFEST_NAME)
                tar.add(dump, DUMP_NAME)
                for name, path in files.items():
                    tar.add(path, name)
    finally:
        engine.dispose()
    return BackupResult(out, manifest["tables"], len(files))


def _check_archived_files(root: Path, manifest: dict) -> None:
    for name, digest in manifest.get("files", {}).items():
        path = root / name
        if not path.is_file() or _sha256(path) != digest:
            raise Invalid(f"the backup archive is damaged: {name} is missing or changed; nothing was restored",
                          {"file": name})


def verify_restore(url: str, data_dir: Path, manifest: dict) -> None:
    """Compare the restored database and files with the backup's manifest; raise on any difference."""
    if manifest.get("format", 1) < 2:
        return  # older backups carry row counts only
    contents = table_contents(url)
    differing = sorted(
        name for name in manifest["checksums"]
        if contents.get(name, {}).get("checksum") != manifest["checksums"][name]
        or contents.get(name, {}).get("rows") != manifest["tables"][name]
    )
    files = _stored_files(data_dir)
    damaged = sorted(name for name, digest in manifest["files"].items()
                     if name not in files or _sha256(files[name]) != digest)
    if differing or damaged:
        raise Invalid("the restored data differs from the backup", {"tables": differing, "files": damaged})


def check_extensions(url: str) -> None:
    """Refuse, naming them and the SQL a superuser must run, when the target lacks extensions gisserver needs.

    Restores skip the dump's extension entries (only a superuser may create PostGIS), so without this check
    pg_restore would fail midway on the first object that uses one (`gin_trgm_ops`, a geometry column).
    """
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            installed = set(conn.execute(text("SELECT extname FROM pg_extension")).scalars())
            available = set(conn.execute(text("SELECT name FROM pg_available_extensions")).scalars())
    finally:
        engine.dispose()
    missing = [name for name in EXTENSIONS if name not in installed]
    if not missing:
        return
    statements = [f"CREATE EXTENSION IF NOT EXISTS {name};" for name in missing]
    lines = [f"the target database lacks the extension(s) {', '.join(missing)}; nothing was restored.",
             "A superuser must run, in that database:", *(f"  {s}" for s in statements)]
    unavailable = [name for name in missing if name not in available]
    if unavailable:
        lines.append(f"and first install them on its server ({', '.join(unavailable)}: Debian packages "
                     "postgresql-15-postgis-3 and postgresql-contrib)")
    raise Invalid("\n".join(lines), {"missing": missing, "sql": statements})


def restore_backup(url: str, data_dir: Path, archive: Path, *, replace: bool = False, bindir: str = "") -> dict:
    """Restore *archive* into the database at *url* and *data_dir*; returns the manifest."""
    archive = Path(archive)
    if not tarfile.is_tarfile(archive):
        raise Invalid(f"{archive} is not a gisserver backup archive")
    check_extensions(url)
    existing = {k: v for k, v in table_counts(url).items() if v and not k.endswith("alembic_version")}
    if existing and not replace:
        raise Conflict("the target database holds data; pass --replace to overwrite it", {"tables": sorted(existing)})
    dsn, env = _libpq(url)
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in members:
            # A backup is ours, but a tampered one must not write outside the restore folder.
            if not (member.isfile() or member.isdir()) or member.name.startswith("/") or ".." in member.name.split("/"):
                raise Invalid(f"unexpected entry in backup: {member.name}")
        tar.extractall(tmp, filter="data")
        manifest = json.loads((Path(tmp) / MANIFEST_NAME).read_text())
        _check_archived_files(Path(tmp), manifest)  # before anything is overwritten
        listing = subprocess.run(  # noqa: S603 - pg_restore from the configured bindir, fixed arguments
            [_pg_tool("pg_restore", bindir), "--list", str(Path(tmp) / DUMP_NAME)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries = Path(tmp) / "restore.list"
        entries.write_text("\n".join(line for line in listing.splitlines() if not _extension_owned(line)))
        proc = subprocess.run(  # noqa: S603 - pg_restore from the configured bindir, fixed arguments
            [
                _pg_tool("pg_restore", bindir),
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                f"--use-list={entries}",
                f"--dbname={dsn}",
                str(Path(tmp) / DUMP_NAME),
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise Invalid(f"pg_restore failed: {proc.stderr.strip()}")
        stored = Path(tmp) / FILES_DIR
        if stored.is_dir():
            for folder in stored.iterdir():
                target = Path(data_dir) / folder.name
                if target.exists():
                    shutil.rmtree(target)
                shutil.copytree(folder, target)
    verify_restore(url, data_dir, manifest)
    return manifest
