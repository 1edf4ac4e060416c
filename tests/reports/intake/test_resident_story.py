"""What residents get: a place in another ward than the QR code's is never filed there silently; the status page
tells the story (what, where, photos, steps and units, the answer and the photo of the fix) without the reporter;
open reports nearby before sending, and adding one's voice to one."""

from __future__ import annotations

import io
import re

import geopandas as gpd
import pytest
from PIL import Image
from shapely.geometry import Point
from sqlalchemy import select

from layers.importing import ImportOptions, import_layer
from reports.areas.gazetteer import build_gazetteer
from reports.areas.service import area_by_code
from reports.intake.submit import ReportInput, submit_report
from reports.workflow.models import Report, ReportEvent
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def jpeg(colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def addresses(city, tmp_path):
    """A street of the west ward in the gazetteer: an address typed on the east ward's form lands in the west."""
    frame = gpd.GeoDataFrame({"so_nha": ["12"], "ten_duong": ["Trần Hưng Đạo"]},
                             geometry=[Point(WEST_INSIDE[0] + 0.001, WEST_INSIDE[1])], crs=4326)
    frame.to_file(tmp_path / "dia_chi.geojson")
    import_layer(city, tmp_path / "dia_chi.geojson", ImportOptions(name="dia-chi", category="administrative"))
    build_gazetteer(city, "dia-chi", ["so_nha", "ten_duong"])
    city.commit()
    return city


def test_an_address_in_another_ward_is_never_filed_there_silently(client, addresses):
    html = client.get("/r/T-E/ub").get_data(as_text=True)
    form = {"csrf_token": csrf(html), "category": "dien_chieu_sang", "description": "Đèn đường tắt cả tuần",
            "address": "12 Trần Hưng Đạo"}
    asked = client.post("/r/T-E/ub", data=form)
    page = asked.get_data(as_text=True)
    # The resident is asked, naming both wards; nothing is filed meanwhile.
    assert asked.status_code == 409
    assert "Địa điểm này thuộc Phường Tây, không thuộc Phường Đông nơi đặt mã QR" in page
    assert 'name="ward_choice" value="place"' in page and 'name="ward_choice" value="ward"' in page
    assert "Đèn đường tắt cả tuần" in page  # what they wrote is kept
    assert addresses.scalar(select(Report)) is None
    # "Send it there": filed where the address is, with that ward's unit.
    sent = client.post("/r/T-E/ub", data={**form, "ward_choice": "place"})
    assert sent.status_code == 302
    west = addresses.scalar(select(Report))
    assert west.area_current.code.startswith("T-W") and west.unit.code == "T-W-UB" and west.geom is not None
    # "Keep it in my ward": filed in the QR code's ward, without the other ward's point.
    form["csrf_token"] = csrf(client.get("/r/T-E/ub").get_data(as_text=True))
    kept = client.post("/r/T-E/ub", data={**form, "ward_choice": "ward"})
    assert kept.status_code == 302
    east = addresses.scalar(select(Report).where(Report.id != west.id))
    assert east.area_current.code == "T-E" and east.unit.code == "T-E-UB" and east.geom is None
    assert east.address == "12 Trần Hưng Đạo"
    # The JSON API asks the same way.
    body = {"category": "dien_chieu_sang", "description": "Đèn đường tắt", "address": "12 Trần Hưng Đạo",
            "area": "T-E"}
    conflict = client.post("/api/reports", json=body)
    assert conflict.status_code == 409
    assert conflict.get_json()["error"]["details"]["place_ward"] == {"code": "T-W", "name": "Phường Tây"}


def test_the_status_page_tells_the_story_with_the_answer_and_the_fix_photo(client, city, auth_headers):
    html = client.get("/r/T-W/ub").get_data(as_text=True)
    sent = client.post("/r/T-W/ub", data={
        "csrf_token": csrf(html), "category": "moi_truong_rac_thai", "description": "Rác ùn ứ ở đầu kiệt 7",
        "lon": str(WEST_INSIDE[0]), "lat": str(WEST_INSIDE[1]), "reporter_name": "Lê Thị Bí Mật",
        "reporter_phone": "0905999888", "photos": (io.BytesIO(jpeg()), "rac.jpg")},
        content_type="multipart/form-data")
    code = sent.headers["Location"].split("/status/")[1].split("?")[0]
    report = city.scalar(select(Report).where(Report.tracking_code == code))
    officer = auth_headers("officer", area_ids=[area_by_code(city, "T-W").id],
                           unit_ids=[report.unit_id])
    # Resolving needs the answer to the resident; the photo of the fix goes with it.
    refused = client.post(f"/api/reports/{report.id}/transition", json={"action": "resolve"}, headers=officer)
    assert refused.status_code == 400 and refused.get_json()["error"]["details"]["reason"] == "answer_required"
    done = client.post(f"/api/reports/{report.id}/transition", headers=officer, content_type="multipart/form-data",
                       data={"action": "resolve", "note": "Đã thu gom, khu vực sạch sẽ",
                             "photos": (io.BytesIO(jpeg((20, 160, 40))), "sach.jpg")})
    assert done.status_code == 200, done.get_data(as_text=True)
    page = client.get(f"/status/{code}").get_data(as_text=True)
    assert "Môi trường, rác thải" in page and "Rác ùn ứ ở đầu kiệt 7" in page
    assert "Trả lời của UBND Phường Tây" in page and "Đã thu gom, khu vực sạch sẽ" in page
    assert "Tổ 1, Phường Tây" in page and 'class="folium-map' in page  # the place on a small map
    photos = re.findall(rf'src="(/status/{code}/photos/\d+)"', page)
    assert len(set(photos)) == 2  # the resident's and the fix's
    for url in set(photos):
        answer = client.get(url)
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
    # Each step with its date and the unit that took it; never who reported it, never staff names.
    assert page.count("UBND Phường Tây") >= 2
    assert "Lê Thị Bí Mật" not in page and "0905999888" not in page and not re.search(r"user-\d+-", page)
    assert client.get(f"/status/{code}/photos/999999").status_code == 404


def test_police_matters_keep_what_and_where_to_the_unit(client, city):
    report, _ = submit_report(city, ReportInput("gay_roi", "Nhóm người đánh nhau trước nhà số 5", *WEST_INSIDE,
                                                channel="qr_web"))
    city.commit()
    page = client.get(f"/status/{report.tracking_code}").get_data(as_text=True)
    assert "Gây rối, đánh nhau" in page and "trước nhà số 5" not in page and "folium-map" not in page
    assert "chỉ đơn vị xử lý được xem" in page


def test_open_reports_nearby_and_adding_ones_voice(client, city):
    nearby, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ùn ứ nhiều ngày", *WEST_INSIDE))
    submit_report(city, ReportInput("gay_roi", "Đánh nhau", WEST_INSIDE[0] + 0.0002, WEST_INSIDE[1]))
    submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ở nơi khác", *EAST_INSIDE))
    city.commit()
    found = client.get(f"/api/reports/nearby?lon={WEST_INSIDE[0] + 0.0003}&lat={WEST_INSIDE[1]}").get_json()
    # Only the public matter close by: never a police one, never one far away.
    assert [r["tracking_code"] for r in found["reports"]] == [nearby.tracking_code]
    assert found["reports"][0]["distance_m"] < 50 and found["reports"][0]["status_url"].endswith(nearby.tracking_code)
    assert client.get("/api/reports/nearby?lon=200&lat=16").status_code == 400
    page = client.get(f"/status/{nearby.tracking_code}").get_data(as_text=True)
    voiced = client.post(f"/status/{nearby.tracking_code}/support", data={"csrf_token": csrf(page)})
    assert voiced.status_code == 302 and "supported=1" in voiced.headers["Location"]
    again = client.get(f"/status/{nearby.tracking_code}").get_data(as_text=True)
    assert "1 người dân khác cũng phản ánh việc này" in again
    assert city.scalar(select(ReportEvent.action).where(ReportEvent.report_id == nearby.id,
                                                        ReportEvent.action == "support")) == "support"
