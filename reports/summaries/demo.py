"""A year of administrative dossiers for the demo city, written as a one-stop-shop export and loaded
through the import service (so the demo exercises the same path as a real export)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reports.areas.models import Area
from reports.summaries.dossiers import DossierImportResult, import_dossiers
from reports.summaries.hierarchy import TZ
from reports.summaries.models import Dossier

# (procedure, weight, working days allowed)
PROCEDURES = (
    ("Chứng thực bản sao từ bản chính", 30, 1),
    ("Đăng ký khai sinh", 12, 1),
    ("Đăng ký thường trú", 10, 7),
    ("Xác nhận tình trạng hôn nhân", 8, 3),
    ("Đăng ký kết hôn", 5, 3),
    ("Đăng ký khai tử", 3, 1),
    ("Đăng ký hộ kinh doanh", 6, 3),
    ("Cấp giấy phép xây dựng nhà ở riêng lẻ", 4, 15),
    ("Đăng ký biến động đất đai", 7, 10),
    ("Chứng thực chữ ký", 10, 1),
    ("Trợ cấp xã hội hằng tháng", 3, 10),
    ("Cấp lại giấy chứng nhận quyền sử dụng đất", 2, 20),
)
HEADER = ["Mã hồ sơ", "Thủ tục", "Mã địa bàn", "Ngày tiếp nhận", "Hạn trả", "Ngày trả kết quả", "Hình thức",
          "Trạng thái"]


def demo_dossier_csv(session: Session, *, seed: int, end: datetime, days: int = 365,
                     per_ward_day: float = 3.0) -> bytes:
    """The export as CSV bytes: about *per_ward_day* dossiers a working day per ward, busier in town."""
    rng = np.random.default_rng(seed + 7)
    wards = list(session.scalars(select(Area).where(Area.level == "ward", Area.valid_to.is_(None))
                                 .order_by(Area.code)))
    names = [p[0] for p in PROCEDURES]
    weights = np.array([p[1] for p in PROCEDURES], dtype=float)
    weights /= weights.sum()
    allowed = {p[0]: p[2] for p in PROCEDURES}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    local_end = end.astimezone(TZ)
    start = (local_end - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    serial = 0
    for rank, ward in enumerate(wards):
        busy = per_ward_day * (2.5 if rank < 12 else 1.0) * float(rng.uniform(0.6, 1.4))
        online_share = float(rng.uniform(0.6, 0.9))
        late_share = float(rng.uniform(0.01, 0.08))
        for day in range(days):
            midnight = start + timedelta(days=day)
            if midnight.weekday() == 6:
                continue  # one-stop shops open Monday to Saturday morning
            for _ in range(rng.poisson(busy * (0.4 if midnight.weekday() == 5 else 1.0))):
                received = midnight + timedelta(hours=float(rng.uniform(7.5, 17)))
                if received >= local_end:
                    continue
                serial += 1
                procedure = names[rng.choice(len(names), p=weights)]
                due = received + timedelta(days=allowed[procedure] * 1.4)
                due = due.replace(hour=17, minute=0, second=0, microsecond=0)
                roll = rng.random()
                if roll < 0.01:
                    status, finished = "Từ chối", received + timedelta(days=float(rng.uniform(0.2, 2)))
                elif roll < 0.015:
                    status, finished = "Rút hồ sơ", received + timedelta(days=float(rng.uniform(0.2, 3)))
                elif rng.random() < late_share:
                    status, finished = "Đã trả kết quả", due + timedelta(days=float(rng.uniform(0.5, 6)))
                else:
                    span = (due - received).total_seconds()
                    status, finished = "Đã trả kết quả", received + timedelta(seconds=span * float(rng.uniform(0.1, 1)))
                if finished >= local_end:
                    status, finished = "Đang giải quyết", None
                writer.writerow([
                    f"{ward.code}-{received:%y%m%d}-{serial:06d}", procedure, ward.code,
                    received.strftime("%d/%m/%Y %H:%M"), due.strftime("%d/%m/%Y %H:%M"),
                    finished.strftime("%d/%m/%Y %H:%M") if finished else "",
                    "Trực tuyến" if rng.random() < online_share else "Trực tiếp", status,
                ])
    return out.getvalue().encode("utf-8")


def load_demo_dossiers(session: Session, *, seed: int, end: datetime, days: int = 365,
                       per_ward_day: float = 3.0) -> DossierImportResult:
    data = demo_dossier_csv(session, seed=seed, end=end, days=days, per_ward_day=per_ward_day)
    return import_dossiers(session, data, "demo-dossiers.csv", now=end)


def dossiers_step(session: Session, context) -> str:
    if session.scalar(select(func.count()).select_from(Dossier)):
        return "already there"
    o = context.options
    result = load_demo_dossiers(session, seed=o.seed, end=context.end, days=o.days,
                                per_ward_day=o.dossiers_per_ward_day)
    return f"{result.created} dossiers imported"
