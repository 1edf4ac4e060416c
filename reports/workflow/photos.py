"""Report photos: only real JPEG/PNG/WebP, re-encoded (which drops EXIF and anything hidden), GPS kept aside.

Stored under <data_dir>/photos; the database row points at the file.
"""

from __future__ import annotations

import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound, PayloadTooLarge
from reports.workflow.models import ReportPhoto

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 40_000_000  # a phone photo is ~12 MP; more is a decompression bomb
MAX_SIDE = 2560  # stored photos are for officers' screens, not print


@dataclass
class ProcessedPhoto:
    data: bytes
    width: int
    height: int
    gps: tuple[float, float] | None  # (lon, lat) from EXIF, if the phone recorded it


def _rational(value) -> float:
    return float(value[0]) / float(value[1]) if isinstance(value, tuple) else float(value)


def _gps(image: Image.Image) -> tuple[float, float] | None:
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 - corrupt EXIF only means "no location"
        return None
    try:
        lat_dms, lon_dms = gps[ExifTags.GPS.GPSLatitude], gps[ExifTags.GPS.GPSLongitude]
        lat = sum(_rational(v) / 60**i for i, v in enumerate(lat_dms))
        lon = sum(_rational(v) / 60**i for i, v in enumerate(lon_dms))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if gps.get(ExifTags.GPS.GPSLatitudeRef, "N") == "S":
        lat = -lat
    if gps.get(ExifTags.GPS.GPSLongitudeRef, "E") == "W":
        lon = -lon
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or (lat == 0 and lon == 0):
        return None
    return round(lon, 7), round(lat, 7)


def process_photo(raw: bytes, *, max_bytes: int, name: str = "photo") -> ProcessedPhoto:
    """Check that *raw* is a real image and re-encode it as a clean JPEG."""
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"{name} is larger than {max_bytes // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.format not in ACCEPTED_FORMATS:
                raise Invalid(f"{name} must be a JPEG, PNG or WebP image", {"field": "photos"})
            if image.width * image.height > MAX_PIXELS:
                raise Invalid(f"{name} has too many pixels", {"field": "photos"})
            gps = _gps(image)
            image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombWarning, Image.DecompressionBombError,
            SyntaxError, ValueError):
        raise Invalid(f"{name} is not a readable image", {"field": "photos"}) from None
    image = ImageOps.exif_transpose(image)  # keep the picture upright once the EXIF is gone
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=85, optimize=True)
    return ProcessedPhoto(data=out.getvalue(), width=image.width, height=image.height, gps=gps)


def save_photos(session: Session, report_id: int, photos: list[ProcessedPhoto], directory: Path,
                at: datetime, kind: str = "report") -> list[Path]:
    """Write the files and their rows; returns the written paths so a failed commit can remove them.

    *kind* says whose they are: the resident's ("report") or the officers' photos of the fix ("fix")."""
    written = []
    for photo in photos:
        relative = Path(f"{at:%Y/%m}") / f"{uuid.uuid4().hex}.jpg"
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(photo.data)
        written.append(target)
        session.add(ReportPhoto(report_id=report_id, kind=kind, path=str(relative), content_type="image/jpeg",
                                width=photo.width, height=photo.height, bytes=len(photo.data),
                                sha256=hashlib.sha256(photo.data).hexdigest(), created_at=at))
    session.flush()
    return written


def photos_of(session: Session, report_id: int, kind: str | None = None) -> list[ReportPhoto]:
    query = select(ReportPhoto).where(ReportPhoto.report_id == report_id)
    if kind is not None:
        query = query.where(ReportPhoto.kind == kind)
    return list(session.scalars(query.order_by(ReportPhoto.id)))


def photo_file(session: Session, report_id: int, photo_id: int, directory: Path) -> Path:
    photo = session.get(ReportPhoto, photo_id)
    if photo is None or photo.report_id != report_id:
        raise NotFound("no such photo")
    path = (directory / photo.path).resolve()
    if directory.resolve() not in path.parents or not path.is_file():
        raise NotFound("the photo file is missing")
    return path
