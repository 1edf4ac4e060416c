"""Dossier imports: every row checked, all or nothing, idempotent on the dossier id; CLI and upload API."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from gisserver.core.exceptions import Invalid
from reports.summaries.dossiers import import_dossiers
from reports.summaries.models import Dossier
from tests.reports.summaries.helpers import TZ

HEADER_VI = "Mã hồ sơ,Thủ tục,Mã địa bàn,Ngày tiếp nhận,Hạn trả,Ngày trả kết quả,Hình thức,Trạng thái"


def _days_ago(days: float) -> datetime:
    return (datetime.now(UTC) - timedelta(days=days)).astimezone(TZ)


def dmy(value: datetime) -> str:
    return value.strftime("%d/%m/%Y %H:%M")


def good_csv() -> bytes:
    r1, r2, r3 = _days_ago(20), _days_ago(15), _days_ago(3)
    rows = [
        HEADER_VI,
        # Finished on its due date, which is given without a time: the end of that day, so on time.
        f"HS-001,Chứng thực bản sao,T-W,{dmy(r1)},{(r1 + timedelta(days=2)).strftime('%d/%m/%Y')},"
        f"{(r1 + timedelta(days=2)).strftime('%d/%m/%Y')} 16:59,Trực tuyến,Đã trả kết quả",
        f"HS-002,Đăng ký khai sinh,T-W-01,{dmy(r2)},{dmy(r2 + timedelta(days=1))},{dmy(r2 + timedelta(days=4))},"
        "Trực tiếp,Đã trả kết quả",
        f"HS-003,Đăng ký hộ kinh doanh,T-E,{dmy(r3)},{dmy(r3 + timedelta(days=1))},,online,in_progress",
        f"HS-004,Cấp phép xây dựng,T-E,{dmy(r3)},{dmy(r3 + timedelta(days=10))},{dmy(r3 + timedelta(days=1))},"
        "offline,Từ chối",
    ]
    return "\n".join(rows).encode("utf-8")


def count(db) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(Dossier))


def test_import_then_again_then_changed(city):
    result = import_dossiers(city, good_csv(), "export.csv")
    city.commit()
    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    first = city.scalar(select(Dossier).where(Dossier.code == "HS-001"))
    assert first.channel == "online" and first.status == "finished" and first.finished_at <= first.due_at
    assert first.due_at.astimezone(TZ).strftime("%H:%M:%S") == "23:59:59"
    again = import_dossiers(city, good_csv(), "export.csv")
    city.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    changed = good_csv().replace(b"online,in_progress", b"online,in_progress".replace(b"online", b"offline"))
    third = import_dossiers(city, changed, "export.csv")
    city.commit()
    assert (third.created, third.updated, third.unchanged) == (0, 1, 3) and count(city) == 4


def test_bad_rows_are_reported_and_nothing_is_written(city):
    import_dossiers(city, good_csv(), "first.csv")
    city.commit()
    r = _days_ago(5)
    lines = good_csv().decode().splitlines()
    lines[1] = lines[1].replace("Chứng thực bản sao", "Chứng thực (sửa)")  # a valid change to HS-001...
    lines += [
        f"HS-010,Khai sinh,NOPE,{dmy(r)},{dmy(r + timedelta(days=1))},,online,in_progress",
        f"HS-011,Khai sinh,T-W,32/01/2025,{dmy(r + timedelta(days=1))},,online,in_progress",
        f"HS-012,Khai sinh,T-W,{dmy(r)},{dmy(r - timedelta(days=1))},,carrier pigeon,in_progress",
        f"HS-013,Khai sinh,T-W,{dmy(r)},{dmy(r + timedelta(days=1))},,online,Đã trả kết quả",
        f"HS-001,Khai sinh,T-W,{dmy(r)},{dmy(r + timedelta(days=1))},,online,in_progress",
        f",,T-W,{dmy(r + timedelta(days=30))},{dmy(r + timedelta(days=31))},,online,lost",
    ]
    with pytest.raises(Invalid) as caught:
        import_dossiers(city, "\n".join(lines).encode(), "second.csv")
    city.rollback()
    details = caught.value.details
    assert details["bad_rows"] == 6 and details["rows"] == 10
    errors = {(e["row"], e["column"]) for e in details["errors"]}
    assert (6, "area_code") in errors and (7, "received") in errors
    assert (8, "due") in errors and (8, "channel") in errors and (9, "finished") in errors
    assert (10, "code") in errors
    assert {(11, "code"), (11, "procedure"), (11, "received"), (11, "status")} <= errors
    # ...and even the valid change of HS-001 was not applied.
    assert city.scalar(select(Dossier.procedure).where(Dossier.code == "HS-001")) == "Chứng thực bản sao"
    assert count(city) == 4


def test_a_dossier_must_be_filed_in_an_area_that_existed(city):
    from sqlalchemy import update

    from reports.areas.models import Area

    city.execute(update(Area).where(Area.code == "T-E").values(valid_from=datetime.now(UTC).date()))
    city.commit()
    r = _days_ago(10)
    data = f"{HEADER_VI}\nHS-1,Khai sinh,T-E,{dmy(r)},{dmy(r + timedelta(days=1))},,online,in_progress".encode()
    with pytest.raises(Invalid) as caught:
        import_dossiers(city, data, "x.csv")
    assert caught.value.details["errors"][0]["column"] == "area_code"


def test_xlsx_with_real_date_cells_and_english_headers(city):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["dossier_id", "procedure", "area_code", "received", "due", "finished", "channel", "status"])
    received = _days_ago(9).replace(tzinfo=None, microsecond=0)
    sheet.append(["X-1", "Khai tử", "T-W", received, received + timedelta(days=1), received + timedelta(hours=5),
                  "online", "finished"])
    sheet.append(["X-2", "Khai tử", "T-W", received, (received + timedelta(days=1)).date(), None, "offline",
                  "withdrawn"])
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(Invalid) as caught:
        import_dossiers(city, out.getvalue(), "export.xlsx")
    assert [(e["row"], e["column"]) for e in caught.value.details["errors"]] == [(3, "finished")]
    sheet["F3"] = received + timedelta(hours=2)
    out = io.BytesIO()
    workbook.save(out)
    result = import_dossiers(city, out.getvalue(), "export.xlsx")
    city.commit()
    assert result.created == 2
    stored = city.scalar(select(Dossier).where(Dossier.code == "X-1"))
    assert stored.received_at == received.replace(tzinfo=TZ)


def test_files_that_are_not_exports_are_refused(city):
    for data, name, message in ((b"", "a.csv", "empty"), (b"\xff\xfe\x00", "a.csv", "UTF-8"),
                                (b"PK\x03\x04junk", "a.xlsx", "XLSX"), (b"a,b\n1,2", "a.csv", "missing column"),
                                (b"x", "a.json", ".csv or .xlsx")):
        with pytest.raises(Invalid, match=message):
            import_dossiers(city, data, name)


def test_cli_import(cli, city, tmp_path):
    path = tmp_path / "hs.csv"
    path.write_bytes(good_csv())
    result = cli("dossiers", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "4 dossiers: 4 created" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(good_csv().replace(b"T-W-01", b"T-X-99"))
    result = cli("dossiers", "import", str(bad))
    assert result.exit_code == 1 and "row 3, area_code: unknown area code" in result.output
    assert count(city) == 4


def test_upload_api(client, city, auth_headers):
    def upload(headers, data=None, name="hs.csv"):
        body = good_csv() if data is None else data
        return client.post("/api/dossiers/import", data={"file": (io.BytesIO(body), name)}, headers=headers)

    assert upload({}).status_code == 401
    assert upload(auth_headers("leader")).status_code == 403
    bad = upload(auth_headers("admin"), good_csv().replace(b"T-W-01", b"T-X-99"))
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["code"] == "invalid_rows" and error["details"]["errors"][0]["row"] == 3
    assert count(city) == 0
    machine = auth_headers("device", scopes=("dossiers:import",))
    ok = upload(machine)
    assert ok.status_code == 201 and ok.get_json() == {"rows": 4, "created": 4, "updated": 0, "unchanged": 0}
    assert client.post("/api/dossiers/import", headers=auth_headers("admin")).status_code == 400
    # The figures follow at once: on-time, late, in progress and online share of the imported rows.
    body = client.get("/api/summaries/T", headers=auth_headers("admin")).get_json()["dossiers"]["totals"]
    assert (body["received"], body["finished"], body["on_time"], body["late"], body["in_progress"],
            body["returned"], body["online"]) == (4, 2, 1, 1, 1, 1, 2)
    assert body["online_share"] == 0.5
