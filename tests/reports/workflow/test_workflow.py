from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from gisserver.core.exceptions import Conflict, Invalid
from reports.areas.models import Unit
from reports.intake.submit import ReportInput, submit_report
from reports.workflow import transitions as workflow
from reports.workflow.models import Report, ReportEvent
from reports.workflow.queries import handled_on_time, is_overdue
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def new_report(db, category="moi_truong_rac_thai", point=WEST_INSIDE, at=T0):
    report, _ = submit_report(db, ReportInput(category, "Rác thải ùn ứ nhiều ngày", *point), now=at)
    return report


def test_full_lifecycle_with_history(city):
    report = new_report(city)
    workflow.transition(city, report, "acknowledge", actor="officer-a", at=T0 + timedelta(hours=1))
    workflow.transition(city, report, "start", actor="officer-a", at=T0 + timedelta(hours=2))
    workflow.transition(city, report, "resolve", actor="officer-a", note="Đã thu gom", at=T0 + timedelta(hours=30))
    assert report.status == "resolved" and report.resolution == "Đã thu gom"
    assert handled_on_time(report) is True
    workflow.transition(city, report, "reopen", actor="officer-b", note="Rác lại đổ", at=T0 + timedelta(hours=80))
    assert report.status == "in_progress" and report.closed_at is None
    assert is_overdue(report, now=T0 + timedelta(hours=80))  # 72 h deadline
    workflow.transition(city, report, "resolve", actor="officer-b", note="Đã xong", at=T0 + timedelta(hours=90))
    assert handled_on_time(report) is False
    city.commit()
    events = city.scalars(select(ReportEvent).where(ReportEvent.report_id == report.id).order_by(ReportEvent.id))
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("created", None, "new"),
        ("acknowledge", "new", "acknowledged"),
        ("start", "acknowledged", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("reopen", "resolved", "in_progress"),
        ("resolve", "in_progress", "resolved"),
    ]


def test_deadline_boundary(city):
    report = new_report(city)  # 72 h
    assert not is_overdue(report, now=T0 + timedelta(hours=72))
    assert is_overdue(report, now=T0 + timedelta(hours=72, seconds=1))
    workflow.transition(city, report, "resolve", actor="x", note="Đã xong", at=T0 + timedelta(hours=72))
    assert handled_on_time(report) is True


def test_illegal_transitions_and_missing_reasons(city):
    report = new_report(city)
    with pytest.raises(Conflict):
        workflow.transition(city, report, "reopen", actor="x", note="why")
    with pytest.raises(Invalid):
        workflow.transition(city, report, "reject", actor="x", note=" ")
    with pytest.raises(Invalid):
        workflow.transition(city, report, "fly", actor="x")
    workflow.transition(city, report, "reject", actor="x", note="Không thuộc thẩm quyền", at=T0 + timedelta(hours=1))
    with pytest.raises(Conflict):
        workflow.transition(city, report, "start", actor="x")


def test_history_cannot_be_edited(city):
    new_report(city)
    city.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        city.execute(text("UPDATE report_events SET note = 'forged'"))
    city.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        city.execute(text("DELETE FROM report_events"))
    city.rollback()


def test_merged_duplicates_follow_the_main_report(city):
    main = new_report(city)
    dup = new_report(city, at=T0 + timedelta(hours=1))
    assert dup.possible_duplicate_of_id == main.id
    workflow.merge(city, main, [dup], actor="x", at=T0 + timedelta(hours=2))
    workflow.transition(city, main, "resolve", actor="x", note="Đã xong", at=T0 + timedelta(hours=3))
    assert dup.status == "resolved" and dup.merged_into_id == main.id
    with pytest.raises(Conflict):
        workflow.transition(city, dup, "reopen", actor="x", note="n")
    with pytest.raises(Invalid):
        workflow.merge(city, main, [main], actor="x")


def test_reassign_and_move(city):
    report = new_report(city)
    east_committee = city.scalar(select(Unit).where(Unit.code == "T-E-UB"))
    with pytest.raises(Invalid):
        workflow.reassign(city, report, actor="x", reason="", unit_code="T-E-UB")
    workflow.reassign(city, report, actor="x", reason="Thuộc địa bàn phường Đông", area_code="T-E")
    assert report.unit_id == east_committee.id
    workflow.move(city, report, *EAST_INSIDE, actor="x", reason="Người dân chỉ sai vị trí")
    assert report.area_filed_id == report.area_current_id
    assert report.area_current.code == "T-E"
    with pytest.raises(Invalid):
        workflow.move(city, report, 108.5, 16.45, actor="x")


