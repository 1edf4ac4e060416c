"""QR keychains: per ward, the police and People's Committee intake links as PNG/SVG and a printable PDF sheet."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from gisserver.core.fonts import pdf_fonts
from reports.areas.models import Area, Unit
from reports.areas.service import area_by_code

# Which unit a keychain code reaches, and what the resident reads under it.
KINDS = {
    "police": ("ward_police", "security_order", "An ninh, trật tự", "Security & order"),
    "committee": ("ward_committee", "socio_economic", "Kinh tế - xã hội", "Socio-economic"),
}
CARD_W, CARD_H = 85 * mm, 54 * mm  # a bank-card sized keychain insert


@dataclass(frozen=True)
class KeychainInfo:
    ward_code: str
    ward_name: str
    police_phone: str | None
    links: dict[str, str]  # kind -> intake URL


def intake_url(base_url: str, ward_code: str, kind: str) -> str:
    if kind not in KINDS:
        raise NotFound("the code kind is police or committee")
    return f"{base_url.rstrip('/')}/r/{ward_code}/{kind}"


def keychain_info(session: Session, ward_code: str, base_url: str) -> KeychainInfo:
    ward = area_by_code(session, ward_code)
    if ward.level != "ward" or ward.valid_to is not None:
        raise NotFound(f"{ward_code} is not a current ward or commune")
    phone = session.scalar(select(Unit.phone).where(Unit.area_id == ward.id, Unit.unit_type == "ward_police"))
    return KeychainInfo(ward.code, ward.name, phone, {k: intake_url(base_url, ward.code, k) for k in KINDS})


def qr_image(url: str, fmt: str, scale: int = 8) -> bytes:
    """The QR code of *url* as PNG or SVG (error correction M survives a scratched keychain)."""
    if fmt not in ("png", "svg"):
        raise Invalid("format must be png or svg")
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind=fmt, scale=scale, border=2)
    return out.getvalue()


def keychain_sheet(info: KeychainInfo, copies: int = 10) -> bytes:
    """An A4 PDF of *copies* keychain cards (two per row) for residents of one ward."""
    if not 1 <= copies <= 200:
        raise Invalid("copies must be between 1 and 200")
    regular, bold = pdf_fonts()
    codes = {k: ImageReader(io.BytesIO(qr_image(url, "png", scale=6))) for k, url in info.links.items()}
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"Móc khóa QR - {info.ward_name}")
    page_w, page_h = A4
    margin_x, margin_y = (page_w - 2 * CARD_W) / 3, 12 * mm
    per_page = 2 * int((page_h - 2 * margin_y) // (CARD_H + 4 * mm))
    for i in range(copies):
        if i and i % per_page == 0:
            pdf.showPage()
        slot = i % per_page
        x = margin_x + (slot % 2) * (CARD_W + margin_x)
        y = page_h - margin_y - (slot // 2 + 1) * (CARD_H + 4 * mm)
        pdf.setDash(2, 2)
        pdf.roundRect(x, y, CARD_W, CARD_H, 3 * mm)  # cut line
        pdf.setDash()
        pdf.setFont(bold, 9)
        pdf.drawCentredString(x + CARD_W / 2, y + CARD_H - 6 * mm, info.ward_name)
        for k, (kind, (_, _, label_vi, _)) in enumerate(KINDS.items()):
            qx = x + 5 * mm + k * (CARD_W / 2)
            pdf.drawImage(codes[kind], qx, y + 11 * mm, 30 * mm, 30 * mm)
            pdf.setFont(regular, 7)
            pdf.drawCentredString(qx + 15 * mm, y + 8 * mm, label_vi)
        pdf.setFont(bold, 8)
        phone = info.police_phone or "113"
        pdf.drawCentredString(x + CARD_W / 2, y + 3 * mm, f"Trực ban Công an: {phone}")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def wards_with_keychains(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).where(Area.level == "ward", Area.valid_to.is_(None)).order_by(Area.code)))
