"""The officers' work queue (search, sorts, the filters shared with the map), phone-call reports that land outside
the officer's area, and a report's history in people's words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gisserver.accounts.users import create_user, grant
from reports.areas.service import area_by_code
from reports.areas.units import unit_by_code
from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Report, ReportEvent
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE

PASSWORD = "correct horse battery"


def _login(client, username: str) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token}).status_code \
        == 302


@pytest.fixture
def ward(city):
    """The west ward's officer (a person's name, the ward's two units) and some reports of theirs."""
    officer = create_user(city, "ward-officer", PASSWORD, ["officer"], display_name="Nguyễn Văn An")
    grant(city, officer, area_id=area_by_code(city, "T-W").id)
    for unit in ("T-W-CA", "T-W-UB"):
        grant(city, officer, unit_id=unit_by_code(city, unit).id)
    leader = create_user(city, "ward-leader", PASSWORD, ["leader"])
    grant(city, leader, area_id=area_by_code(city, "T-W").id)
    old = datetime.now(UTC) - timedelta(days=6)
    made = {}
    for key, category, text, address, phone, at in (
        ("late", "cay_xanh", "Cây đổ chắn lối đi", "kiệt 5 Đống Đa", None, old),
        ("lamp", "dien_chieu_sang", "Đèn đường không sáng", "12 Trần Hưng Đạo", "0905 123 456", None),
        ("noise", "tieng_on", "Hát karaoke quá khuya", None, None, None),
    ):
        made[key], _ = submit_report(city, ReportInput(category, text, WEST_INSIDE[0] + len(made) * 1e-4,
                                                       WEST_INSIDE[1], address=address, reporter_phone=phone,
                                                       channel="qr_web"), now=at)
    city.commit()
    return made


def test_the_queue_finds_a_report_by_code_address_words_and_phone(client, ward):
    _login(client, "ward-officer")
    lamp = ward["lamp"]
    page = client.get("/reports").get_data(as_text=True)
    codes = re.findall(r'<a class="code" href="/reports/\d+">(\w+)</a>', page)
    # Overdue first (the fallen tree is past its 24 hours), then by deadline.
    assert codes[0] == ward["late"].tracking_code and set(codes) == {r.tracking_code for r in ward.values()}
    for words in (lamp.tracking_code.lower(), "tran hung dao", "đèn đường", "0905123456", "905 123 456"):
        found = client.get("/reports", query_string={"q": words}).get_data(as_text=True)
        assert re.findall(r'<a class="code" href="/reports/\d+">(\w+)</a>', found) == [lamp.tracking_code], words
    # The same search through the API; the reporter's phone is searched only in the caller's own units' queues.
    api = client.get("/api/reports?q=0905123456").get_json()
    assert [r["tracking_code"] for r in api["items"]] == [lamp.tracking_code]
    _login(client, "ward-leader")
    assert client.get("/api/reports?q=0905123456").get_json()["items"] == []
    assert client.get("/api/reports?q=tran hung dao").get_json()["total"] == 1
    assert client.get("/api/reports?q=" + "x" * 201).status_code == 400


