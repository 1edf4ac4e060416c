"""Open311 GeoReport v2, checked against the field names and formats of the specification."""

import xml.etree.ElementTree as ET

from reports.models import Report
from tests.reports.conftest import EAST_INSIDE, OUTSIDE

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
    services = client.get("/open311/v2/services.json?jurisdiction_id=T").get_json()
    assert len(services) == 15
    assert set(services[0]) == SERVICE_FIELDS
    assert services[0]["type"] == "realtime" and services[0]["metadata"] is False
    xml = ET.fromstring(client.get("/open311/v2/services.xml").data)
    assert xml.tag == "services" and len(xml.findall("service")) == 15
    assert {c.tag for c in xml.find("service")} == SERVICE_FIELDS
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
        assert b"0905111222" not in body and b"Hoa" not in body


def test_open311_errors_use_the_spec_format(client, city):
    resp = post_request(client, service_code="nope")
    assert resp.status_code == 400
    (error,) = resp.get_json()
    assert set(error) == {"code", "description"} and error["code"] == 400
    resp = client.post("/open311/v2/requests.xml", data={"service_code": "trom_cap", "lat": str(OUTSIDE[1]),
                                                          "long": str(OUTSIDE[0]), "description": "Mất xe đạp"})
    assert resp.status_code == 400 and ET.fromstring(resp.data).tag == "errors"
    assert post_request(client, lat="abc").status_code == 400
    assert post_request(client, jurisdiction_id="DANANG").status_code == 404
    assert client.get("/open311/v2/requests/NOPE.json").status_code == 404
    assert client.get("/open311/v2/requests.json?start_date=yesterday").status_code == 400
    assert client.get("/open311/v2/services.csv").status_code == 404
    assert city.query(Report).count() == 0
