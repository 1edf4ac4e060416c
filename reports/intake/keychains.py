"""QR keychains: per ward, the police and People's Committee intake links as PNG/SVG and a printable PDF sheet.

The codes point at the city's public address, configured once (GISSERVER_PUBLIC_URL): never at whatever host
served the request, so a sheet printed from a laptop on 127.0.0.1 does not send residents nowhere. Each card has a
call to action and the short address under each code, for people who cannot scan.
"""

from __future__ import annotations

import io
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from gisserver.core.exceptions import Conflict, Invalid, NotFound
from gisserver.core.fonts import pdf_fonts
from reports.areas.models import Area, Unit
from reports.areas.service import area_by_code
from reports.workflow import access

# Which unit a keychain code reaches, and what the resident reads under it.
KINDS = {
    "police": ("ward_police", "security_order", "An ninh, trật tự", "Security & order"),
    "committee": ("ward_committee", "socio_economic", "Kinh tế - xã hội", "Socio-economic"),
}
# The short names printed in the addresses ("Công an", "Ủy ban"): short enough to type from a keychain.
SHORT_KINDS = {"police": "ca", "committee": "ub"}
KIND_OF_SHORT = {short: kind for kind, short in SHORT_KINDS.items()}
CALL_TO_ACTION = "Quét để phản ánh"
CARD_W, CARD_H = 85 * mm, 54 * mm  # a bank-card sized keychain insert
MAX_COPIES = 200


@dataclass(frozen=True)
class KeychainInfo:
    ward_code: str
    ward_name: str
    police_phone: str | None
    links: dict[str, str]  # kind -> intake URL

    def short_links(self) -> dict[str, str]:
        """The links as printed under the codes: without the scheme ("phananh.hue.gov.vn/r/HUE-01/ca")."""
        return {kind: url.split("://", 1)[-1] for kind, url in self.links.items()}


def kind_named(name: str) -> str | None:
    """"police"/"committee", or the short name on a keychain ("ca"/"ub"); None for anything else."""
    return name if name in KINDS else KIND_OF_SHORT.get(name)


def public_base(configured: str) -> str:
    """The configured public address, refused while unset or a loopback address (codes must work outside)."""
    url = (configured or "").strip().rstrip("/")
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not url or parts.scheme not in ("http", "https") or not host:
        raise Conflict("set GISSERVER_PUBLIC_URL to the city's public address (https://...) before making QR codes",
                       {"reason": "public_url_unset"})
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        raise Conflict(f"GISSERVER_PUBLIC_URL is a loopback address ({host}): residents could not open the codes",
                       {"reason": "public_url_loopback"})
    return url


def intake_url(base_url: str, ward_code: str, kind: str) -> str:
    if kind not in KINDS:
        raise NotFound("the code kind is police or committee")
    return f"{base_url.rstrip('/')}/r/{ward_code}/{SHORT_KINDS[kind]}"


def ward_of(session: Session, ward_code: str) -> Area:
    ward = area_by_code(session, ward_code)
    if ward.level != "ward" or ward.valid_to is not None:
        raise NotFound(f"{ward_code} is not a current ward or commune")
    return ward


def keychain_info(session: Session, ward_code: str, base_url: str) -> KeychainInfo:
    ward = ward_of(session, ward_code)
    phone = session.scalar(select(Unit.phone).where(Unit.area_id == ward.id, Unit.unit_type == "ward_police"))
    return KeychainInfo(ward.code, ward.name, phone, {k: intake_url(base_url, ward.code, k) for k in KINDS})


def qr_image(url: str, fmt: str, scale: int = 8) -> bytes:
    """The QR code of *url* as PNG or SVG (error correction M survives a scratched keychain)."""
    if fmt not in ("png", "svg"):
        raise Invalid("format must be png or svg")
    out = io.BytesIO()
    segno.make(url, error="m", micro=False).save(out, kind=fmt, scale=scale, border=2)
    return out.getvalue()


def _fitted(text: str, font: str, size: float, width: float) -> float:
    """The largest size up to *size* at which *text* fits in *width* (a long domain shrinks, never overflows)."""
    return min(size, size * width / max(stringWidth(text, font, size), 1))


def keychain_sheet(info: KeychainInfo, copies: int = 10) -> bytes:
    """An A4 PDF of *copies* keychain cards (two per row) for residents of one ward."""
    if not 1 <= copies <= MAX_COPIES:
        raise Invalid(f"copies must be between 1 and {MAX_COPIES}", {"field": "copies"})
    regular, bold = pdf_fonts()
    codes = {k: ImageReader(io.BytesIO(qr_image(url, "png", scale=6))) for k, url in info.links.items()}
    short = info.short_links()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4)
    pdf.setTitle(f"Móc khóa QR - {info.ward_name}")
    page_w, page_h = A4
    margin_x, margin_y = (page_w - 2 * CARD_W) / 3, 12 * mm
    per_page = 2 * int((page_h - 2 * margin_y) // (CARD_H + 4 * mm))
    half = CARD_W / 2
    for i in range(copies):
        if i and i % per_page == 0:
            pdf.showPage()
        slot = i % per_page
        x = margin_x + (slot % 2) * (CARD_W + margin_x)
        y = page_h - margin_y - (slot // 2 + 1) * (CARD_H + 4 * mm)
        pdf.setDash(2, 2)
        pdf.roundRect(x, y, CARD_W, CARD_H, 3 * mm)  # cut line
        pdf.setDash()
        pdf.setFont(bold, _fitted(info.ward_name, bold, 9, CARD_W - 6 * mm))
        pdf.drawCentredString(x + half, y + CARD_H - 5.5 * mm, info.ward_name)
        pdf.setFont(bold, 10)
        pdf.drawCentredString(x + half, y + CARD_H - 10 * mm, CALL_TO_ACTION)
        for k, (kind, (_, _, label_vi, _)) in enumerate(KINDS.items()):
            centre = x + half * k + half / 2
            pdf.drawImage(codes[kind], centre - 13 * mm, y + 13.5 * mm, 26 * mm, 26 * mm)
            pdf.setFont(bold, 7)
            pdf.drawCentredString(centre, y + 10.5 * mm, label_vi)
            size = _fitted(short[kind], regular, 6.5, half - 3 * mm)
            pdf.setFont(regular, size)
            pdf.drawCentredString(centre, y + 7 * mm, short[kind])
        pdf.setFont(bold, 8)
        phone = info.police_phone or "113"
        pdf.drawCentredString(x + half, y + 2.5 * mm, f"Trực ban Công an: {phone}")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def wards_with_keychains(session: Session) -> list[Area]:
    return list(session.scalars(select(Area).where(Area.level == "ward", Area.valid_to.is_(None)).order_by(Area.code)))


def may_print(session: Session, principal: Principal | None, ward: Area) -> bool:
    """Whether the caller works in *ward* (an area grant covering it, or one of its units); admins everywhere."""
    scope = access.scope_of(session, principal)
    unit_ids = session.scalars(select(Unit.id).where(Unit.area_id == ward.id))
    return scope.covers(area_id=ward.id) or any(scope.covers(unit_id=u) for u in unit_ids)


def printable_wards(session: Session, principal: Principal | None) -> list[Area]:
    """The wards whose keychains the caller may print."""
    return [w for w in wards_with_keychains(session) if may_print(session, principal, w)]
