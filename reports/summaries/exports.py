"""Summaries and record lists as CSV, XLSX and a one-page PDF for meetings.

Text from users and files (area names, procedures, descriptions) may start with '=' or '@': in CSV such
a cell is prefixed with an apostrophe so that spreadsheets show it instead of running it as a formula
(OWASP's advice); in XLSX every text cell is written as a string, which spreadsheets never evaluate.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from gisserver.core.fonts import pdf_fonts

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass
class Sheet:
    key: str
    title: str
    header: list[str]
    rows: list[list]


def csv_cell(value):
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


def to_xlsx(sheets: list[Sheet]) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        ws = workbook.create_sheet(sheet.title[:31].replace("/", "-"))
        for column, name in enumerate(sheet.header, start=1):
            _set(ws.cell(row=1, column=column), name).font = Font(bold=True)
        for r, row in enumerate(sheet.rows, start=2):
            for column, value in enumerate(row, start=1):
                _set(ws.cell(row=r, column=column), value)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _set(cell, value):
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with
    return cell


def _pct(value) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def summary_sheets(summary: dict, labels: Mapping[str, Mapping[str, object]], english: bool) -> list[Sheet]:
    """Every table of a summary; *labels* holds the translated names (see reports.summaries.labels)."""
    words, rm, dm, am = labels["words"], labels["reports"], labels["dossiers"], labels["alerts"]
    lab = {k: {kk: str(vv) for kk, vv in v.items()} for k, v in labels.items()}
    r_keys = ["received", "resolved", "rejected", "open", "overdue", "on_time", "late", "on_time_rate"]
    d_keys = ["received", "finished", "on_time", "late", "returned", "in_progress", "overdue", "online",
              "on_time_rate", "online_share"]
    reports, dossiers = summary["reports"], summary["dossiers"]
    overview = [[f"{lab['sections']['reports']}: {lab['reports'][k]}", reports["totals"][k]] for k in r_keys]
    overview += [[str(words["median_hours"]), reports["handling_hours"]["median"]],
                 [str(words["p90_hours"]), reports["handling_hours"]["p90"]]]
    overview += [[f"{lab['sections']['dossiers']}: {lab['dossiers'][k]}", dossiers["totals"][k]] for k in d_keys]
    overview += [[f"{lab['sections']['alerts']}: {lab['alerts'][k]}", summary["alerts"]["totals"][k]]
                 for k in ("received", "open", "overdue", "on_time_rate")]
    overview += [[f"{lab['sections']['cameras']}: {words[k]}", summary["cameras"][k]]
                 for k in ("total", "online", "offline", "maintenance")]
    ranks = {code: i + 1 for i, code in enumerate(summary["ranking"]["order"])}
    children = [[c["code"], c["name"], ranks.get(c["code"]), *(c["reports"][k] for k in r_keys),
                 *(c["dossiers"][k] for k in d_keys)] for c in summary["children"]]
    r_head = [f"{lab['sections']['reports']}: {rm[k]}" for k in r_keys]
    d_head = [f"{lab['sections']['dossiers']}: {dm[k]}" for k in d_keys]

    def breakdown(key, rows, describe):
        return Sheet(key, lab["sections"][key], [str(words[key if key != "category" else "category"]),
                                                 *(str(rm[k]) for k in r_keys)],
                     [[describe(r), *(r[k] for k in r_keys)] for r in rows])

    return [
        Sheet("overview", lab["sections"]["overview"], [str(words["figure"]), str(words["value"])],
              [[str(words["area"]), f"{summary['area']['code']} {summary['area']['name']}"],
               [str(words["period"]), f"{summary['period']['from']} – {summary['period']['to']}"],
               [str(words["as_of"]), summary["period"]["as_of"]], *overview]),
        Sheet("children", lab["sections"]["children"], [str(words["code"]), str(words["name"]), str(words["rank"]),
                                                         *r_head, *d_head], children),
        breakdown("category", reports["by_category"], lambda r: r["name_en"] if english else r["name_vi"]),
        breakdown("unit", reports["by_unit"], lambda r: r["name"] or str(words["none"])),
        breakdown("channel", reports["by_channel"], lambda r: lab["channels"].get(r["key"], r["key"])),
        Sheet("trend", lab["sections"]["trend"], [str(words["period"]), *(str(rm[k]) for k in r_keys)],
              [[t["key"], *(t[k] for k in r_keys)] for t in reports["trend"]]),
        Sheet("backlog", lab["sections"]["backlog"], [str(words["period"]), str(rm["open"]), str(rm["overdue"])],
              [[lab["ages"][b["key"]], b["open"], b["overdue"]] for b in reports["backlog_by_age"]]),
        Sheet("dossier_trend", lab["sections"]["dossier_trend"], [str(words["period"]), *(str(dm[k]) for k in d_keys)],
              [[t["key"], *(t[k] for k in d_keys)] for t in dossiers["trend"]]),
        Sheet("alerts", lab["sections"]["alerts"], [str(words["type"]), *(str(am[k]) for k in
                                                                          ("received", "open", "overdue", "on_time",
                                                                           "late"))],
              [[lab["alert_types"].get(a["key"], a["key"]), a["received"], a["open"], a["overdue"], a["on_time"],
                a["late"]] for a in summary["alerts"]["by_type"]]),
    ]


def records_sheet(page, labels: Mapping[str, Mapping[str, object]], english: bool) -> Sheet:
    words = labels["words"]
    source = page.filter["source"]
    header = [str(words["code"]), str(words["status"]), str(words["created"]), str(words["due"]),
              str(words["closed"]), str(words["area"])]
    if source == "reports":
        header += [str(words["category"]), str(words["unit"]), str(words["channel"])]
    elif source == "dossiers":
        header += [str(words["procedure"]), str(words["channel"])]
    else:
        header += [str(words["type"])]
    rows = []
    for item in page.items:
        row = [item["code"], item["status"], item["created_at"], item["due_at"], item["closed_at"],
               item["area"]["name"] if item["area"] else None]
        if source == "reports":
            row += [item["category_en"] if english else item["category_vi"], item["unit"], item["channel"]]
        elif source == "dossiers":
            row += [item["procedure"], item["channel"]]
        else:
            row += [item["type"]]
        rows.append(row)
    return Sheet("records", str(labels["sections"]["records"]), header, rows)


def summary_pdf(summary: dict, labels: Mapping[str, Mapping[str, object]], title: str) -> bytes:
    """One A4 page: the key figures and the children side by side, in DejaVu (Vietnamese diacritics)."""
    regular, bold = pdf_fonts()
    words = {k: str(v) for k, v in labels["words"].items()}
    rm = {k: str(v) for k, v in labels["reports"].items()}
    dm = {k: str(v) for k, v in labels["dossiers"].items()}
    sections = {k: str(v) for k, v in labels["sections"].items()}
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=14, leading=17)
    small = ParagraphStyle("small", fontName=regular, fontSize=8, leading=10)
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=10 * mm,
                            bottomMargin=10 * mm, title=title)
    area, period = summary["area"], summary["period"]
    mode = words["areas_now"] if period["areas"] == "now" else words["areas_then"]
    story = [Paragraph(escape(f"{title}: {area['name']} ({area['code']})"), h1),
             Paragraph(f"{words['period']}: {period['from']} – {period['to']} · {words['as_of']} {period['as_of']} · "
                       f"{mode}", small), Spacer(0, 3 * mm)]
    r, d, h = summary["reports"]["totals"], summary["dossiers"]["totals"], summary["reports"]["handling_hours"]
    a, cams = summary["alerts"]["totals"], summary["cameras"]
    key = [
        [sections["reports"], "", sections["dossiers"], ""],
        [rm["received"], r["received"], dm["received"], d["received"]],
        [rm["resolved"], r["resolved"], dm["finished"], d["finished"]],
        [rm["rejected"], r["rejected"], dm["on_time"], d["on_time"]],
        [rm["open"], r["open"], dm["late"], d["late"]],
        [rm["overdue"], r["overdue"], dm["in_progress"], d["in_progress"]],
        [rm["on_time_rate"], _pct(r["on_time_rate"]), dm["on_time_rate"], _pct(d["on_time_rate"])],
        [words["median_hours"], h["median"] if h["median"] is not None else "", dm["online_share"],
         _pct(d["online_share"])],
        [sections["alerts"], f"{a['received']} ({rm['overdue']}: {a['overdue']})", sections["cameras"],
         f"{cams['online']}/{cams['total']} {words['online'].lower()}"],
    ]
    table = Table(key, colWidths=[52 * mm, 40 * mm, 52 * mm, 40 * mm])
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), regular, 8), ("FONT", (0, 0), (-1, 0), bold, 9),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey), ("ALIGN", (1, 1), (1, -1), "RIGHT"),
        ("ALIGN", (3, 1), (3, -1), "RIGHT"), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ]))
    story += [table, Spacer(0, 4 * mm)]
    children = summary["children"]
    if children:
        ranks = {code: i + 1 for i, code in enumerate(summary["ranking"]["order"])}
        rows = [[words["rank"], words["name"], rm["received"], rm["on_time_rate"], rm["overdue"], dm["received"],
                 dm["on_time_rate"], dm["online_share"]]]
        for c in sorted(children, key=lambda c: ranks.get(c["code"], 10_000)):
            rows.append([ranks.get(c["code"], ""), Paragraph(escape(c["name"]), small), c["reports"]["received"],
                         _pct(c["reports"]["on_time_rate"]), c["reports"]["overdue"], c["dossiers"]["received"],
                         _pct(c["dossiers"]["on_time_rate"]), _pct(c["dossiers"]["online_share"])])
        # Shrink the type so that up to sixty children still fit the one page.
        size = 7 if len(rows) <= 45 else 5.5
        grid = Table(rows, colWidths=[10 * mm, 52 * mm, 18 * mm, 22 * mm, 18 * mm, 20 * mm, 22 * mm, 22 * mm],
                     repeatRows=1)
        grid.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), regular, size), ("FONT", (0, 0), (-1, 0), bold, size),
            ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey), ("ALIGN", (2, 1), (-1, -1), "RIGHT"),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 0.5), ("TOPPADDING", (0, 0), (-1, -1), 0.5),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f2f5f8")]),
        ]))
        story += [Paragraph(sections["children"], ParagraphStyle("h2", fontName=bold, fontSize=10, leading=13)),
                  grid]
    doc.build(story)
    return out.getvalue()
