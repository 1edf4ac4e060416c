from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from gisserver.exceptions import Conflict, Invalid
from reports import workflow
from reports.intake import ReportInput, submit_report
from reports.models import Report, ReportEvent, Unit
from reports.queries import handled_on_time, is_overdue
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
    workflow.transition(city, report, "resolve", actor="officer-b", at=T0 + timedelta(hours=90))
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
    workflow.transition(city, report, "resolve", actor="x", at=T0 + timedelta(hours=72))
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
    workflow.transition(city, main, "resolve", actor="x", at=T0 + timedelta(hours=3))
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
