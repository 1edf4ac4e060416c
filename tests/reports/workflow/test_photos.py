import io

from PIL import ExifTags, Image
from sqlalchemy import func, select

from gisserver.app import create_app
from reports.workflow.models import Report, ReportPhoto


def jpeg(gps=None, size=(640, 480)) -> bytes:
    image = Image.new("RGB", size, (200, 120, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SecretPhone"
    if gps:
        lon, lat = gps
        ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        ifd.update({1: "N", 2: (float(int(lat)), round((lat % 1) * 60, 6), 0.0),
                    3: "E", 4: (float(int(lon)), round((lon % 1) * 60, 6), 0.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def form(**extra):
    data = {"category": "moi_truong_rac_thai", "description": "Rác đổ ra đường", "channel": "qr_web"}
    data.update(extra)
    return data


def count(db, model):
    db.rollback()
    return db.scalar(select(func.count()).select_from(model))


def test_photo_gps_locates_the_report_and_exif_is_stripped(client, city, app, auth_headers):
    raw = jpeg(gps=(107.55, 16.42))
    resp = client.post("/api/reports", data={**form(), "photos": [(io.BytesIO(raw), "IMG_0001.jpg")]},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["area"]["code"] == "T-W-01"
    report = city.scalar(select(Report))
    headers = auth_headers("admin")
    detail = client.get(f"/api/reports/{report.id}", headers=headers).get_json()
    (photo,) = detail["photos"]
    stored = client.get(photo["url"], headers=headers)
    assert stored.status_code == 200 and stored.mimetype == "image/jpeg"
    image = Image.open(io.BytesIO(stored.data))
    assert image.size == (640, 480)
    assert len(image.getexif()) == 0 and b"SecretPhone" not in stored.data
    assert client.get(photo["url"]).status_code == 401


def test_bad_photos_are_refused_and_nothing_is_stored(client, city, app):
    photo_dir = app.config["SETTINGS"].data_dir / "photos"
    fake = io.BytesIO(b"<?php echo 'not an image'; ?>" * 10)
    cases = [
        ({**form(lon="107.55", lat="16.42"), "photos": [(fake, "x.jpg")]}, 400),
        ({**form(lon="107.55", lat="16.42"), "photos": [(io.BytesIO(jpeg()), f"{i}.jpg") for i in range(6)]}, 400),
        ({**form(lon="107.55", lat="16.42"), "photos": [(io.BytesIO(b"GIF89a" + b"\0" * 100), "x.gif")]}, 400),
        # A photo without GPS does not locate a report that has no place.
        ({**form(), "photos": [(io.BytesIO(jpeg()), "x.jpg")]}, 400),
    ]
    for data, status in cases:
        resp = client.post("/api/reports", data=data, content_type="multipart/form-data")
        assert resp.status_code == status, resp.get_json()
        assert resp.get_json()["error"]["message"]
    assert count(city, Report) == 0 and count(city, ReportPhoto) == 0
    assert not photo_dir.exists() or not any(p.is_file() for p in photo_dir.rglob("*"))


def test_oversize_photo_is_413(database_url, tmp_path, city):
    app = create_app({"DATABASE_URL": database_url, "DATA_DIR": tmp_path / "d", "TESTING": True, "PHOTO_MAX_MB": 1})
    big = Image.effect_noise((1500, 1500), 100).convert("RGB")
    out = io.BytesIO()
    big.save(out, "PNG")
    assert len(out.getvalue()) > 1024 * 1024
    resp = app.test_client().post(
        "/api/reports", data={**form(lon="107.55", lat="16.42"), "photos": [(io.BytesIO(out.getvalue()), "big.png")]},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413
    assert count(city, Report) == 0
    app.extensions["gisserver.db"].dispose()
