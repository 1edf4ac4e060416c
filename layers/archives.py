"""Safe extraction of uploaded archives (zipped Shapefiles, KMZ): checked before anything is written."""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from gisserver.core.exceptions import Invalid, PayloadTooLarge


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 200
    max_total_bytes: int = 2 * 1024**3
    max_ratio: int = 200  # a compression ratio above this is a zip bomb, not a Shapefile


def _check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and path.parts[0].endswith(":")):
        raise Invalid(f"the archive contains an unsafe path: {info.filename!r}", {"reason": "path_traversal"})
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise Invalid(f"the archive contains a symbolic link: {info.filename!r}", {"reason": "symlink"})
    return path


def safe_extract(archive: Path, target: Path, limits: ArchiveLimits = ArchiveLimits()) -> list[Path]:  # noqa: B008
    """Extract *archive* into *target* after checking every member; returns the extracted files."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        raise Invalid("the file is not a valid zip archive", {"reason": "bad_zip"}) from None
    with zf:
        members = [m for m in zf.infolist() if not m.is_dir()]
        if len(members) > limits.max_files:
            raise Invalid(f"the archive holds more than {limits.max_files} files", {"reason": "too_many_files"})
        total = sum(m.file_size for m in members)
        if total > limits.max_total_bytes:
            raise PayloadTooLarge("the archive unpacks to more than the allowed size", {"reason": "zip_bomb"})
        for member in members:
            _check_member(member)
            if member.compress_size and member.file_size / member.compress_size > limits.max_ratio:
                raise PayloadTooLarge(f"{member.filename!r} is compressed suspiciously well", {"reason": "zip_bomb"})
        written = []
        for member in members:
            path = target / _check_member(member)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Stream with a hard cap, since the sizes in the zip directory can lie.
            remaining = member.file_size
            with zf.open(member) as src, open(path, "wb") as dst:
                while chunk := src.read(1024 * 1024):
                    remaining -= len(chunk)
                    if remaining < 0:
                        raise PayloadTooLarge("the archive's sizes do not match its contents", {"reason": "zip_bomb"})
                    dst.write(chunk)
            written.append(path)
        return written
