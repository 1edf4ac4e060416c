"""A year of realistic citizen reports for the demo city, made through the intake and workflow services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gisserver.demo.geography import CENTER, CITY_CODE
from reports.areas.models import Area
from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Report

# (category, weight, share handled late, share rejected, sample descriptions)
PROFILE = {
    "moi_truong_rac_thai": (16, 0.12, 0.03, ["Rác thải ùn ứ nhiều ngày chưa thu gom", "Đổ trộm xà bần ven đường",
                                             "Nước thải từ quán ăn chảy ra đường"]),
    "vi_pham_giao_thong": (12, 0.10, 0.06, ["Xe đậu chiếm hết lòng đường", "Buôn bán lấn chiếm vỉa hè",
                                            "Xe tải chạy quá tốc độ trong kiệt"]),
    "tieng_on": (9, 0.08, 0.05, ["Hát karaoke quá 22 giờ", "Công trình thi công gây ồn ban đêm"]),
    "dien_chieu_sang": (9, 0.15, 0.02, ["Đèn đường không sáng cả đoạn", "Cột đèn nghiêng có nguy cơ đổ"]),
    "ha_tang_duong_hu_hong": (8, 0.25, 0.04, ["Mặt đường sụt lún, ổ gà lớn", "Nắp hố ga bị vỡ"]),
    "cap_thoat_nuoc_ngap_ung": (8, 0.18, 0.02, ["Cống thoát nước bị tắc gây ngập", "Vỡ ống nước sạch"]),
    "an_ninh_trat_tu": (7, 0.08, 0.05, ["Đối tượng lạ thường xuyên lảng vảng", "Nghi vấn tụ điểm cờ bạc"]),
    "dat_dai_xay_dung": (7, 0.30, 0.08, ["Xây dựng không phép", "Lấn chiếm đất công làm quán"]),
    "trom_cap": (5, 0.10, 0.04, ["Mất trộm xe máy trước nhà", "Trộm cắp tài sản tại chợ"]),
    "cay_xanh": (5, 0.12, 0.02, ["Cây xanh gãy cành sau mưa bão", "Cây nghiêng đe dọa nhà dân"]),
    "gay_roi": (4, 0.06, 0.03, ["Nhóm thanh niên đánh nhau", "Say rượu gây rối"]),
    "an_toan_thuc_pham": (3, 0.15, 0.05, ["Cơ sở bán đồ ăn mất vệ sinh"]),
    "dot_rom_ra": (3, 0.10, 0.03, ["Đốt rơm rạ gây khói mù", "Đốt rác thải nhựa ngoài đồng"]),
    "tu_tap_dong_nguoi": (2, 0.05, 0.05, ["Tụ tập đua xe ban đêm"]),
    "thu_tuc_hanh_chinh": (2, 0.20, 0.10, ["Hồ sơ chứng thực trễ hẹn", "Hướng dẫn thủ tục chưa rõ"]),
}
CHANNELS = (("qr_web", 0.55), ("api", 0.2), ("phone", 0.15), ("open311", 0.10))
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Hồ", "Ngô")
GIVEN = ("Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thị Hoa", "Văn Hùng", "Thị Lan", "Đức Long")
LOCAL = timedelta(hours=7)  # reports arrive by day in Vietnam time


@dataclass
class DemoReportsResult:
    created: int
    open: int
    overdue_open: int


def _group_polygons(session: Session):
    rows = session.execute(select(Area.code, Area.geom, Area.parent_id).where(Area.level == "group",
                                                                             Area.valid_to.is_(None)))
    return [(code, to_shape(geom), parent_id) for code, geom, parent_id in rows]


def _point_in(rng: np.random.Generator, polygon) -> tuple[float, float]:
    minx, miny, maxx, maxy = polygon.bounds
    prepared = shapely.prepared.prep(polygon)
    while True:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if prepared.contains(shapely.Point(x, y)):
            return round(float(x), 6), round(float(y), 6)


def load_demo_reports(session: Session, *, seed: int, end: datetime, days: int = 365, per_day: float = 12.0,
                      urban_centre=(107.585, 16.463), actor: str = "user:officer",
                      officer_ward: str | None = None) -> DemoReportsResult:
    """About *per_day* reports a day over *days* days up to *end*, handled like a real ward would.

    Deterministic for a seed and an end date. Busier near the centre; more flooding in the rainy season.
    In *officer_ward* the demo officer (*actor*) takes the calls and handles the reports; elsewhere each report's
    unit does ("unit:<code>" in the history), and calls are taken by the unit's duty line.
    """
    ward_id = session.scalar(select(Area.id).where(Area.code == officer_ward)) if officer_ward else None
    rng = np.random.default_rng(seed)
    groups = _group_polygons(session)
    if not groups:
        raise ValueError("load the areas first")
    # Residential groups near the centre are denser and report more.
    centre = shapely.Point(urban_centre)
    weights = np.array([1.0 / (0.01 + poly.centroid.distance(centre)) ** 1.3 for _, poly, _ in groups])
    weights /= weights.sum()
    codes = list(PROFILE)
    cat_weights = np.array([PROFILE[c][0] for c in codes], dtype=float)
    channels = [c for c, _ in CHANNELS]
    channel_p = np.array([p for _, p in CHANNELS])
    start = end - timedelta(days=days)
    created = open_count = overdue_open = 0
    for day in range(days):
        midnight = start + timedelta(days=day)
        month = (midnight + LOCAL).month
        rainy = month in (9, 10, 11, 12)
        n = rng.poisson(per_day * (1.15 if rainy else 0.95))
        for _ in range(n):
            w = cat_weights.copy()
            if rainy:
                w[codes.index("cap_thoat_nuoc_ngap_ung")] *= 3
                w[codes.index("cay_xanh")] *= 2
            else:
                w[codes.index("dot_rom_ra")] *= 1.5
            code = codes[rng.choice(len(codes), p=w / w.sum())]
            _, late_share, reject_share, texts = PROFILE[code]
            # Local daytime 6:00-22:00, in UTC.
            at = midnight + timedelta(hours=float(rng.uniform(6, 22))) - LOCAL
            if at >= end:
                continue
            _, polygon, parent_id = groups[rng.choice(len(groups), p=weights)]
            officers = ward_id is None or parent_id == ward_id  # the demo officer's own ward
            lon, lat = _point_in(rng, polygon)
            named = rng.random() < 0.4
            data = ReportInput(
                category=code,
                description=str(rng.choice(texts)),
                lon=lon,
                lat=lat,
                channel=str(rng.choice(channels, p=channel_p)),
                reporter_name=f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}" if named else None,
                reporter_phone=f"09{rng.integers(10_000_000, 99_999_999)}" if named else None,
            )
            phoned = data.channel == "phone"  # a call taken by the officer (in their ward) or a unit's duty line
            by_officer = phoned and officers
            report, _ = submit_report(session, data, actor=actor if by_officer else "anonymous", staff=phoned,
                                      now=at, filed_by=actor.split(":", 1)[1] if by_officer else None)
            created += 1
            handler = actor if officers or report.unit is None else f"unit:{report.unit.code}"
            status = _handle(session, rng, report, at, end, late_share, reject_share, handler)
            if status in ("new", "acknowledged", "in_progress"):
                open_count += 1
                overdue_open += report.due_at < end
        session.flush()
    return DemoReportsResult(created=created, open=open_count, overdue_open=overdue_open)


def _handle(session, rng, report, at, end, late_share, reject_share, actor) -> str:
    deadline = report.due_at - report.created_at
    steps = []
    ack = at + timedelta(hours=float(rng.uniform(0.2, 0.15 * deadline.total_seconds() / 3600 + 1)))
    steps.append(("acknowledge", ack, ""))
    begin = ack + timedelta(hours=float(rng.uniform(0.5, 0.25 * deadline.total_seconds() / 3600 + 1)))
    roll = rng.random()
    if roll < reject_share:
        steps.append(("reject", begin, "Nội dung phản ánh không thuộc thẩm quyền, đã hướng dẫn người dân"))
    else:
        steps.append(("start", begin, ""))
        if rng.random() < late_share:
            finish = at + deadline * float(rng.uniform(1.05, 2.5))
        else:
            finish = at + deadline * float(rng.uniform(0.2, 0.98))
        if rng.random() > 0.015:  # a few are forgotten in progress: the backlog leaders chase
            steps.append(("resolve", max(finish, begin + timedelta(minutes=5)), "Đã xử lý xong, báo cáo kết quả"))
    for action, when, note in steps:
        if when >= end:
            break  # still being handled today
        workflow.transition(session, report, action, actor=actor, note=note, at=when)
    return report.status


def reports_step(session: Session, context) -> str:
    if session.scalar(select(func.count()).select_from(Report)):
        return "already there"
    o = context.options
    result = load_demo_reports(session, seed=o.seed, end=context.end, days=o.days, per_day=o.reports_per_day,
                               urban_centre=CENTER, officer_ward=f"{CITY_CODE}-01")
    return f"{result.created} reports ({result.open} open, {result.overdue_open} of them overdue)"
