from sqlalchemy import func, select

from reports.areas.models import Unit
from reports.workflow.models import Report, ReportEvent
from tests.reports.conftest import EAST_INSIDE, OUTSIDE, WEST_INSIDE


def post(client, body, headers=None):
    return client.post("/api/reports", json=body, headers=headers or {})


def report_count(db):
    db.rollback()
    return db.scalar(select(func.count()).select_from(Report))


def test_citizen_report_is_located_routed_and_due(client, city):
    body = {"category": "gay_roi", "description": "Nhóm thanh niên đánh nhau trước quán",
            "location": {"lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1]},
            "reporter": {"name": "Nguyễn Văn A", "phone": "0905 123 456"}}
    resp = post(client, body)
    assert resp.status_code == 201, resp.get_json()
    data = resp.get_json()
    assert data["status"] == "new"
    assert data["area"]["code"] == "T-W-01"
    assert data["unit"] == "Công an Phường Tây"
    assert "reporter" not in data and "0905" not in resp.get_data(as_text=True)
    status = client.get(f"/api/reports/{data['tracking_code'].lower()}/status")
    assert status.status_code == 200
    assert "Nguyễn Văn A" not in status.get_data(as_text=True)
    report = city.scalar(select(Report))
    # Disturbances are due within 4 hours; socio-economic matters go to the People's Committee.
    assert (report.due_at - report.created_at).total_seconds() == 4 * 3600
    east = post(client, {"category": "moi_truong_rac_thai", "description": "Rác đổ trộm ven đường",
                         "lon": EAST_INSIDE[0], "lat": EAST_INSIDE[1]}).get_json()
    assert east["unit"] == "UBND Phường Đông"


def test_refusals_store_nothing(client, city):
    good = {"category": "gay_roi", "description": "Đánh nhau", "lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1]}
    cases = [
        ({**good, "category": "no_such"}, 400),
        ({**good, "lon": "NaN"}, 400),
        ({**good, "lat": 95}, 400),
        ({**good, "lon": OUTSIDE[0], "lat": OUTSIDE[1]}, 400),
        ({**good, "description": "  "}, 400),
        ({**good, "lon": None, "lat": None}, 400),
        ({**good, "lon": 107.55, "lat": None}, 400),
        ({**good, "reporter": {"phone": "call me"}}, 400),
        ({**good, "channel": "phone"}, 400),  # only staff enter phone calls
        ({**good, "lon": None, "lat": None, "address": "12 Lê Lợi", "area": "NOPE"}, 404),
        ([1, 2], 400),
    ]
    for body, expected in cases:
        resp = post(client, body)
        assert resp.status_code == expected, (body, resp.get_json())
        assert resp.get_json()["error"]["message"]
    outside = post(client, {**good, "lon": OUTSIDE[0], "lat": OUTSIDE[1]}).get_json()
    assert outside["error"]["details"]["reason"] == "outside_city"
    bad_json = client.post("/api/reports", data='{"lon": NaN}', content_type="application/json")
    assert bad_json.status_code == 400
    assert report_count(city) == 0


def test_officer_may_file_outside_city_and_phone_calls(client, city, auth_headers):
    headers = auth_headers("officer")
    resp = post(client, {"category": "trom_cap", "description": "Mất xe máy, người dân gọi điện",
                         "lon": OUTSIDE[0], "lat": OUTSIDE[1], "channel": "phone"}, headers)
    assert resp.status_code == 201, resp.get_json()
    report = city.scalar(select(Report))
    assert report.outside_city and report.area_current_id is None
    # Nobody serves that place: the city operations centre takes it.
    assert city.get(Unit, report.unit_id).unit_type == "city_operations"


def test_address_only_report_uses_the_qr_ward(client, city):
    resp = post(client, {"category": "dien_chieu_sang", "description": "Đèn đường hỏng cả tuần",
                         "address": "kiệt 12 Nguyễn Huệ", "area": "T-E", "channel": "qr_web"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["area"]["code"] == "T-E"
    assert resp.get_json()["unit"] == "UBND Phường Đông"


def test_idempotency_key_returns_the_first_report(client, city):
    body = {"category": "gay_roi", "description": "Đánh nhau", "lon": WEST_INSIDE[0], "lat": WEST_INSIDE[1]}
    first = post(client, body, {"Idempotency-Key": "abc-123"})
    again = post(client, body, {"Idempotency-Key": "abc-123"})
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["tracking_code"] == again.get_json()["tracking_code"]
    other = post(client, {**body, "description": "Một việc khác hẳn"}, {"Idempotency-Key": "abc-123"})
    assert other.status_code == 409
    assert report_count(city) == 1


def test_possible_duplicate_is_flagged(client, city):
    body = {"category": "moi_truong_rac_thai", "description": "Rác ùn ứ", "lon": 107.55, "lat": 16.42}
    first = post(client, body).get_json()
    near = post(client, {**body, "lon": 107.5005}).get_json()  # ~5 km away: not a duplicate
    close = post(client, {**body, "lon": 107.5505}).get_json()  # ~53 m away
    other_kind = post(client, {**body, "category": "trom_cap"}).get_json()
    rows = {r.tracking_code: r for r in city.scalars(select(Report))}
    assert rows[close["tracking_code"]].possible_duplicate_of_id == rows[first["tracking_code"]].id
    assert rows[near["tracking_code"]].possible_duplicate_of_id is None
    assert rows[other_kind["tracking_code"]].possible_duplicate_of_id is None
    assert city.scalar(select(func.count()).select_from(ReportEvent)) == 4


def test_unknown_tracking_code_is_404(client, city):
    assert client.get("/api/reports/NOPE/status").status_code == 404
