"""A dashboard as a PDF for meetings and as an XLSX of its data.

The PDF lays the panels out as the page does (a 12-column grid, panels in order, each where the browser's grid
places it) on landscape A4 pages, one page per screenful of four rows. Everything is drawn with reportlab's
graphics, so charts, maps and gauges are vector paths and text (they print sharp and their text can be searched),
never pictures. The XLSX has a sheet per panel and one with the indicators' definitions; it is written by the
summaries' writer (every text cell a string, never a formula).
"""

from __future__ import annotations

import io
import math
import re
from datetime import UTC, datetime

from reportlab.graphics import renderPDF
from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Group, Line, Path, PolyLine, Rect, String, Wedge
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from gisserver.core.fonts import pdf_fonts
from reports.dashboards import labels
from reports.dashboards.indicators import CATALOG
from reports.dashboards.panels import GRID_COLUMNS
from reports.summaries.exports import Sheet, to_xlsx

PAGE_W, PAGE_H = landscape(A4)
MARGIN = 22
HEADER = 44
ROWS_PER_PAGE = 4
GAP = 6
SIDE_COLOURS = ("#3182bd", "#e6550d")  # the panel's own area or period, and what it is compared with
SERIES_COLOURS = ("#3182bd", "#31a354", "#e6550d", "#756bb1", "#636363", "#d6616b", "#8ca252", "#bd9e39",
                  "#17becf", "#9467bd", "#bcbd22", "#7f7f7f")
UNIT_SUFFIX = {"percent": "%", "hours": " h", "km": " km", "ha": " ha", "cm": " cm", "count": ""}


# -- numbers in the reader's format ---------------------------------------------------------------------------


def number(value, unit: str = "count", english: bool = False) -> str:
    if value is None:
        return "–"
    if unit == "percent":
        text, suffix = f"{value * 100:,.1f}", "%"
    elif unit == "count" and float(value).is_integer():
        text, suffix = f"{int(value):,}", ""
    else:
        digits = 1 if abs(value) >= 100 or unit == "hours" else 2
        text, suffix = f"{value:,.{digits}f}", UNIT_SUFFIX.get(unit, "")
    if not english:  # 12.345,6
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text + suffix


# -- laying panels out as the browser's grid does -------------------------------------------------------------