def test_queue_api_scoped_to_the_officers_unit(client, city, auth_headers):
    west = new_report(city)
    east = new_report(city, point=EAST_INSIDE)
    city.commit()
    west_unit = city.scalar(select(Unit).where(Unit.code == "T-W-UB"))
    headers = auth_headers("officer", unit_ids=[west_unit.id])
    listing = client.get("/api/reports?status=new", headers=headers).get_json()
    assert [r["tracking_code"] for r in listing["items"]] == [west.tracking_code]
    assert listing["items"][0]["reporter"] == {"name": None, "phone": None}
    assert client.get(f"/api/reports/{east.id}", headers=headers).status_code == 404
    resp = client.post(f"/api/reports/{west.id}/transition", json={"action": "acknowledge"}, headers=headers)
    assert resp.status_code == 200 and resp.get_json()["status"] == "acknowledged"
    resp = client.post(f"/api/reports/{west.id}/transition", json={"action": "acknowledge"}, headers=headers)
    assert resp.status_code == 409
    resp = client.post(f"/api/reports/{west.id}/transition", json={"action": "reject"}, headers=headers)
    assert resp.status_code == 400
    assert client.get("/api/reports?overdue=maybe", headers=headers).status_code == 400
    assert client.get("/api/reports?sort=nope", headers=headers).status_code == 400
    assert client.get("/api/reports?per_page=1000", headers=headers).status_code == 400
    assert client.get("/api/reports").status_code == 401
    assert client.get("/api/reports", headers=auth_headers("planner")).status_code == 403
    admin = client.get("/api/reports?sort=created&per_page=1&page=2", headers=auth_headers("admin")).get_json()
    assert admin["total"] == 2 and [r["tracking_code"] for r in admin["items"]] == [east.tracking_code]
    # A ward leader sees the ward's reports, read-only.
    leader = auth_headers("leader", area_ids=[west.area_current.parent_id])
    assert client.get("/api/reports", headers=leader).get_json()["total"] == 1
    resp = client.post(f"/api/reports/{west.id}/transition", json={"action": "start"}, headers=leader)
    assert resp.status_code == 403
    assert city.scalar(select(Report.status).where(Report.id == west.id)) == "acknowledged"


# How to bring a new report to each status.
REACH = {"new": [], "acknowledged": ["acknowledge"], "in_progress": ["start"], "resolved": ["resolve"],
         "rejected": ["reject"]}
# What each action may start from (the state machine), written out independently of the code.
ALLOWED = {
    "acknowledge": {"new"},
    "start": {"new", "acknowledged"},
    "resolve": {"new", "acknowledged", "in_progress"},
    "reject": {"new", "acknowledged", "in_progress"},
    "reopen": {"resolved"},
}
RESULT = {"acknowledge": "acknowledged", "start": "in_progress", "resolve": "resolved", "reject": "rejected",
          "reopen": "in_progress"}


def test_every_transition_and_every_refusal(city):
    t = T0
    for action, sources in ALLOWED.items():
        for status, path in REACH.items():
            report = new_report(city, at=t)
            for step in path:
                t += timedelta(minutes=1)
                workflow.transition(city, report, step, actor="x", note="lý do", at=t)
            assert report.status == status
            t += timedelta(minutes=1)
            if status in sources:
                if action in ("reject", "reopen", "resolve"):  # these need a reason (or an answer to the resident)
                    with pytest.raises(Invalid):
                        workflow.transition(city, report, action, actor="x", note="  ", at=t)
                    assert report.status == status
                workflow.transition(city, report, action, actor="x", note="lý do", at=t)
                assert report.status == RESULT[action], (action, status)
            else:
                with pytest.raises(Conflict):
                    workflow.transition(city, report, action, actor="x", note="lý do", at=t)
                assert report.status == status, (action, status)
    city.commit()
    # Refused attempts left no trace in the history.
    assert city.scalar(select(func.count()).select_from(ReportEvent).where(ReportEvent.action.in_(list(ALLOWED)))) == (
        sum(len(REACH[s]) for s in REACH) * len(ALLOWED) + sum(len(s) for s in ALLOWED.values()))
    assert set(ALLOWED) == set(workflow.TRANSITIONS)


def test_closing_and_reopening_keep_times_and_reasons(city):
    report = new_report(city)
    workflow.transition(city, report, "reject", actor="x", note="Không thuộc thẩm quyền", at=T0 + timedelta(hours=2))
    assert report.closed_at == T0 + timedelta(hours=2) and report.resolution == "Không thuộc thẩm quyền"
    assert handled_on_time(report) is True and not is_overdue(report, now=T0 + timedelta(days=30))
    with pytest.raises(Invalid):  # a change cannot be dated before the report
        workflow.transition(city, new_report(city), "start", actor="x", at=T0 - timedelta(hours=1))


