"""The fonts PDFs are printed with: Vietnamese needs glyphs that reportlab's built-in Helvetica does not have."""

from __future__ import annotations

from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"),)


def pdf_fonts() -> tuple[str, str]:
    """(regular, bold) font names registered with reportlab; DejaVu from Debian's fonts-dejavu-core."""
    for directory in FONT_DIRS:
        regular, bold = directory / "DejaVuSans.ttf", directory / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
                pdfmetrics.registerFont(TTFont("DejaVu", str(regular)))
                pdfmetrics.registerFont(TTFont("DejaVu-Bold", str(bold)))
            return "DejaVu", "DejaVu-Bold"
    raise RuntimeError("fonts-dejavu-core is not installed")
