"""A small city with one of everything, for tests that walk every route (bad input, Schemathesis)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
from reportlab.pdfgen import canvas
from shapely.geometry import box

from layers.importing import ImportOptions, import_layer
from layers.uploads import create_import
from planning.documents import DocumentLimits, add_document
from planning.projects import create_project
from reports.cameras.hotspots import HotspotInput, add_hotspot
from reports.cameras.service import CameraInput, add_camera
from reports.intake.submit import ReportInput, submit_report
from tests.reports.conftest import WEST_INSIDE, build_small_city

# Land-use parcels; some names would run as formulas in a spreadsheet.
PARCEL_NAMES = ["Đất ở", '=HYPERLINK("http://evil.example","bấm")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)",
                "bình thường"]


def build_sample_city(session, workdir: Path) -> dict:
    """Areas, categories and units, a layer 'parcels', camera CAM-1, hotspot NGAP-1 and one report."""
    build_small_city(session)
    parcels = gpd.GeoDataFrame({"ten_lo": PARCEL_NAMES, "so_tang": [1, 2, 3, 4, 5, 6]},
                               geometry=[box(107.55 + i * 0.002, 16.42, 107.551 + i * 0.002, 16.421)
                                         for i in range(6)], crs=4326)
    source = workdir / "parcels.geojson"
    parcels.to_file(source, driver="GeoJSON")
    import_layer(session, source, ImportOptions(name="parcels", title="Thửa đất"))
    add_camera(session, CameraInput("CAM-1", "Ngã tư Lê Lợi", *WEST_INSIDE, direction=90))
    add_hotspot(session, HotspotInput("NGAP-1", "Kiệt 12", 107.56, 16.43, 10, 30, 50))
    report, _ = submit_report(session, ReportInput("gay_roi", "Đánh nhau trước chợ", *WEST_INSIDE))
    # A planning project with a document, and an upload waiting for its file (the app's data is workdir/data).
    project = create_project(session, {"code": "QH-1", "name": "Quy hoạch phân khu", "status": "approved",
                                       "areas": ["T-W"], "layers": ["parcels"]}, actor="test")
    document, _ = add_document(session, project, _pdf(), title="Quyết định", file_name="qd.pdf",
                               directory=workdir / "data" / "documents", limits=DocumentLimits(10**7, 10),
                               actor="test", at=datetime.now(UTC))
    upload = create_import(session, "parcels.geojson", replace=None, actor="test",
                           directory=workdir / "data" / "imports")
    session.commit()
    return {"tracking": report.tracking_code, "report": report.id, "document": document.id, "upload": upload.id}


def _pdf() -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Quyet dinh")
    page.save()
    return out.getvalue()
