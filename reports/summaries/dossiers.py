"""Administrative dossiers exported by a one-stop-shop system: read a CSV or XLSX file, check every row,
and load all of it or nothing.

Columns (English or Vietnamese headers, any order): dossier id, procedure, area code, received, due,
finished, channel (online/offline), status. Times without a zone are the city's local time; a due or
finished date without a time means the end of that day. Importing the same dossier id again updates it.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from gisserver.core.audit import record
from gisserver.core.exceptions import Invalid
from reports.summaries.hierarchy import TZ
from reports.summaries.models import DOSSIER_STATUSES

MAX_ROWS = 1_000_000
MAX_ERRORS_SHOWN = 1000
MAX_XLSX_UNPACKED = 512 * 1024 * 1024
MAX_XLSX_ENTRIES = 2000
FUTURE_TOLERANCE = timedelta(minutes=5)


def _fold(value: str) -> str:
    """Lower-case ASCII words joined by '_': 'Ngày tiếp nhận' -> 'ngay_tiep_nhan'."""
    value = unicodedata.normalize("NFKD", str(value).replace("đ", "d").replace("Đ", "D"))
    value = "".join(c for c in value if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", value).strip("_")


COLUMNS = {
    "code": ("dossier_id", "dossier", "id", "code", "ma_ho_so", "so_ho_so", "ma_hs"),
    "procedure": ("procedure", "thu_tuc", "ten_thu_tuc", "thu_tuc_hanh_chinh"),
    "area_code": ("area_code", "area", "ma_dia_ban", "ma_don_vi", "ma_phuong_xa", "dia_ban"),
    "received": ("received", "received_at", "ngay_tiep_nhan", "ngay_nhan", "tiep_nhan"),
    "due": ("due", "due_at", "han_tra", "ngay_hen_tra", "han_xu_ly", "hen_tra"),
    "finished": ("finished", "finished_at", "ngay_tra_ket_qua", "ngay_hoan_thanh", "ngay_tra", "hoan_thanh"),
    "channel": ("channel", "hinh_thuc", "kenh", "hinh_thuc_nop"),
    "status": ("status", "trang_thai", "tinh_trang"),
}
REQUIRED = ("code", "procedure", "area_code", "received", "due", "channel", "status")
CHANNEL_VALUES = {
    "online": "online", "truc_tuyen": "online", "dvc": "online", "dich_vu_cong": "online",
    "offline": "offline", "truc_tiep": "offline", "buu_chinh": "offline", "buu_dien": "offline",
}
STATUS_VALUES = {
    "in_progress": "in_progress", "received": "in_progress", "dang_xu_ly": "in_progress",
    "dang_giai_quyet": "in_progress", "cho_bo_sung": "in_progress", "moi_tiep_nhan": "in_progress",
    "finished": "finished", "done": "finished", "da_tra_ket_qua": "finished", "hoan_thanh": "finished",
    "da_giai_quyet": "finished", "rejected": "rejected", "tu_choi": "rejected", "khong_giai_quyet": "rejected",
    "withdrawn": "withdrawn", "rut_ho_so": "withdrawn", "huy": "withdrawn", "da_huy": "withdrawn",
}
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


@dataclass
class RowError:
    row: int  # as a spreadsheet numbers it: the header is row 1
    column: str
    value: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass
class DossierImportResult:
    rows: int
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"rows": self.rows, "created": self.created, "updated": self.updated, "unchanged": self.unchanged}


# -- reading ---------------------------------------------------------------------------------------


def _check_xlsx(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise Invalid("the file is not a valid XLSX workbook") from None
    entries = archive.infolist()
    if len(entries) > MAX_XLSX_ENTRIES or sum(e.file_size for e in entries) > MAX_XLSX_UNPACKED:
        raise Invalid("the workbook unpacks too large")
    for entry in entries:
        if entry.filename.endswith((".xml", ".rels")):
            with archive.open(entry) as fh:
                if b"<!DOCTYPE" in fh.read(4096).upper():
                    raise Invalid("the workbook contains an XML document type declaration; refused")


def read_rows(data: bytes, filename: str) -> tuple[list[str], list[list]]:
    """Header and data rows of a CSV (UTF-8, comma or semicolon) or XLSX file (first sheet)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook

        _check_xlsx(data)
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
        workbook.close()
    elif name.endswith((".csv", ".txt")):
        try:
            content = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("a CSV file must be UTF-8 encoded") from None
        sample = content[:4096]
        dialect = csv.excel
        if sample.count(";") > sample.count(","):
            dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
        rows = list(csv.reader(io.StringIO(content), dialect))
    else:
        raise Invalid("send a .csv or .xlsx file", {"field": "file"})
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise Invalid("the file is empty")
    if len(rows) - 1 > MAX_ROWS:
        raise Invalid(f"at most {MAX_ROWS} dossiers per file")
    return ["" if h is None else str(h) for h in rows[0]], rows[1:]


