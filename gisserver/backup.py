"""Backups: the database as a pg_dump custom-format archive plus the stored files, in one tar.

Restores skip the extension entries of the dump: PostGIS must be created by a superuser, so the
target database gets its extensions first (`gisserver db up` does this on the private cluster).
"""

from __future__ import annotations

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

from gisserver.exceptions import Conflict, Invalid

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


def table_counts(url: str) -> dict[str, int]:
    """Row count of every table in the public and layer_data schemas."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            names = (
                conn.execute(
                    text(
                        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                        "WHERE schemaname IN ('public', 'layer_data') AND tablename <> 'spatial_ref_sys' ORDER BY 1"
                    )
                )
                .scalars()
                .all()
            )
            # Names come from the catalog (quote_ident above), never from user input.
            return {n: conn.execute(text(f"SELECT count(*) FROM {n}")).scalar_one() for n in names}  # noqa: S608
    finally:
        engine.dispose()


def create_backup(url: str, data_dir: Path, out: Path, bindir: str = "") -> BackupResult:
    """Write a backup archive of the database at *url* and the files under *data_dir*."""
    dsn, env = _libpq(url)
    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / DUMP_NAME
        proc = subprocess.run(
            [_pg_tool("pg_dump", bindir), "--format=custom", "--no-owner", "--no-privileges", f"--file={dump}", dsn],
            env=env,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise Invalid(f"pg_dump failed: {proc.stderr.strip()}")
        counts = table_counts(url)
        manifest = {"created_at": datetime.now(UTC).isoformat(), "tables": counts, "format": 1}
        (Path(tmp) / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2))
        files = 0
        out.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out, "w") as tar:
            tar.add(Path(tmp) / MANIFEST_NAME, MANIFEST_NAME)
            tar.add(dump, DUMP_NAME)
            for folder in STORED_FILE_DIRS:
                source = Path(data_dir) / folder
                if source.is_dir():
                    for path in sorted(source.rglob("*")):
                        if path.is_file():
                            tar.add(path, f"{FILES_DIR}/{folder}/{path.relative_to(source)}")
                            files += 1
    return BackupResult(out, counts, files)


def restore_backup(url: str, data_dir: Path, archive: Path, *, replace: bool = False, bindir: str = "") -> dict:
    """Restore *archive* into the database at *url* and *data_dir*; returns the manifest."""
    archive = Path(archive)
    if not tarfile.is_tarfile(archive):
        raise Invalid(f"{archive} is not a gisserver backup archive")
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
        listing = subprocess.run(
            [_pg_tool("pg_restore", bindir), "--list", str(Path(tmp) / DUMP_NAME)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        entries = Path(tmp) / "restore.list"
        entries.write_text("\n".join(line for line in listing.splitlines() if not _extension_owned(line)))
        proc = subprocess.run(
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
    return manifest