def place(panels: list[dict], columns: int = GRID_COLUMNS, rows_per_page: int = ROWS_PER_PAGE):
    """(page, row on the page, column) of each panel: CSS grid's sparse auto-placement (in order, each at the first
    free place after the previous one), except that a panel that would cross a page's end starts the next page."""
    taken: set[tuple[int, int]] = set()
    spots = []
    row, col = 0, 0
    for panel in panels:
        w, h = min(panel["width"], columns), min(panel["height"], rows_per_page)
        while True:
            if col + w > columns:
                row, col = row + 1, 0
                continue
            if row % rows_per_page + h > rows_per_page:
                row, col = (row // rows_per_page + 1) * rows_per_page, 0
                continue
            if any((row + r, col + c) in taken for r in range(h) for c in range(w)):
                col += 1
                continue
            break
        taken.update((row + r, col + c) for r in range(h) for c in range(w))
        spots.append((row // rows_per_page, row % rows_per_page, col))
        col += w
    return spots


# -- drawing one panel ------------------------------------------------------------------------------------------


class Painter:
    def __init__(self, english: bool):
        self.english = english
        self.regular, self.bold = pdf_fonts()

    def text(self, x, y, value, size=7, bold=False, colour="#1d2733", anchor="start", width=None) -> String:
        value = str(value)
        font = self.bold if bold else self.regular
        if width is not None:
            while value and stringWidth(value, font, size) > width:
                value = value[:-2] + "…" if len(value) > 2 else ""
        return String(x, y, value, fontName=font, fontSize=size, fillColor=colors.HexColor(colour),
                      textAnchor=anchor)

    def panel(self, panel: dict, w: float, h: float) -> Drawing:
        d = Drawing(w, h)
        d.add(Rect(0, 0, w, h, strokeColor=colors.HexColor("#d5dde5"), fillColor=colors.white, strokeWidth=0.6))
        title = panel.get("title") or " · ".join(dict.fromkeys(s["label"] for s in panel["series"])) or ""
        d.add(self.text(6, h - 12, title, 8, True, width=w - 12))
        sides = panel.get("sides") or []
        if len(sides) > 1:
            legend = " | ".join(self.side_label(s) for s in sides)
            d.add(self.text(6, h - 21, legend, 6, colour="#52606d", width=w - 12))
        body_h = h - (26 if len(sides) > 1 else 18)
        if panel.get("error"):
            d.add(self.text(6, body_h / 2, panel["error"]["message"], 7, colour="#8a1c1c", width=w - 12))
            return d
        if not panel["series"]:
            d.add(self.text(6, body_h / 2, labels.WORDS["no_data"], 7, colour="#52606d"))
            return d
        draw = getattr(self, f"draw_{panel['chart']}")
        if _splits(panel):
            # Two areas compared part by part: each has its own parts, so each gets its own half of the panel.
            for n, side in enumerate(sides):
                one = {**panel, "sides": [side], "series": [s for s in panel["series"] if s["side"] == n]}
                part = draw(one, w / 2, body_h)
                part.translate(w / 2 * n, 0)
                d.add(part)
        else:
            d.add(draw(panel, w, body_h))
        return d

    def side_label(self, side: dict) -> str:
        period = side.get("period")
        span = f" {period['from']} – {period['to']}" if period else ""
        return f"{side['area']['name']}{span}"

    def draw_number(self, panel, w, h) -> Group:
        g = Group()
        series = panel["series"]
        slot = w / len(series)
        for i, s in enumerate(series):
            x = slot * i + 6
            g.add(self.text(x, h * 0.55, number(s.get("value"), s["unit"], self.english), min(22, h * 0.35), True,
                            SIDE_COLOURS[s["side"] % 2] if len(series) > 1 else "#0b4f6c", width=slot - 10))
            previous = s.get("previous")
            if previous is not None and s.get("value") is not None:
                change = s["value"] - previous
                arrow = "▲" if change > 0 else ("▼" if change < 0 else "=")
                text = f"{arrow} {number(abs(change), s['unit'], self.english)} ({labels.WORDS['previous']}: " \
                       f"{number(previous, s['unit'], self.english)})"
                good = (change > 0) == (s.get("better") == "higher") if change and s.get("better") else None
                g.add(self.text(x, h * 0.55 - 12, text, 6.5, colour={True: "#1f6b2c", False: "#b30000"}.get(
                    good, "#52606d"), width=slot - 10))
            spark = [v for v in s.get("spark") or [] if v is not None]
            if len(spark) > 1:
                low, high = min(spark), max(spark)
                span = (high - low) or 1
                pts = []
                for k, v in enumerate(spark):
                    pts += [x + k * (slot - 14) / (len(spark) - 1), 6 + (v - low) / span * (h * 0.22)]
                g.add(PolyLine(pts, strokeColor=colors.HexColor("#6baed6"), strokeWidth=1))
        return g

    def _categories(self, panel) -> list[str]:
        first = panel["series"][0].get("points") or []
        return [p["label"] for p in first]

    def _chart_frame(self, chart, w, h, left=28, bottom=22):
        chart.x, chart.y, chart.width, chart.height = left, bottom, max(w - left - 8, 10), max(h - bottom - 4, 10)
        return chart

    def _value_axis(self, axis, unit, data=None):
        axis.labels.fontName, axis.labels.fontSize = self.regular, 6
        axis.labelTextFormat = lambda v: number(v, unit, self.english) if unit == "percent" else \
            number(v, "count" if float(v).is_integer() else unit, self.english).replace(UNIT_SUFFIX.get(unit, ""), "")
        axis.forceZero = True
        if data is not None and not any(v for row in data for v in row):
            axis.valueMin, axis.valueMax = 0, 1  # all zero: a plain axis, not -0.01 .. 0.01
        elif data is not None and unit == "count" and max(v for row in data for v in row) <= 8:
            axis.valueStep = 1  # a few features: whole numbers on the axis

    def _data(self, panel):
        series = [s for s in panel["series"] if s.get("points") is not None]
        data = [[(p["value"] if p["value"] is not None else 0) for p in s["points"]] for s in series]
        return series, data

    def draw_bar(self, panel, w, h, stacked=False) -> Group:
        series, data = self._data(panel)
        g = Group()
        if not data or not data[0]:
            g.add(self.text(6, h / 2, labels.WORDS["no_data"], 7, colour="#52606d"))
            return g
        chart = self._chart_frame(VerticalBarChart(), w, h)
        chart.data = data
        chart.categoryAxis.categoryNames = _thin([_short(c, 14) for c in self._categories(panel)])
        chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = self.regular, 5.5
        if len(chart.categoryAxis.categoryNames) > 8:
            chart.categoryAxis.labels.angle, chart.categoryAxis.labels.boxAnchor = 45, "ne"
        self._value_axis(chart.valueAxis, series[0]["unit"], data)
        if stacked:
            chart.categoryAxis.style = "stacked"
        chart.barSpacing, chart.groupSpacing = 0.5, 3
        for i, s in enumerate(series):
            colour = SIDE_COLOURS[s["side"] % 2] if len({x["indicator"] for x in series}) == 1 and len(
                {x.get("group") for x in series}) == 1 else SERIES_COLOURS[i % len(SERIES_COLOURS)]
            chart.bars[i].fillColor = colors.HexColor(colour)
            chart.bars[i].strokeColor = None
        g.add(chart)
        g.add(self._legend(series, w, h))
        return g

    def draw_stacked(self, panel, w, h) -> Group:
        return self.draw_bar(panel, w, h, stacked=True)

    def draw_line(self, panel, w, h) -> Group:
        series, data = self._data(panel)
        g = Group()
        if not data or not data[0]:
            g.add(self.text(6, h / 2, labels.WORDS["no_data"], 7, colour="#52606d"))
            return g
        chart = self._chart_frame(HorizontalLineChart(), w, h)
        chart.data = data
        chart.categoryAxis.categoryNames = _thin(self._categories(panel))
        chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = self.regular, 5.5
        if len(chart.categoryAxis.categoryNames) > 8:
            chart.categoryAxis.labels.angle, chart.categoryAxis.labels.boxAnchor = 45, "ne"
        self._value_axis(chart.valueAxis, series[0]["unit"])
        for i, s in enumerate(series):
            chart.lines[i].strokeColor = colors.HexColor(SERIES_COLOURS[i % len(SERIES_COLOURS)])
            chart.lines[i].strokeWidth = 1.4
            if s["side"]:
                chart.lines[i].strokeDashArray = (3, 2)
        g.add(chart)
        g.add(self._legend(series, w, h))
        return g

    def _legend(self, series, w, h) -> Group:
        g = Group()
        names = list(dict.fromkeys((s.get("group") is not None and s["label"]) or s["label"] for s in series))
        if len(names) < 2:
            return g
        x = 30
        for i, name in enumerate(names[:8]):
            g.add(Rect(x, h - 6, 5, 5, fillColor=colors.HexColor(SERIES_COLOURS[i % len(SERIES_COLOURS)]),
                       strokeColor=None))
            label = self.text(x + 7, h - 6, _short(name, 18), 5.5)
            g.add(label)
            x += 14 + stringWidth(label.text, self.regular, 5.5)
            if x > w - 40:
                break
        return g

    def draw_ranking(self, panel, w, h) -> Group:
        g = Group()
        series = [s for s in panel["series"] if s.get("points")]
        if not series:
            g.add(self.text(6, h / 2, labels.WORDS["no_data"], 7, colour="#52606d"))
            return g
        rows = max(1, int(h // 9))
        points = series[0]["points"][:rows]
        chart = self._chart_frame(HorizontalBarChart(), w, h, left=min(110, w * 0.4), bottom=12)
        by_key = [{p["key"]: p["value"] for p in s["points"]} for s in series]
        chart.data = [[(v.get(p["key"]) or 0) for p in reversed(points)] for v in by_key]
        chart.categoryAxis.categoryNames = [f"{p.get('rank') or ''}. {_short(p['label'], 24)}" for p in
                                            reversed(points)]
        chart.categoryAxis.labels.fontName, chart.categoryAxis.labels.fontSize = self.regular, 6
        self._value_axis(chart.valueAxis, series[0]["unit"])
        for i, s in enumerate(series):
            chart.bars[i].fillColor = colors.HexColor(SIDE_COLOURS[s["side"] % 2])
            chart.bars[i].strokeColor = None
        g.add(chart)
        return g

    def draw_table(self, panel, w, h) -> Group:
        g = Group()
        series = [s for s in panel["series"] if s.get("points") is not None]
        if not series:
            return self.draw_number(panel, w, h)
        keys = list(dict.fromkeys((p["key"], p["label"]) for s in series for p in s["points"]))
        values = [{p["key"]: p["value"] for p in s["points"]} for s in series]
        first = min(w * 0.4, 120)
        col = (w - first - 8) / len(series)
        y = h - 8
        for i, s in enumerate(series):
            name = s["label"] if s.get("group") is not None or len(panel["sides"]) < 2 else \
                f"{s['label']} ({s['side'] + 1})"
            g.add(self.text(first + col * (i + 1), y, _short(name, int(col / 3.2)), 6, True, anchor="end"))
        rows = max(1, int((h - 10) // 8))
        for r, (key, label) in enumerate(keys[:rows]):
            y = h - 17 - r * 8
            if r % 2 == 0:
                g.add(Rect(4, y - 2, w - 8, 8, fillColor=colors.HexColor("#f2f5f8"), strokeColor=None))
            g.add(self.text(6, y, label, 6, width=first - 8))
            for i, s in enumerate(series):
                g.add(self.text(first + col * (i + 1), y, number(values[i].get(key), s["unit"], self.english), 6,
                                anchor="end"))
        if len(keys) > rows:
            g.add(self.text(6, 1, f"… +{len(keys) - rows}", 5.5, colour="#52606d"))
        return g

    def draw_gauge(self, panel, w, h) -> Group:
        g = Group()
        items = []
        for s in panel["series"]:
            if s.get("points") is not None:
                items += [(p["label"], p["value"], p["max"], p["thresholds"], "cm") for p in s["points"]]
            else:
                items.append((self.side_label(panel["sides"][s["side"]]) if len(panel["sides"]) > 1 else "",
                              s.get("value"), 1.0, None, s["unit"]))
        if not items:
            g.add(self.text(6, h / 2, labels.WORDS["no_data"], 7, colour="#52606d"))
            return g
        per_row = max(1, min(len(items), int(w // 70)))
        fits = per_row * max(1, int(h // 55))  # the worst first: those that fit, then how many more
        if len(items) > fits:
            g.add(self.text(w - 4, 2, f"… +{len(items) - fits + 1}", 6, colour="#52606d", anchor="end"))
            items = items[:fits - 1] if fits > 1 else items[:1]
        rows = math.ceil(len(items) / per_row)
        cell_w, cell_h = w / per_row, h / rows
        for i, (label, value, top, bands, unit) in enumerate(items):
            cx = cell_w * (i % per_row) + cell_w / 2
            cy = h - cell_h * (i // per_row + 1) + 14
            r = max(8, min(cell_w / 2 - 6, cell_h - 26))
            g.add(self._gauge(cx, cy, r, value, top, bands, unit))
            g.add(self.text(cx, cy - 11, _short(label, 22), 6, anchor="middle"))
        return g

    def _gauge(self, cx, cy, r, value, top, bands, unit) -> Group:
        g = Group()
        if bands:  # a hotspot: normal, watch, warning, danger bands up to 125 % of danger
            edges = [0, *bands, top]
            fills = ["#31a354", "#fed976", "#fd8d3c", "#bd0026"]
        else:  # a share: red, amber, green thirds
            edges, fills = [0, top * 0.5, top * 0.8, top], ["#fdae6b", "#fee391", "#a1d99b"]
        for (a, b), fill in zip(zip(edges, edges[1:], strict=False), fills, strict=False):
            start, end = 180 - 180 * min(b, top) / top, 180 - 180 * min(a, top) / top
            g.add(Wedge(cx, cy, r, start, end, radius1=r * 0.62, fillColor=colors.HexColor(fill), strokeColor=None))
        if value is not None:
            angle = math.radians(180 - 180 * max(0.0, min(value, top)) / top)
            g.add(Line(cx, cy, cx + math.cos(angle) * r * 0.95, cy + math.sin(angle) * r * 0.95,
                       strokeColor=colors.HexColor("#1d2733"), strokeWidth=1.5))
        g.add(self.text(cx, cy + 2, number(value, unit, self.english), 7, True, anchor="middle"))
        return g

    def draw_choropleth(self, panel, w, h) -> Group:
        g = Group()
        maps = panel.get("shapes") or []
        slot = w / max(1, len(maps))
        for i, shapes in enumerate(maps):
            g.add(self._map(shapes, slot * i + 4, 14, slot - 8, h - 16))
            legend = shapes.get("legend") or {}
            x = slot * i + 6
            for colour, upper in zip(legend.get("colours") or [], legend.get("bins") or [], strict=False):
                g.add(Rect(x, 3, 6, 6, fillColor=colors.HexColor(colour), strokeColor=None))
                unit = panel["series"][0]["unit"]
                label = self.text(x + 8, 3, f"≤ {number(upper, unit, self.english)}", 5.5)
                g.add(label)
                x += 14 + stringWidth(label.text, self.regular, 5.5)
        return g

    def _map(self, shapes: dict, x0, y0, w, h) -> Group:
        g = Group()
        rings = [(f["properties"]["colour"], ring) for f in shapes["features"] if f.get("geometry")
                 for ring in _rings(f["geometry"])]
        points = [p for _, ring in rings for p in ring]
        if not points:
            return g
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        lat = math.radians((min(ys) + max(ys)) / 2)
        sx = math.cos(lat)  # near-equal-area at the city's latitude
        width, height = (max(xs) - min(xs)) * sx or 1e-9, (max(ys) - min(ys)) or 1e-9
        scale = min(w / width, h / height)
        ox, oy = x0 + (w - width * scale) / 2, y0 + (h - height * scale) / 2
        for colour, ring in rings:
            path = Path(fillColor=colors.HexColor(colour), strokeColor=colors.white, strokeWidth=0.4)
            for k, (lon, lat_) in enumerate(ring):
                px, py = ox + (lon - min(xs)) * sx * scale, oy + (lat_ - min(ys)) * scale
                (path.moveTo if k == 0 else path.lineTo)(px, py)
            path.closePath()
            g.add(path)
        return g


def _thin(names: list[str], most: int = 20) -> list[str]:
    """Every k-th label of a long axis (forty wards' names side by side print over each other)."""
    step = math.ceil(len(names) / most) if names else 1
    return [n if i % step == 0 else "" for i, n in enumerate(names)]


def _splits(panel: dict) -> bool:
    sides = panel.get("sides") or []
    return (len(sides) > 1 and sides[0]["area"]["code"] != sides[1]["area"]["code"]
            and panel["dimension"] in ("children", "items") and panel["chart"] != "choropleth")


def _rings(geometry: dict):
    polygons = geometry["coordinates"] if geometry["type"] == "MultiPolygon" else [geometry["coordinates"]] \
        if geometry["type"] == "Polygon" else []
    for polygon in polygons:
        yield from polygon[:1]  # outer rings: holes are drawn over by the areas inside them


def _short(text, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:max(1, limit - 1)] + "…"


def dashboard_pdf(title: str, data: dict, english: bool = False) -> bytes:
    """The dashboard on landscape A4 pages, a screenful (four grid rows) per page, all vector graphics."""
    painter = Painter(english)
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(PAGE_W, PAGE_H), pageCompression=1)
    canvas.setTitle(title)
    panels = data["panels"]
    spots = place(panels)
    pages = max([s[0] for s in spots], default=0) + 1
    usable_w, usable_h = PAGE_W - 2 * MARGIN, PAGE_H - 2 * MARGIN - HEADER
    col_w, row_h = usable_w / GRID_COLUMNS, usable_h / ROWS_PER_PAGE
    area, period = data["area"], data["period"]
    subtitle = f"{area['name']} · {labels.WORDS['period']}: {period['from']} – {period['to']}"
    if data.get("category"):
        subtitle += f" · {labels.WORDS['category']}: {data['category']}"
    compare = data.get("compare") or {}
    if compare.get("area") or compare.get("period"):
        other = compare.get("area_name") or compare.get("area") or \
            f"{compare['period'].get('from', '')} – {compare['period'].get('to', '')}"
        subtitle += f" · {labels.WORDS['compare']}: {other}"
    stamp = f"{labels.WORDS['generated']} {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    for page in range(pages):
        canvas.setFont(painter.bold, 14)
        canvas.drawString(MARGIN, PAGE_H - MARGIN - 14, title)
        canvas.setFont(painter.regular, 8)
        canvas.drawString(MARGIN, PAGE_H - MARGIN - 28, subtitle)
        canvas.drawRightString(PAGE_W - MARGIN, PAGE_H - MARGIN - 28, f"{stamp} · {page + 1}/{pages}")
        for panel, (on_page, row, col) in zip(panels, spots, strict=True):
            if on_page != page:
                continue
            w = col_w * min(panel["width"], GRID_COLUMNS) - GAP
            h = row_h * min(panel["height"], ROWS_PER_PAGE) - GAP
            x = MARGIN + col * col_w
            y = PAGE_H - MARGIN - HEADER - (row * row_h) - h
            renderPDF.draw(painter.panel(panel, w, h), canvas, x, y)
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def _heading(series: dict, sides: list[dict]) -> str:
    """A column's name: the indicator, its unit, and with a comparison the side (area, period) it shows."""
    head = series["label"] + (f" [{series['unit']}]" if series["unit"] != "count" else "")
    if len(sides) > 1:
        side = sides[series["side"]]
        head += f" · {side['area']['name']}"
        if side.get("period"):
            head += f" {side['period']['from']}–{side['period']['to']}"
    return head


def dashboard_xlsx(title: str, data: dict) -> bytes:
    """A sheet of what the dashboard shows, a sheet per panel with its figures, and the definitions."""
    words = {k: str(v) for k, v in labels.WORDS.items()}
    area, period = data["area"], data["period"]
    overview = [[words["dashboards"], title], [words["area"], f"{area['code']} {area['name']}"],
                [words["period"], f"{period['from']} – {period['to']}"],
                [words["category"], data.get("category") or words["all_categories"]]]
    compare = data.get("compare") or {}
    if compare.get("area") or compare.get("period"):
        overview.append([words["compare"], compare.get("area_name") or compare.get("area") or
                         f"{compare['period'].get('from', '')} – {compare['period'].get('to', '')}"])
    sheets = [Sheet("overview", str(labels.WORDS["dashboards"]), [words["key"], words["value"]], overview)]
    used = set()
    for i, panel in enumerate(data["panels"], start=1):
        name = (panel.get("title") or (panel["series"][0]["label"] if panel["series"] else panel["id"]))
        sheet_title = re.sub(r"[\\/?*:\[\]]", "-", f"{i} {name}")[:31]  # characters Excel refuses in a name
        if panel.get("error"):
            sheets.append(Sheet(panel["id"], sheet_title, [words["value"]], [[panel["error"]["message"]]]))
            continue
        sides = panel.get("sides") or []
        series = panel["series"]
        if any(s.get("points") is not None for s in series):
            keys = list(dict.fromkeys((p["key"], p["label"]) for s in series for p in s.get("points") or []))
            values = [{p["key"]: p["value"] for p in s.get("points") or []} for s in series]
            rows = [[label, *(v.get(key) for v in values)] for key, label in keys]
            sheets.append(Sheet(panel["id"], sheet_title, [words["key"], *(_heading(s, sides) for s in series)],
                                rows))
        else:
            rows = [[_heading(s, sides), s.get("value"), s.get("previous")] for s in series]
            sheets.append(Sheet(panel["id"], sheet_title, [words["indicator"], words["value"], words["previous"]],
                                rows))
        used.update(s["indicator"] for s in series)
    definitions = [[CATALOG[k].label, CATALOG[k].unit, CATALOG[k].definition] for k in CATALOG if k in used]
    sheets.append(Sheet("definitions", str(labels.WORDS["definitions"]),
                        [words["indicator"], words["unit"], words["definition"]], definitions))
    return to_xlsx(sheets)