def _columns(header: list[str]) -> dict[str, int]:
    folded = [_fold(h) for h in header]
    found = {}
    for name, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in folded:
                found[name] = folded.index(alias)
                break
    missing = [c for c in REQUIRED if c not in found]
    if missing:
        raise Invalid(f"missing column(s): {', '.join(missing)}", {"columns": header, "expected": list(COLUMNS)})
    return found


# -- checking --------------------------------------------------------------------------------------


def parse_time(value, *, end_of_day: bool) -> datetime:
    """A time from a cell: datetime/date objects, ISO 8601, or dd/mm/yyyy [hh:mm[:ss]]."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time.max if end_of_day else time.min)
    else:
        raw = str(value).strip()
        match = _DMY.match(raw)
        if match:
            d, m, y, hh, mm, ss = match.groups()
            if hh is None:
                parsed = datetime.combine(date(int(y), int(m), int(d)), time.max if end_of_day else time.min)
            else:
                parsed = datetime(int(y), int(m), int(d), int(hh), int(mm), int(ss or 0))
        elif len(raw) == 10:
            parsed = datetime.combine(date.fromisoformat(raw), time.max if end_of_day else time.min)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TZ)
    if end_of_day and parsed.timetz().replace(tzinfo=None) == time.max:
        parsed = parsed.replace(microsecond=0)  # 23:59:59: the last second of the day
    return parsed


@dataclass
class _Row:
    code: str
    procedure: str
    area_id: int
    received_at: datetime
    due_at: datetime
    finished_at: datetime | None
    channel: str
    status: str


def _areas(session: Session) -> dict[str, tuple[int, date, date | None]]:
    return {r.code: (r.id, r.valid_from, r.valid_to)
            for r in session.execute(text("SELECT id, code, valid_from, valid_to FROM areas"))}


def check_rows(session: Session, header: list[str], rows: list[list], now: datetime | None = None):
    """Every row checked; returns the good rows and the errors of the bad ones."""
    now = now or datetime.now(UTC)
    columns = _columns(header)
    areas = _areas(session)
    seen: dict[str, int] = {}
    good: list[_Row] = []
    errors: list[RowError] = []
    for number, row in enumerate(rows, start=2):
        checked, row_errors = _check_row(_Cells(number, row, columns), areas, seen, now)
        if row_errors:
            errors.extend(row_errors)
        else:
            good.append(checked)
    return good, errors


@dataclass
class _Cells:
    number: int
    row: list
    columns: dict[str, int]
    errors: list[RowError] = field(default_factory=list)

    def __call__(self, name: str):
        i = self.columns.get(name)
        value = self.row[i] if i is not None and i < len(self.row) else None
        return "" if value is None else value

    def fail(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, str(self(column))[:200], message))


def _check_row(cell: _Cells, areas, seen: dict[str, int], now: datetime) -> tuple[_Row | None, list[RowError]]:
    code = str(cell("code")).strip()
    if not code:
        cell.fail("code", "the dossier id is missing")
    elif len(code) > 64:
        cell.fail("code", "the dossier id is longer than 64 characters")
    elif code in seen:
        cell.fail("code", f"the same dossier id is on row {seen[code]}")
    else:
        seen[code] = cell.number
    procedure = str(cell("procedure")).strip()
    if not procedure:
        cell.fail("procedure", "the procedure is missing")
    times = {}
    for column, end_of_day in (("received", False), ("due", True), ("finished", True)):
        value = cell(column)
        times[column] = None
        if value == "" or (isinstance(value, str) and not value.strip()):
            if column != "finished":
                cell.fail(column, f"the {column} time is missing")
            continue
        try:
            times[column] = parse_time(value, end_of_day=end_of_day)
        except (ValueError, TypeError, OverflowError):
            cell.fail(column, "not a date/time (use 2025-03-01 08:30 or 01/03/2025 08:30)")
    received, due, finished = times["received"], times["due"], times["finished"]
    if received and received > now + FUTURE_TOLERANCE:
        cell.fail("received", "received in the future")
    if received and due and due < received:
        cell.fail("due", "due before it was received")
    if received and finished and finished < received:
        cell.fail("finished", "finished before it was received")
    if finished and finished > now + FUTURE_TOLERANCE:
        cell.fail("finished", "finished in the future")
    channel = CHANNEL_VALUES.get(_fold(cell("channel")))
    if channel is None:
        cell.fail("channel", "channel must be online or offline")
    status = STATUS_VALUES.get(_fold(cell("status")))
    if status is None:
        cell.fail("status", f"status must be one of {', '.join(DOSSIER_STATUSES)}")
    elif status == "in_progress" and cell("finished") not in ("", None):
        cell.fail("finished", "a dossier still in progress has no finished time")
    elif status != "in_progress" and finished is None and not any(e.column == "finished" for e in cell.errors):
        cell.fail("finished", f"a {status} dossier needs its finished time")
    area = areas.get(str(cell("area_code")).strip())
    if area is None:
        cell.fail("area_code", "unknown area code")
    elif received:
        _, valid_from, valid_to = area
        day = received.astimezone(TZ).date()
        if day < valid_from or (valid_to is not None and day >= valid_to):
            cell.fail("area_code", f"the area did not exist on {day.isoformat()}")
    if cell.errors:
        return None, cell.errors
    return _Row(code, procedure, area[0], received, due, finished, channel, status), []


# -- loading ---------------------------------------------------------------------------------------

_STAGE = text("""
CREATE TEMP TABLE dossier_stage (
    code text, procedure text, area_id int, received_at timestamptz, due_at timestamptz,
    finished_at timestamptz, channel text, status text
) ON COMMIT DROP""")
_UPSERT = text("""
INSERT INTO dossiers AS d (code, procedure, area_id, received_at, due_at, finished_at, channel, status)
SELECT code, procedure, area_id, received_at, due_at, finished_at, channel, status FROM dossier_stage
ON CONFLICT (code) DO UPDATE SET
    procedure = excluded.procedure, area_id = excluded.area_id, received_at = excluded.received_at,
    due_at = excluded.due_at, finished_at = excluded.finished_at, channel = excluded.channel,
    status = excluded.status, imported_at = now()
