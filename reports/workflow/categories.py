"""The configurable catalog of report categories, with a default Vietnamese/English set."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from reports.workflow.models import Category

DOMAINS = ("security_order", "socio_economic")
# What residents tell the police (a drug house, a threat, a neighbour's fight) could expose them or
# others if published: public outputs keep only the status of these reports, never what or where.
UNPUBLISHED_DOMAINS = ("security_order",)


def is_published(category: Category) -> bool:
    """Whether a report of this category may show its description and place in public outputs."""
    return category.domain not in UNPUBLISHED_DOMAINS


@dataclass(frozen=True)
class CategorySpec:
    code: str
    name_vi: str
    name_en: str
    domain: str
    unit_type: str
    deadline_hours: int


# Security and order goes to the ward police, socio-economic matters to the ward People's Committee.
DEFAULT_CATEGORIES = (
    CategorySpec("an_ninh_trat_tu", "An ninh trật tự", "Security and public order", "security_order",
                 "ward_police", 24),
    CategorySpec("gay_roi", "Gây rối, đánh nhau", "Disturbance, fighting", "security_order", "ward_police", 4),
    CategorySpec("trom_cap", "Trộm cắp tài sản", "Theft", "security_order", "ward_police", 24),
    CategorySpec("tu_tap_dong_nguoi", "Tụ tập đông người", "Unlawful gathering", "security_order",
                 "ward_police", 4),
    CategorySpec("vi_pham_giao_thong", "Vi phạm giao thông, lấn chiếm lòng đường",
                 "Traffic violation, road encroachment", "security_order", "ward_police", 48),
    CategorySpec("tieng_on", "Tiếng ồn, karaoke gây mất trật tự", "Noise, karaoke at night", "security_order",
                 "ward_police", 12),
    CategorySpec("moi_truong_rac_thai", "Môi trường, rác thải", "Environment, waste", "socio_economic",
                 "ward_committee", 72),
    CategorySpec("dat_dai_xay_dung", "Đất đai, trật tự xây dựng", "Land and construction order", "socio_economic",
                 "ward_committee", 120),
    CategorySpec("ha_tang_duong_hu_hong", "Hạ tầng, đường hư hỏng", "Damaged roads and infrastructure",
                 "socio_economic", "ward_committee", 120),
    CategorySpec("dien_chieu_sang", "Điện chiếu sáng công cộng", "Street lighting", "socio_economic",
                 "ward_committee", 72),
    CategorySpec("cap_thoat_nuoc_ngap_ung", "Cấp thoát nước, ngập úng", "Water supply, drainage, flooding",
                 "socio_economic", "ward_committee", 48),
    CategorySpec("an_toan_thuc_pham", "An toàn thực phẩm", "Food safety", "socio_economic", "ward_committee", 72),
    CategorySpec("dot_rom_ra", "Đốt rơm rạ, đốt rác", "Straw or waste burning", "socio_economic", "ward_committee", 24),
    CategorySpec("cay_xanh", "Cây xanh gãy đổ", "Fallen or dangerous trees", "socio_economic", "ward_committee", 24),
    CategorySpec("thu_tuc_hanh_chinh", "Thủ tục hành chính", "Administrative procedures", "socio_economic",
                 "ward_committee", 120),
)


def ensure_default_categories(session: Session) -> int:
    """Add the default categories that are missing; returns how many were added."""
    have = set(session.scalars(select(Category.code)))
    added = 0
    for spec in DEFAULT_CATEGORIES:
        if spec.code not in have:
            session.add(Category(**spec.__dict__, active=True))
            added += 1
    session.flush()
    return added


def list_categories(session: Session, *, include_inactive: bool = False) -> list[Category]:
    query = select(Category).order_by(Category.domain, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    return list(session.scalars(query))


def category_by_code(session: Session, code: str, *, active_only: bool = True) -> Category:
    category = session.scalar(select(Category).where(Category.code == code))
    if category is None or (active_only and not category.active):
        raise Invalid(f"unknown category {code!r}", {"field": "category"})
    return category


def save_category(session: Session, spec: CategorySpec, *, active: bool = True) -> Category:
    """Create or update a category (configuration by administrators)."""
    if spec.domain not in DOMAINS:
        raise Invalid(f"domain must be one of {', '.join(DOMAINS)}")
    if spec.deadline_hours <= 0:
        raise Invalid("deadline_hours must be positive")
    category = session.scalar(select(Category).where(Category.code == spec.code))
    if category is None:
        category = Category(code=spec.code)
        session.add(category)
    for key, value in spec.__dict__.items():
        setattr(category, key, value)
    category.active = active
    session.flush()
    return category


def get_category(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise NotFound("no such category")
    return category
