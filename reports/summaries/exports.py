"""Summaries and record lists as CSV, XLSX and a PDF for meetings.

Text from users and files (area names, procedures, descriptions) may start with '=' or '@': in CSV such
a cell is prefixed with an apostrophe so that spreadsheets show it instead of running it as a formula
(OWASP's advice); in XLSX every text cell is written as a string, which spreadsheets never evaluate.

Every cell knows what it holds (a count, a share, hours, a day, a moment, text): the XLSX gives it the matching
number format (percent, dd/mm/yyyy) so that a spreadsheet computes with real numbers and dates, and the PDF
writes it as the reader does (83,8%, 04/12/2026). CSV keeps plain values for machines.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gisserver.core import formats
from gisserver.core.fonts import pdf_fonts

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
KINDS = ("text", "count", "share", "hours", "day", "month", "moment")
MAX_COLUMN_CHARS = 48
HEADER_CHARS = 18  # a header wraps onto more lines rather than widening a column of numbers


@dataclass(frozen=True)
class Cell:
    """A value with the kind that decides its number format (for the rows of a sheet that mixes kinds)."""

    value: object
    kind: str = "text"


@dataclass
class Sheet:
    key: str
    title: str
    header: list[str]
    rows: list[list]
    kinds: list[str] = field(default_factory=list)  # per column; a Cell in a row overrides it
    frozen_columns: int = 0


def csv_cell(value):
    if isinstance(value, Cell):
        value = value.value
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def to_csv(sheet: Sheet) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_cell(h) for h in sheet.header])
    for row in sheet.rows:
        writer.writerow([csv_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read UTF-8


# -- XLSX ---------------------------------------------------------------------------------------------------

def _xlsx_format(kind: str, language: str) -> str | None:
    return {
        "count": "#,##0", "share": "0.0%", "hours": "#,##0.0",
        "day": formats.XLSX_DATE_FORMATS.get(language, "dd/mm/yyyy"),
        "month": formats.XLSX_MONTH_FORMATS.get(language, "mm/yyyy"),
        "moment": formats.XLSX_DATE_FORMATS.get(language, "dd/mm/yyyy") + " hh:mm",
    }.get(kind)


def _xlsx_value(value, kind: str):
    """What a spreadsheet should hold: dates as dates (in the city's time), ISO text turned back into them."""
    if value is None or value == "":
        return None
    if kind == "moment":
        return formats.local_naive(value)
    if kind in ("day", "month") and isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value


def _display_width(value, kind: str) -> int:
    if value is None:
        return 0
    if kind == "moment":
        return 16
    if kind in ("day", "month"):
        return 10
    if kind == "share":
        return 7
    if isinstance(value, int | float):
        return len(f"{value:,.1f}")
    return max((len(part) for part in str(value).splitlines()), default=0)


def _set(cell, value):
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


HEADER_FILL = PatternFill("solid", fgColor="DDE7EE")


def _write_sheet(workbook: Workbook, sheet: Sheet, language: str) -> None:
    ws = workbook.create_sheet(sheet.title[:31].replace("/", "-"))
    widths = [min(len(str(h)), HEADER_CHARS) for h in sheet.header]
    for column, name in enumerate(sheet.header, start=1):
        cell = _set(ws.cell(row=1, column=column), name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for r, row in enumerate(sheet.rows, start=2):
        for column, value in enumerate(row, start=1):
            kind = sheet.kinds[column - 1] if column <= len(sheet.kinds) else "text"
            if isinstance(value, Cell):
                value, kind = value.value, value.kind
            cell = _set(ws.cell(row=r, column=column), _xlsx_value(value, kind))
            number_format = _xlsx_format(kind, language)
            if number_format and cell.value is not None:
                cell.number_format = number_format
            if kind == "text" and isinstance(value, str) and len(value) > MAX_COLUMN_CHARS:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
            widths[column - 1] = max(widths[column - 1], min(_display_width(value, kind), MAX_COLUMN_CHARS))
    for column, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(column)].width = width + 2
    # A header that wraps needs its row tall enough to show every line.
    lines = max((math.ceil(len(str(h)) / max(widths[i], 1)) for i, h in enumerate(sheet.header)), default=1)
    ws.row_dimensions[1].height = 15 * max(lines, 1) + 2
    ws.freeze_panes = ws.cell(row=2, column=sheet.frozen_columns + 1).coordinate


def to_xlsx(sheets: list[Sheet], language: str = formats.DEFAULT_LANGUAGE) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _write_sheet(workbook, sheet, language)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# -- the summary's tables -----------------------------------------------------------------------------------

REPORT_KEYS = ["received", "resolved", "rejected", "open", "overdue", "on_time", "late", "on_time_rate"]
DOSSIER_KEYS = ["received", "finished", "on_time", "late", "returned", "in_progress", "overdue", "online",
                "on_time_rate", "online_share"]
ALERT_KEYS = ["received", "open", "overdue", "on_time", "late"]


def _kind_of(key: str) -> str:
    return "share" if key.endswith(("_rate", "_share")) else "count"


def _trend_cell(key: str, trend: str) -> Cell:
    """A trend bucket ("2026-11", "2026-W45") as the day it starts: a month or a week's Monday."""
    if trend == "month" or "-W" not in key:
        return Cell(date.fromisoformat(key + "-01"), "month")
    year, week = key.split("-W")
    return Cell(date.fromisocalendar(int(year), int(week), 1), "day")


def _strings(table: Mapping[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in table.items()}


def summary_sheets(summary: dict, labels: Mapping[str, Mapping[str, object]], english: bool) -> list[Sheet]:
    """Every table of a summary, an explanations sheet last; *labels* holds the translated names (see
    reports.summaries.labels and reports.summaries.forms.label_tables)."""
    words, rm, dm, am = (_strings(labels[k]) for k in ("words", "reports", "dossiers", "alerts"))
    sections, ages, channels = _strings(labels["sections"]), _strings(labels["ages"]), _strings(labels["channels"])
    alert_types = _strings(labels["alert_types"])
    reports, dossiers, period = summary["reports"], summary["dossiers"], summary["period"]
    trend = period.get("trend", "month")
    overview = [[words["city"], summary.get("city", "")],
                [words["area"], f"{summary['area']['code']} {summary['area']['name']}"],
                [f"{words['period']}: {words['from'].lower()}", Cell(period["from"], "day")],
                [f"{words['period']}: {words['to'].lower()}", Cell(period["to"], "day")],
                [words["as_of"], Cell(period["as_of"], "day")]]
    overview += [[f"{sections['reports']}: {rm[k]}", Cell(reports["totals"][k], _kind_of(k))] for k in REPORT_KEYS]
    overview += [[words["median_hours"], Cell(reports["handling_hours"]["median"], "hours")],
                 [words["p90_hours"], Cell(reports["handling_hours"]["p90"], "hours")]]
    overview += [[f"{sections['dossiers']}: {dm[k]}", Cell(dossiers["totals"][k], _kind_of(k))] for k in DOSSIER_KEYS]
    overview += [[f"{sections['alerts']}: {am[k]}", Cell(summary["alerts"]["totals"][k], _kind_of(k))]
                 for k in ("received", "open", "overdue", "on_time_rate")]
    overview += [[f"{sections['cameras']}: {words[k]}", Cell(summary["cameras"][k], "count")]
                 for k in ("total", "online", "offline", "maintenance")]
    ranks = {code: i + 1 for i, code in enumerate(summary["ranking"]["order"])}
    children = [[c["code"], c["name"], ranks.get(c["code"]), *(c["reports"][k] for k in REPORT_KEYS),
                 *(c["dossiers"][k] for k in DOSSIER_KEYS)] for c in summary["children"]]
    report_kinds = [_kind_of(k) for k in REPORT_KEYS]
    dossier_kinds = [_kind_of(k) for k in DOSSIER_KEYS]

    def breakdown(key, rows, describe):
        return Sheet(key, sections[key], [words[key], *(rm[k] for k in REPORT_KEYS)],
                     [[describe(r), *(r[k] for k in REPORT_KEYS)] for r in rows], ["text", *report_kinds], 1)

    trend_title = words["month"] if trend == "month" else words["week_of"]
    return [
        Sheet("overview", sections["overview"], [words["figure"], words["value"]], overview, ["text", "count"]),
        Sheet("children", sections["children"],
              [words["code"], words["name"], words["rank"], *(f"{sections['reports']}: {rm[k]}" for k in REPORT_KEYS),
               *(f"{sections['dossiers']}: {dm[k]}" for k in DOSSIER_KEYS)], children,
              ["text", "text", "count", *report_kinds, *dossier_kinds], 2),
        breakdown("category", reports["by_category"], lambda r: r["name_en"] if english else r["name_vi"]),
        breakdown("unit", reports["by_unit"], lambda r: r["name"] or words["none"]),
        breakdown("channel", reports["by_channel"], lambda r: channels.get(r["key"], r["key"])),
        Sheet("trend", sections["trend"], [trend_title, *(rm[k] for k in REPORT_KEYS)],
              [[_trend_cell(t["key"], trend), *(t[k] for k in REPORT_KEYS)] for t in reports["trend"]],
              ["day", *report_kinds], 1),
        Sheet("backlog", sections["backlog"], [words["period"], rm["open"], rm["overdue"]],
              [[ages.get(b["key"], b["key"]), b["open"], b["overdue"]] for b in reports["backlog_by_age"]],
              ["text", "count", "count"], 1),
        Sheet("dossier_trend", sections["dossier_trend"], [trend_title, *(dm[k] for k in DOSSIER_KEYS)],
              [[_trend_cell(t["key"], trend), *(t[k] for k in DOSSIER_KEYS)] for t in dossiers["trend"]],
              ["day", *dossier_kinds], 1),
        Sheet("alerts", sections["alerts"], [words["type"], *(am[k] for k in ALERT_KEYS)],
              [[alert_types.get(a["key"], a["key"]), *(a[k] for k in ALERT_KEYS)]
               for a in summary["alerts"]["by_type"]], ["text", *(["count"] * len(ALERT_KEYS))], 1),
        explanations_sheet(labels),
    ]


def explanations_sheet(labels: Mapping[str, Mapping[str, object]]) -> Sheet:
    """What each indicator counts, so that a file forwarded without the page still reads right."""
    words, sections = _strings(labels["words"]), _strings(labels["sections"])
    names = {"reports": _strings(labels["reports"]), "dossiers": _strings(labels["dossiers"]),
             "alerts": _strings(labels["alerts"])}
    rows = []
    for section, notes in labels["notes"].items():
        for key, note in notes.items():
            name = words.get(key) if key not in names[section] else names[section][key]
            rows.append([sections[section], name, str(note)])
    return Sheet("explanations", words["explanations"], [words["section"], words["figure"], words["meaning"]], rows,
                 ["text", "text", "text"], 0)


def records_sheet(page, labels: Mapping[str, Mapping[str, object]], english: bool) -> Sheet:
    words = _strings(labels["words"])
    source = page.filter["source"]
    header = [words["code"], words["status"], words["created"], words["due"], words["closed"], words["area"]]
    kinds = ["text", "text", "moment", "moment", "moment", "text"]
    if source == "reports":
        header += [words["category"], words["unit"], words["channel"]]
    elif source == "dossiers":
        header += [words["procedure"], words["channel"]]
    else:
        header += [words["type"]]
    rows = []
    for item in page.items:
        row = [item["code"], item["status"], item["created_at"], item["due_at"], item["closed_at"],
               item["area"]["place"] if item["area"] else None]
        if source == "reports":
            row += [item["category_en"] if english else item["category_vi"], item["unit"], item["channel"]]
        elif source == "dossiers":
            row += [item["procedure"], item["channel"]]
        else:
            row += [item["type"]]
        rows.append(row)
    return Sheet("records", str(labels["sections"]["records"]), header, rows, kinds, 1)


# -- PDF ----------------------------------------------------------------------------------------------------

class _Reader:
    """Numbers and days as the reader writes them."""

    def __init__(self, language: str):
        self.language = language

    def count(self, value) -> str:
        return formats.number_text(value, self.language) if value is not None else "–"

    def share(self, value) -> str:
        return formats.percent_text(value, self.language) if value is not None else "–"

    def hours(self, value) -> str:
        return formats.number_text(value, self.language, 1) if value is not None else "–"

    def day(self, value) -> str:
        return formats.day_text(value, self.language)


def summary_pdf(summary: dict, labels: Mapping[str, Mapping[str, object]], title: str,
                language: str = formats.DEFAULT_LANGUAGE, printed: datetime | None = None) -> bytes:
    """The key figures and the children side by side on A4, the city, the area and the period on every page.

    Header cells are paragraphs in their column's width, so a long name wraps onto more lines and never runs
    into its neighbour; every number and day is written as the reader writes it (83,8%; 04/12/2026).
    """
    regular, bold = pdf_fonts()
    words, rm, dm = _strings(labels["words"]), _strings(labels["reports"]), _strings(labels["dossiers"])
    sections = _strings(labels["sections"])
    fmt = _Reader(language)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=17)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13, spaceBefore=2, spaceAfter=2)
    small = ParagraphStyle("small", fontName=regular, fontSize=8, leading=10)
    area, period = summary["area"], summary["period"]
    city = summary.get("city") or area["name"]
    span = f"{fmt.day(period['from'])} – {fmt.day(period['to'])}"
    mode = words["areas_now"] if period["areas"] == "now" else words["areas_then"]
    printed_text = formats.moment_text(printed or datetime.now(formats.CITY_TIMEZONE), language)

    def on_page(canvas, doc):
        # Every page says whose figures, for which period, and where it sits in the document.
        canvas.saveState()
        width, height = A4
        canvas.setFont(bold, 8)
        canvas.drawString(12 * mm, height - 7 * mm, city)
        canvas.setFont(regular, 8)
        canvas.drawRightString(width - 12 * mm, height - 7 * mm, f"{area['name']} · {words['period']}: {span}")
        canvas.setStrokeColor(colors.HexColor("#9aa8b5"))
        canvas.line(12 * mm, height - 8.5 * mm, width - 12 * mm, height - 8.5 * mm)
        canvas.drawString(12 * mm, 6 * mm, f"{words['printed']}: {printed_text}")
        canvas.drawRightString(width - 12 * mm, 6 * mm, f"{words['page']} {doc.page}")
        canvas.restoreState()

    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=13 * mm,
                            bottomMargin=12 * mm, title=f"{title}: {area['name']}", author=city)
    story = [Paragraph(escape(f"{title}: {area['name']} ({area['code']})"), h1),
             Paragraph(escape(f"{words['period']}: {span} · {words['as_of']} {fmt.day(period['as_of'])} · {mode}"),
                       small), Spacer(0, 3 * mm)]
    r, d, h = summary["reports"]["totals"], summary["dossiers"]["totals"], summary["reports"]["handling_hours"]
    a, cams = summary["alerts"]["totals"], summary["cameras"]
    key = [
        [sections["reports"], "", sections["dossiers"], ""],
        [rm["received"], fmt.count(r["received"]), dm["received"], fmt.count(d["received"])],
        [rm["resolved"], fmt.count(r["resolved"]), dm["finished"], fmt.count(d["finished"])],
        [rm["rejected"], fmt.count(r["rejected"]), dm["on_time"], fmt.count(d["on_time"])],
        [rm["open"], fmt.count(r["open"]), dm["late"], fmt.count(d["late"])],
        [rm["overdue"], fmt.count(r["overdue"]), dm["in_progress"], fmt.count(d["in_progress"])],
        [rm["on_time_rate"], fmt.share(r["on_time_rate"]), dm["on_time_rate"], fmt.share(d["on_time_rate"])],
        [words["median_hours"], fmt.hours(h["median"]), dm["online_share"], fmt.share(d["online_share"])],
        [sections["alerts"], f"{fmt.count(a['received'])} ({rm['overdue']}: {fmt.count(a['overdue'])})",
         sections["cameras"], f"{fmt.count(cams['online'])}/{fmt.count(cams['total'])} {words['online'].lower()}"],
    ]
    label_cell = ParagraphStyle("label", fontName=regular, fontSize=8, leading=9.5)
    key = [[Paragraph(escape(str(c)), label_cell) if i in (0, 2) and n else c for i, c in enumerate(row)]
           for n, row in enumerate(key)]
    table = Table(key, colWidths=[56 * mm, 36 * mm, 56 * mm, 38 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular, 8), ("FONT", (0, 0), (-1, 0), bold, 9),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey), ("ALIGN", (1, 1), (1, -1), "RIGHT"),
        ("ALIGN", (3, 1), (3, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5), ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story += [table, Spacer(0, 4 * mm)]
    children = summary["children"]
    if children:
        story += [Paragraph(escape(sections["children"]), h2), _children_table(summary, words, sections, rm, dm,
                                                                                fmt, regular, bold)]
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return out.getvalue()


def _children_table(summary, words, sections, rm, dm, fmt: _Reader, regular: str, bold: str) -> Table:
    ranks = {code: i + 1 for i, code in enumerate(summary["ranking"]["order"])}
    size = 7 if len(summary["children"]) <= 45 else 6
    head = ParagraphStyle("head", fontName=bold, fontSize=size, leading=size + 1.5)
    head_right = ParagraphStyle("head_right", parent=head, alignment=2)
    cell = ParagraphStyle("cell", fontName=regular, fontSize=size, leading=size + 1.5)
    # Two header rows: the source over its columns, then each figure; every title wraps inside its column.
    groups = ["", "", sections["reports"], "", "", sections["dossiers"], "", ""]
    titles = [words["rank"], words["name"], rm["received"], rm["on_time_rate"], rm["overdue"], dm["received"],
              dm["on_time_rate"], dm["online_share"]]
    rows = [[Paragraph(escape(t), head) for t in groups],
            [Paragraph(escape(t), head if i < 2 else head_right) for i, t in enumerate(titles)]]
    for c in sorted(summary["children"], key=lambda c: ranks.get(c["code"], 10_000)):
        rows.append([ranks.get(c["code"], ""), Paragraph(escape(c["name"]), cell), fmt.count(c["reports"]["received"]),
                     fmt.share(c["reports"]["on_time_rate"]), fmt.count(c["reports"]["overdue"]),
                     fmt.count(c["dossiers"]["received"]), fmt.share(c["dossiers"]["on_time_rate"]),
                     fmt.share(c["dossiers"]["online_share"])])
    grid = Table(rows, colWidths=[11 * mm, 55 * mm, 18 * mm, 22 * mm, 18 * mm, 20 * mm, 22 * mm, 20 * mm],
                 repeatRows=2)
    grid.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular, size), ("SPAN", (2, 0), (4, 0)), ("SPAN", (5, 0), (7, 0)),
        ("LINEBELOW", (2, 0), (4, 0), 0.5, colors.grey), ("LINEBELOW", (5, 0), (7, 0), 0.5, colors.grey),
        ("LINEBELOW", (0, 1), (-1, 1), 0.5, colors.grey),
        ("ALIGN", (2, 2), (-1, -1), "RIGHT"), ("VALIGN", (0, 0), (-1, 1), "BOTTOM"),
        ("VALIGN", (0, 2), (-1, -1), "MIDDLE"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
        ("TOPPADDING", (0, 0), (-1, -1), 1),
        ("ROWBACKGROUNDS", (0, 2), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
    ]))
    return grid

