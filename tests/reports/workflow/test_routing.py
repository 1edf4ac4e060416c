"""The routing table: defaults by category type and area, explicit rules, configured from the command line."""

from sqlalchemy import select

from reports.areas.models import Unit
from reports.areas.service import area_by_code
from reports.areas.units import unit_by_code
from reports.intake.submit import ReportInput, submit_report
from reports.workflow.categories import category_by_code
from reports.workflow.models import Report
from reports.workflow.routing import add_rule
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE


def routed(db, category, point):
    report, _ = submit_report(db, ReportInput(category, "Phản ánh của người dân", *point))
    return db.get(Unit, report.unit_id).code


def test_default_routing_by_category_type_and_area(city):
    assert routed(city, "gay_roi", WEST_INSIDE) == "T-W-CA"
    assert routed(city, "gay_roi", EAST_INSIDE) == "T-E-CA"
    assert routed(city, "moi_truong_rac_thai", WEST_INSIDE) == "T-W-UB"
    assert routed(city, "moi_truong_rac_thai", EAST_INSIDE) == "T-E-UB"


def test_rules_override_the_default_deepest_area_and_category_first(city):
    construction = unit_by_code(city, "T-XD")
    environment = unit_by_code(city, "T-TNMT")
    operations = unit_by_code(city, "T-IOC")
    # Land and construction anywhere goes to the city's construction department...
    add_rule(city, unit=construction, category=category_by_code(city, "dat_dai_xay_dung"))
    # ...but in the west ward's group 1 (deeper than "anywhere") to the environment department.
    add_rule(city, unit=environment, category=category_by_code(city, "dat_dai_xay_dung"),
             area=area_by_code(city, "T-W-01"))
    # A catch-all rule for the east ward loses against a category rule in the same area.
    add_rule(city, unit=operations, area=area_by_code(city, "T-E"))
    add_rule(city, unit=construction, category=category_by_code(city, "cay_xanh"), area=area_by_code(city, "T-E"))
    assert routed(city, "dat_dai_xay_dung", WEST_INSIDE) == "T-TNMT"
    assert routed(city, "dat_dai_xay_dung", (107.55, 16.47)) == "T-XD"  # group 2: the city-wide rule
    assert routed(city, "cay_xanh", EAST_INSIDE) == "T-XD"
    assert routed(city, "gay_roi", EAST_INSIDE) == "T-IOC"  # the east ward's catch-all
    assert routed(city, "gay_roi", WEST_INSIDE) == "T-W-CA"  # untouched elsewhere
    # An inactive unit is skipped, and the default applies again.
    environment.active = False
    city.flush()
    assert routed(city, "dat_dai_xay_dung", WEST_INSIDE) == "T-XD"


def test_routing_rules_from_the_command_line(cli, city):
    result = cli("routing", "add", "--unit", "T-XD", "--category", "dat_dai_xay_dung", "--area", "T-E",
                 "--note", "Sở Xây dựng nhận trực tiếp")
    assert result.exit_code == 0, result.output
    rule_id = int(result.output.split()[-1])
    assert cli("routing", "add", "--unit", "T-PCCC", "--alert-type", "fire").exit_code == 0
    listing = cli("routing", "list").output
    assert f"{rule_id}\tdat_dai_xay_dung\tT-E\t-> T-XD\tSở Xây dựng nhận trực tiếp" in listing
    assert "alert:fire\t*\t-> T-PCCC" in listing
    city.rollback()
    assert routed(city, "dat_dai_xay_dung", EAST_INSIDE) == "T-XD"
    city.rollback()
    for bad in (("--unit", "NOPE"), ("--unit", "T-XD", "--category", "nope"), ("--unit", "T-XD", "--area", "NOPE"),
                ("--unit", "T-XD", "--category", "cay_xanh", "--alert-type", "fire"),
                ("--unit", "T-XD", "--alert-type", "meteor")):
        result = cli("routing", "add", *bad)
        assert result.exit_code != 0, bad
    assert cli("routing", "remove", str(rule_id)).exit_code == 0
    assert cli("routing", "remove", str(rule_id)).exit_code != 0
    city.rollback()
    assert routed(city, "dat_dai_xay_dung", EAST_INSIDE) == "T-E-UB"


def test_reassign_over_http_needs_a_reason(client, city, auth_headers):
    report, _ = submit_report(city, ReportInput("moi_truong_rac_thai", "Rác ùn ứ ven sông", *WEST_INSIDE))
    city.commit()
    officer = auth_headers("officer", area_ids=[area_by_code(city, "T").id])  # a city-wide dispatcher
    url = f"/api/reports/{report.id}/reassign"
    assert client.post(url, json={"unit": "T-E-UB"}, headers=officer).status_code == 400
    assert client.post(url, json={"reason": "x"}, headers=officer).status_code == 400
    assert client.post(url, json={"unit": "NOPE", "reason": "x"}, headers=officer).status_code == 404
    resp = client.post(url, json={"unit": "T-TNMT", "reason": "Vượt thẩm quyền phường"}, headers=officer)
    assert resp.status_code == 200 and resp.get_json()["unit"]["code"] == "T-TNMT"
    last = resp.get_json()["history"][-1]
    assert last["action"] == "reassign" and "Vượt thẩm quyền phường" in last["note"]
    assert last["actor"] == "token:user-1-officer"
    resp = client.post(url, json={"area": "T-E", "reason": "Địa bàn phường Đông"}, headers=officer)
    assert resp.get_json()["unit"]["code"] == "T-E-UB" and resp.get_json()["area_current"]["code"] == "T-E"
    # The area it was filed in stays.
    assert resp.get_json()["area_filed"]["code"] == "T-W-01"
    assert client.post(url, json={"unit": "T-XD", "reason": "x"}).status_code == 401
    assert client.post(url, json={"unit": "T-XD", "reason": "x"},
                       headers=auth_headers("leader")).status_code == 403
    city.expire_all()
    assert city.scalar(select(Unit.code).join(Report, Report.unit_id == Unit.id)) == "T-E-UB"