def test_the_list_and_the_map_share_their_filters(client, ward):
    _login(client, "ward-officer")
    page = client.get("/reports?category=cay_xanh&status=all&sort=category").get_data(as_text=True)
    assert re.findall(r'<a class="code" href="/reports/\d+">(\w+)</a>', page) == [ward["late"].tracking_code]
    map_link = re.search(r'<a id="map-link" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert map_link.startswith("/maps/reports?") and "category=cay_xanh" in map_link and "status=all" in map_link
    officer_map = client.get(map_link).get_data(as_text=True)
    # The map opens on the same filters, and links back to the list with them.
    assert re.search(r'<option value="cay_xanh" selected>', officer_map)
    assert re.search(r'<option value="all" selected>', officer_map)
    back = re.search(r'<a id="queue-link" href="([^"]+)"', officer_map).group(1).replace("&amp;", "&")
    assert back.startswith("/reports?") and "category=cay_xanh" in back
    assert client.get("/reports?sort=nonsense").status_code == 400


def test_a_phone_report_outside_the_officers_area_is_announced_and_stays_in_reports_i_filed(client, ward, city):
    _login(client, "ward-officer")
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/maps/reports").get_data(as_text=True))
    headers = {"X-CSRFToken": token.group(1)}
    placement = client.get(f"/api/reports/placement?lon={EAST_INSIDE[0]}&lat={EAST_INSIDE[1]}&category=cay_xanh")
    where = placement.get_json()
    assert where["in_scope"] is False and where["ward"]["name"] == "Phường Đông"
    assert where["unit"]["name"] == unit_by_code(city, "T-E-UB").name
    inside = client.get(f"/api/reports/placement?lon={WEST_INSIDE[0]}&lat={WEST_INSIDE[1]}&category=cay_xanh")
    assert inside.get_json()["in_scope"] is True
    filed = client.post("/api/reports", headers=headers, json={
        "category": "cay_xanh", "description": "Người gọi báo cây đổ bên kia sông", "channel": "phone",
        "location": {"lon": EAST_INSIDE[0], "lat": EAST_INSIDE[1]}}).get_json()
    assert filed["unit"] == unit_by_code(city, "T-E-UB").name and re.fullmatch(r"[A-Z0-9]{10}", filed["tracking_code"])
    # Not the officer's area, yet not gone from their view: in the map, the list, and "reports I filed".
    assert client.get(f"/reports/{filed['id']}").status_code == 200
    mine = client.get("/api/reports?mine=true").get_json()
    assert [r["tracking_code"] for r in mine["items"]] == [filed["tracking_code"]]
    assert filed["tracking_code"] in client.get("/api/reports.geojson").get_data(as_text=True)
    assert filed["tracking_code"] in client.get("/reports?mine=true").get_data(as_text=True)
    # Seeing it is not handling it: the east ward's unit acts on it, the taker of the call may not.
    page = client.get(f"/reports/{filed['id']}").get_data(as_text=True)
    assert 'id="transition"' not in page and 'id="merge-twins"' not in page and "Kéo ghim" not in page
    assert "Bạn đã tiếp nhận cuộc gọi này" in page
    for path, body in ((f"/api/reports/{filed['id']}/transition", {"action": "acknowledge"}),
                       (f"/api/reports/{filed['id']}/comments", {"text": "Đã nhận"}),
                       (f"/api/reports/{filed['id']}/reassign", {"reason": "x", "area": "T-W"}),
                       (f"/api/reports/{filed['id']}/merge", {"duplicates": []})):
        refused = client.post(path, headers=headers, json=body)
        assert refused.status_code == 403, (path, refused.get_json())
        assert refused.get_json()["error"]["details"]["reason"] == "filed_outside_scope"
    moved = client.patch(f"/api/reports/{filed['id']}/location", headers=headers, json={"lon": WEST_INSIDE[0],
                                                                                        "lat": WEST_INSIDE[1]})
    assert moved.status_code == 403
    city.expire_all()
    report = city.get(Report, filed["id"])
    actions = city.scalars(select(ReportEvent.action).where(ReportEvent.report_id == report.id)).all()
    assert report.status == "new" and actions == ["created"]
    # Another officer of the west ward does not see the east ward's report.
    other = create_user(city, "other-officer", PASSWORD, ["officer"])
    grant(city, other, area_id=area_by_code(city, "T-W").id)
    city.commit()
    _login(client, "other-officer")
    assert client.get(f"/reports/{filed['id']}").status_code == 404


def test_history_names_people_and_units_and_says_what_the_system_did_in_the_readers_words(client, ward, city):
    noise = ward["noise"]
    workflow.transition(city, noise, "acknowledge", actor="user:ward-officer")
    workflow.move(city, noise, WEST_INSIDE[0] + 0.0009, WEST_INSIDE[1] + 0.0009, actor="user:ward-officer",
                  reason="người gọi chỉ lại chỗ")
    workflow.move(city, noise, WEST_INSIDE[0] + 0.0009, 16.46, actor="user:ward-officer")
    # An entry written before the facts were kept as data still reads in the reader's language.
    city.add(ReportEvent(report_id=noise.id, at=datetime.now(UTC), actor="anonymous", action="created",
                         to_status="new", note="channel open311"))
    city.commit()
    _login(client, "ward-officer")
    page = client.get(f"/reports/{noise.id}").get_data(as_text=True)
    history = re.search(r'<ol class="timeline" id="history">(.*?)</ol>', page, re.S).group(1)
    unit = noise.unit.name
    assert f"Nguyễn Văn An, {unit}" in history and "user:ward-officer" not in history
    assert "Người dân (mã QR)" in history
    assert re.search(r"Dời vị trí 1\d\d m về phía Đông Bắc, sang Tổ 1", history), history
    assert "người gọi chỉ lại chỗ" in history
    assert re.search(r"Dời vị trí [\d,.]+ (m|km) về phía Bắc, sang Tổ 2", history), history
    assert "channel open311" not in history and "Kênh: Open311" in history
    assert "moved to" not in history
    english = client.get(f"/reports/{noise.id}?lang=en").get_data(as_text=True)
    assert re.search(r"Moved 1\d\d m to the north-east, into Tổ 1", english)
    assert "A resident (QR code)" in english


def test_the_queue_lists_the_ai_alerts_under_the_same_filters(client, ward, city):
    from reports.cameras.alerts import EventInput, record_event
    from reports.cameras.service import CameraInput, add_camera

    camera = add_camera(city, CameraInput(code="CAM-Q", name="Ngã tư thử", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
                                          fov=360, ai_capabilities=("fire",)))
    city.flush()
    alert = record_event(city, camera, EventInput("fire", 0.9, datetime.now(UTC) - timedelta(minutes=2))).alert
    city.commit()
    _login(client, "ward-officer")
    page = client.get("/reports").get_data(as_text=True)
    table = re.search(r'<table class="grid queue" id="alert-table".*?</table>', page, re.S).group(0)
    assert "CAM-Q" in table and f'data-alert="{alert.id}"' in table and 'data-action="acknowledge"' in table
    # The same filters: an area where it is not hides it; words of its camera find it.
    assert "CAM-Q" not in client.get("/reports?area=T-W-02").get_data(as_text=True)
    assert "CAM-Q" in client.get("/reports?q=cam-q").get_data(as_text=True)