WHERE (d.procedure, d.area_id, d.received_at, d.due_at, d.finished_at, d.channel, d.status)
      IS DISTINCT FROM (excluded.procedure, excluded.area_id, excluded.received_at, excluded.due_at,
                        excluded.finished_at, excluded.channel, excluded.status)
RETURNING (xmax = 0) AS created""")


def import_dossiers(session: Session, data: bytes, filename: str, now: datetime | None = None) -> DossierImportResult:
    """Check every row; when one is wrong, raise Invalid with the error report and write nothing."""
    header, rows = read_rows(data, filename)
    good, errors = check_rows(session, header, rows, now)
    if errors:
        bad_rows = len({e.row for e in errors})
        raise Invalid(f"{bad_rows} of {len(rows)} rows have errors; nothing was imported",
                      {"rows": len(rows), "bad_rows": bad_rows, "error_count": len(errors),
                       "errors": [e.as_dict() for e in errors[:MAX_ERRORS_SHOWN]]}, code="invalid_rows")
    result = DossierImportResult(rows=len(good))
    if not good:
        return result
    session.execute(_STAGE)
    raw = session.connection().connection.driver_connection
    with raw.cursor().copy("COPY dossier_stage (code, procedure, area_id, received_at, due_at, finished_at, channel, "
                           "status) FROM STDIN") as copy:
        for r in good:
            copy.write_row((r.code, r.procedure, r.area_id, r.received_at, r.due_at, r.finished_at, r.channel,
                            r.status))
    written = session.execute(_UPSERT).scalars().all()
    result.created = sum(1 for created in written if created)
    result.updated = len(written) - result.created
    result.unchanged = len(good) - len(written)
    session.execute(text("DROP TABLE dossier_stage"))
    record(session, "import", "dossiers", None, {"file": Path(filename).name, **result.as_dict()})
    session.flush()
    return result
