"""Open311 GeoReport v2, checked against the field names and formats of the specification
(wiki.open311.org/GeoReport_v2: field tables, W3C date-times, content types, error format)."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Report
from tests.reports.conftest import EAST_INSIDE, OUTSIDE, WEST_INSIDE

W3C = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")

SERVICE_FIELDS = {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
REQUEST_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
    "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
    "address", "address_id", "zipcode", "lat", "long", "media_url",
}


def post_request(client, **fields):
    form = {"jurisdiction_id": "T", "service_code": "dien_chieu_sang", "lat": str(EAST_INSIDE[1]),
            "long": str(EAST_INSIDE[0]), "description": "Đèn đường tắt cả tuần", "first_name": "Lê",
            "last_name": "Thị Hoa", "phone": "0905111222", "email": "hoa@example.vn"}
    form.update(fields)
    return client.post("/open311/v2/requests.json", data=form)


def test_services_json_and_xml(client, city):
    resp = client.get("/open311/v2/services.json?jurisdiction_id=T")
    assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
    services = resp.get_json()
    assert len(services) == 15
    assert set(services[0]) == SERVICE_FIELDS
    assert services[0]["type"] == "realtime" and services[0]["metadata"] is False
    # keywords is "a comma separated list" (a string), group a plain category name.
    assert all(isinstance(s["keywords"], str) and isinstance(s["group"], str) for s in services)
    theft = next(s for s in services if s["service_code"] == "trom_cap")
    assert theft["service_name"] == "Trộm cắp tài sản" and "Theft" in theft["keywords"].split(", ")
    resp = client.get("/open311/v2/services.xml")
    assert resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert resp.data.startswith(b'<?xml version="1.0" encoding="utf-8"?><services>')
    xml = ET.fromstring(resp.data)
    assert xml.tag == "services" and len(xml.findall("service")) == 15
    assert {c.tag for c in xml.find("service")} == SERVICE_FIELDS
    assert xml.find("service/metadata").text == "false"
    definition_xml = ET.fromstring(client.get("/open311/v2/services/trom_cap.xml").data)
    assert definition_xml.tag == "service_definition"
    assert [c.tag for c in definition_xml] == ["service_code", "attributes"]
    definition = client.get("/open311/v2/services/trom_cap.json").get_json()
    assert definition == {"service_code": "trom_cap", "attributes": []}
    assert client.get("/open311/v2/services/nope.json").status_code == 404


def test_post_then_get_request_without_reporter_data(client, city):
    resp = post_request(client)
    assert resp.status_code == 201, resp.data
    (created,) = resp.get_json()
    assert set(created) == {"service_request_id", "service_notice", "account_id"}
    code = created["service_request_id"]
    report = city.query(Report).one()
    assert report.channel == "open311" and report.reporter_name == "Lê Thị Hoa"
    (row,) = client.get(f"/open311/v2/requests/{code}.json").get_json()
    assert set(row) == REQUEST_FIELDS
    assert row["status"] == "open" and row["service_code"] == "dien_chieu_sang"
    assert row["agency_responsible"] == "UBND Phường Đông"
    assert abs(row["lat"] - EAST_INSIDE[1]) < 1e-6 and abs(row["long"] - EAST_INSIDE[0]) < 1e-6
    xml = client.get(f"/open311/v2/requests/{code}.xml")
    assert xml.mimetype == "text/xml"
    root = ET.fromstring(xml.data)
    assert root.tag == "service_requests" and root.find("request/service_request_id").text == code
    listing = client.get("/open311/v2/requests.json?status=open&service_code=dien_chieu_sang")
    assert [r["service_request_id"] for r in listing.get_json()] == [code]
    assert client.get("/open311/v2/requests.json?status=closed").get_json() == []
    for body in (listing.data, xml.data, client.get("/open311/v2/requests.xml").data):
        assert b"0905111222" not in body and b"Hoa" not in body and b"hoa@example.vn" not in body
    for key in ("requested_datetime", "updated_datetime", "expected_datetime"):
        assert W3C.match(row[key]), row[key]
    assert {c.tag for c in root.find("request")} == REQUEST_FIELDS


def test_post_answers_in_xml_and_a_retry_is_not_a_second_request(client, city):
    resp = client.post("/open311/v2/requests.xml", data={
        "service_code": "dien_chieu_sang", "address_string": "kiệt 5 Lê Lợi", "lat": str(EAST_INSIDE[1]),
        "long": str(EAST_INSIDE[0]), "description": "Đèn hỏng"}, headers={"Idempotency-Key": "o311-1"})
    assert resp.status_code == 201 and resp.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(resp.data)
    assert root.tag == "service_requests"
    assert [c.tag for c in root.find("request")] == ["service_request_id", "service_notice", "account_id"]
    again = client.post("/open311/v2/requests.xml", data={
        "service_code": "dien_chieu_sang", "address_string": "kiệt 5 Lê Lợi", "lat": str(EAST_INSIDE[1]),
        "long": str(EAST_INSIDE[0]), "description": "Đèn hỏng"}, headers={"Idempotency-Key": "o311-1"})
    assert again.status_code == 200
    assert ET.fromstring(again.data).find("request/service_request_id").text == root.find(
        "request/service_request_id").text
    assert city.query(Report).count() == 1


def test_status_is_mapped_to_open_and_closed(client, city):
    t0 = datetime.now(UTC) - timedelta(days=2)
    codes = {}
    for status, steps in {
        "new": [], "acknowledged": ["acknowledge"], "in_progress": ["start"], "resolved": ["resolve"],
        "rejected": ["reject"],
    }.items():
        report, _ = submit_report(city, ReportInput("moi_truong_rac_thai", f"Rác {status}", *WEST_INSIDE), now=t0)
        for action in steps:
            workflow.transition(city, report, action, actor="x", note="Đã xử lý" if action != "start" else "",
                                at=t0 + timedelta(hours=3))
        codes[status] = report.tracking_code
    city.commit()
    rows = {r["service_request_id"]: r for r in client.get("/open311/v2/requests.json").get_json()}
    mapped = {status: rows[code]["status"] for status, code in codes.items()}
    assert mapped == {"new": "open", "acknowledged": "open", "in_progress": "open", "resolved": "closed",
                      "rejected": "closed"}
    resolved = rows[codes["resolved"]]
    # For a closed request, updated_datetime is when it was closed, and status_notes says why.
    assert resolved["status_notes"] == "Đã xử lý"
    assert datetime.fromisoformat(resolved["updated_datetime"].replace("Z", "+00:00")) == (
        t0 + timedelta(hours=3)).replace(microsecond=0)
    assert rows[codes["new"]]["status_notes"] is None
    closed = client.get("/open311/v2/requests.json?status=closed").get_json()
    assert {r["service_request_id"] for r in closed} == {codes["resolved"], codes["rejected"]}
    both = client.get("/open311/v2/requests.json?status=open,closed").get_json()
    assert len(both) == 5


def test_date_window_follows_the_spec(client, city):
    now = datetime.now(UTC).replace(microsecond=0)
    old, _ = submit_report(city, ReportInput("dien_chieu_sang", "Đèn đường hỏng từ lâu", *WEST_INSIDE),
                           now=now - timedelta(days=120))
    recent, _ = submit_report(city, ReportInput("dien_chieu_sang", "Đèn đường tắt", *EAST_INSIDE),
                              now=now - timedelta(days=1))
    city.commit()

    def listed(query=""):
        return [r["service_request_id"] for r in client.get(f"/open311/v2/requests.json{query}").get_json()]

    # By default: the most recent 90 days.
    assert listed() == [recent.tracking_code]
    start = (now - timedelta(days=130)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert listed(f"?start_date={start}&end_date={end}") == [old.tracking_code]
    # A range may not span more than 90 days.
    too_long = client.get(f"/open311/v2/requests.json?start_date={start}&end_date={now:%Y-%m-%dT%H:%M:%SZ}")
    assert too_long.status_code == 400 and set(too_long.get_json()[0]) == {"code", "description"}
    # service_request_id overrides every other argument.
    assert listed(f"?service_request_id={old.tracking_code},{recent.tracking_code}&status=closed") == [
        recent.tracking_code, old.tracking_code]


def test_jurisdiction_is_the_city(client, city):
    for path in ("/open311/v2/services.json", "/open311/v2/services/trom_cap.json", "/open311/v2/requests.json"):
        assert client.get(f"{path}?jurisdiction_id=T").status_code == 200, path
        wrong = client.get(f"{path}?jurisdiction_id=hanoi.gov.vn")
        assert wrong.status_code == 404 and wrong.get_json()[0]["code"] == 404, path
    discovery = client.get("/open311/v2/discovery.json").get_json()
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert discovery["endpoints"][0]["formats"] == ["application/json", "text/xml"]
    assert ET.fromstring(client.get("/open311/v2/discovery.xml").data).tag == "discovery"


def test_open311_errors_use_the_spec_format(client, city):
    # The spec: 404 when the service_code is not found, 400 when it is missing.
    resp = post_request(client, service_code="nope")
    assert resp.status_code == 404
    (error,) = resp.get_json()
    assert set(error) == {"code", "description"} and error["code"] == 404
    resp = post_request(client, service_code="")
    assert resp.status_code == 400 and resp.get_json()[0]["code"] == 400
    no_place = post_request(client, lat="", long="")
    assert no_place.status_code == 400 and "location" in no_place.get_json()[0]["description"]
    xml_error = client.post("/open311/v2/requests.xml", data={"service_code": "nope"})
    root = ET.fromstring(xml_error.data)
    assert xml_error.status_code == 404 and root.tag == "errors"
    assert [c.tag for c in root.find("error")] == ["code", "description"]
    resp = client.post("/open311/v2/requests.xml", data={"service_code": "trom_cap", "lat": str(OUTSIDE[1]),
                                                          "long": str(OUTSIDE[0]), "description": "Mất xe đạp"})
    assert resp.status_code == 400 and ET.fromstring(resp.data).tag == "errors"
    assert post_request(client, lat="abc").status_code == 400
    assert post_request(client, jurisdiction_id="DANANG").status_code == 404
    assert client.get("/open311/v2/requests/NOPE.json").status_code == 404
    assert client.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert client.get("/open311/v2/services.csv").status_code == 404
    assert city.query(Report).count() == 0


def test_reports_to_the_police_are_not_published(client, city):
    police = post_request(client, service_code="trom_cap", description="Nhà số 5 có người lạ cạy khoá xe")
    committee = post_request(client, description="Đèn đường tắt ở hẻm 12")
    assert police.status_code == committee.status_code == 201
    police_id = police.get_json()[0]["service_request_id"]
    committee_id = committee.get_json()[0]["service_request_id"]

    listed = {r["service_request_id"] for r in client.get("/open311/v2/requests.json").get_json()}
    assert committee_id in listed and police_id not in listed
    xml = client.get("/open311/v2/requests.xml").data.decode()
    assert committee_id in xml and police_id not in xml and "cạy khoá" not in xml

    # The filer follows it by id: status, category and deadline, never what or where.
    (row,) = client.get(f"/open311/v2/requests/{police_id}.json").get_json()
    assert row["status"] == "open" and row["service_code"] == "trom_cap" and W3C.match(row["expected_datetime"])
    assert row["description"] is None and row["address"] is None and row["lat"] is None and row["long"] is None
    (row,) = client.get(f"/open311/v2/requests.json?service_request_id={police_id}").get_json()
    assert row["description"] is None and row["lat"] is None
    (row,) = client.get(f"/open311/v2/requests/{committee_id}.json").get_json()
    assert row["description"] == "Đèn đường tắt ở hẻm 12" and row["lat"] is not None