def test_merge_over_http(client, city, auth_headers):
    main = new_report(city, at=datetime.now(UTC) - timedelta(hours=2))
    dup = new_report(city, point=(WEST_INSIDE[0] + 0.0003, WEST_INSIDE[1]), at=datetime.now(UTC) - timedelta(hours=1))
    other = new_report(city, point=EAST_INSIDE)
    city.commit()
    assert dup.possible_duplicate_of_id == main.id
    officer = auth_headers("admin")
    assert client.post(f"/api/reports/{main.id}/merge", json={"duplicates": "x"}, headers=officer).status_code == 400
    assert client.post(f"/api/reports/{main.id}/merge", json={"duplicates": [main.id]},
                       headers=officer).status_code == 400
    resp = client.post(f"/api/reports/{main.id}/merge", json={"duplicates": [dup.id]}, headers=officer)
    assert resp.status_code == 200 and resp.get_json()["history"][-1]["action"] == "absorb"
    assert client.post(f"/api/reports/{other.id}/merge", json={"duplicates": [dup.id]},
                       headers=officer).status_code == 409  # already merged
    client.post(f"/api/reports/{main.id}/transition", json={"action": "resolve", "note": "Đã dọn"}, headers=officer)
    merged = client.get(f"/api/reports/{dup.id}", headers=officer).get_json()
    assert merged["status"] == "resolved" and merged["merged_into"] == main.id
    assert merged["history"][-1]["action"] == "follow_resolve"
    # The resident of the duplicate sees the outcome on the public status page too.
    public = client.get(f"/api/reports/{dup.tracking_code}/status").get_json()
    assert public["status"] == "resolved" and public["resolution"] == "Đã dọn"
    assert client.post(f"/api/reports/{dup.id}/transition", json={"action": "reopen", "note": "x"},
                       headers=officer).status_code == 409


def test_queue_filters_sort_and_paging(client, city, auth_headers):
    now = datetime.now(UTC).replace(microsecond=0)
    made = {
        "late_waste_west": new_report(city, at=now - timedelta(days=5)),  # 72 h: overdue
        "fresh_waste_east": new_report(city, point=EAST_INSIDE, at=now - timedelta(hours=1)),
        "fight_west": new_report(city, category="gay_roi", point=(107.55, 16.47), at=now - timedelta(days=2)),
        "theft_east": new_report(city, category="trom_cap", point=EAST_INSIDE, at=now - timedelta(days=10)),
    }
    workflow.transition(city, made["theft_east"], "resolve", actor="x", note="Đã xong",
                        at=now - timedelta(days=9))
    city.commit()
    headers = auth_headers("admin")

    def codes(query):
        resp = client.get(f"/api/reports?{query}", headers=headers)
        assert resp.status_code == 200, (query, resp.get_json())
        return [r["tracking_code"] for r in resp.get_json()["items"]]

    def names(*keys):
        return [made[k].tracking_code for k in keys]

    assert codes("overdue=true&sort=created") == names("late_waste_west", "fight_west")  # 4 h deadline for a fight
    assert codes("overdue=false&sort=created") == names("theft_east", "fresh_waste_east")
    assert codes("status=resolved") == names("theft_east")
    assert codes("status=new,acknowledged&category=moi_truong_rac_thai&sort=created") == names(
        "late_waste_west", "fresh_waste_east")
    assert codes("area=T-W&sort=created") == names("late_waste_west", "fight_west")
    assert codes("area=T-W-02") == names("fight_west")
    assert codes("unit=T-E-CA") == names("theft_east")
    day = (now - timedelta(days=2)).date().isoformat()
    assert codes(f"from={day}&to={day}") == names("fight_west")
    assert codes("sort=due") == names("theft_east", "late_waste_west", "fight_west", "fresh_waste_east")
    assert codes("sort=-created&per_page=2&page=2") == names("late_waste_west", "theft_east")
    page = client.get("/api/reports?per_page=3&page=2", headers=headers).get_json()
    assert page["total"] == 4 and len(page["items"]) == 1 and page["page"] == 2
    for bad in ("status=lost", "category=nope", "area=NOPE", "from=yesterday", "from=2026-02-02&to=2026-01-01",
                "page=0", "page=x"):
        assert client.get(f"/api/reports?{bad}", headers=headers).status_code in (400, 404), bad
