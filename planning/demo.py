"""The demo city's planning projects: an approved zoning plan with its land use layer, the technical
infrastructure programme with the networks, and a draft flood-protection project."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.demo.geography import CITY_CODE
from layers.models import Layer
from planning.models import Project
from planning.projects import create_project

PROJECTS = [
    {"code": "QHPK-HUE-2030", "name": "Quy hoạch phân khu đô thị Huế đến năm 2030",
     "description": "Phân khu chức năng, chỉ tiêu sử dụng đất, tầng cao và mật độ xây dựng của khu trung tâm.",
     "decision_number": "1234/QĐ-UBND", "decision_date": "2024-06-12",
     "approving_body": "UBND tỉnh Thừa Thiên Huế", "status": "approved", "areas": [CITY_CODE],
     "layers": ["quy-hoach-su-dung-dat", "dia-chi"]},
    {"code": "HTKT-2025", "name": "Chương trình hạ tầng kỹ thuật đô thị 2025-2030",
     "description": "Mạng lưới giao thông và thoát nước mưa được cải tạo theo giai đoạn.",
     "decision_number": "567/QĐ-UBND", "decision_date": "2025-03-20", "approving_body": "UBND thành phố Huế",
     "status": "consultation", "areas": [f"{CITY_CODE}-01", f"{CITY_CODE}-02"],
     "layers": ["mang-luoi-giao-thong", "thoat-nuoc-mua"]},
    {"code": "PCTT-2026", "name": "Đề án phòng chống ngập lụt vùng trũng", "status": "draft",
     "areas": [f"{CITY_CODE}-03"], "layers": ["vung-nguy-co-ngap", "diem-so-tan"]},
]


def projects_step(session: Session, context) -> str:
    if session.scalar(select(Project.id).limit(1)):
        return "already there"
    # Without its layers (gisserver demo load --no-layers) a project is still made, with none.
    known = set(session.scalars(select(Layer.name)))
    made = []
    for spec in PROJECTS:
        data = {**spec, "layers": [name for name in spec["layers"] if name in known]}
        made.append(create_project(session, data, actor="cli:demo-loader").code)
    return ", ".join(made)
