"""Area summaries checked against figures recomputed from the raw rows, and every figure's records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import geopandas as gpd
import pytest
from shapely.geometry import box
from sqlalchemy import select, update

from reports.areas.models import Area
from reports.areas.service import area_by_code, import_areas, record_area_change
from reports.summaries.figures import Context, SummaryQuery, summarize
from reports.workflow import transitions as workflow
from reports.workflow.models import Report
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE
from tests.reports.summaries.helpers import (
    CATEGORIES,
    TZ,
    Truth,
    ancestors_now,
    build_history,
    exact_percentile,
    file,
    local_start,
)

MEASURES = ("received", "resolved", "rejected", "open", "overdue", "on_time", "late")


def today():
    return datetime.now(UTC).astimezone(TZ).date()


def period_args(date_from, date_to, **extra):
    return {"from": date_from.isoformat(), "to": date_to.isoformat(), **extra}


@pytest.fixture
def history(city):
    build_history(city)
    return city


@pytest.fixture
def admin(auth_headers):
    return auth_headers("admin")


def figures(row: dict) -> dict:
    return {k: row[k] for k in MEASURES}


def test_city_figures_match_the_raw_rows(client, history, admin):
    date_from, date_to = today() - timedelta(days=100), today()
    body = client.get("/api/summaries/T", query_string=period_args(date_from, date_to), headers=admin).get_json()
    assert body["engine"] == "rollup"
    truth = Truth(history, date_from=date_from, date_to=date_to, t=datetime.now(UTC),
                  leaf_to_target=lambda r: ancestors_now(history)(r.area_current_id))
    assert figures(body["reports"]["totals"]) == truth.counts("T")
    assert body["reports"]["totals"]["received"] == 60  # the merged duplicate is not counted twice
    children = {c["code"]: c for c in body["children"]}
    assert set(children) == {"T-E", "T-W"}
    for code in children:
        assert figures(children[code]["reports"]) == truth.counts(code)
    totals = truth.counts("T")
    closed = totals["resolved"] + totals["rejected"]
    assert body["reports"]["totals"]["on_time_rate"] == round(totals["on_time"] / closed, 4)
    by_category = {r["key"]: figures(r) for r in body["reports"]["by_category"]}
    for code in CATEGORIES:
        assert by_category[code] == truth.counts("T", lambda r, code=code: truth.categories[r.category_id] == code)
    by_channel = {r["key"]: figures(r) for r in body["reports"]["by_channel"]}
    assert by_channel["phone"] == truth.counts("T", lambda r: r.channel == "phone")
    by_unit = {r["key"]: figures(r) for r in body["reports"]["by_unit"]}
    assert by_unit["T-W-UB"] == truth.counts("T", lambda r: r.unit is not None and r.unit.code == "T-W-UB")
    trend = {t["key"]: figures(t) for t in body["reports"]["trend"]}
    assert sum(t["received"] for t in trend.values()) == totals["received"]
    for key, counts in trend.items():
        assert counts == truth.counts("T", lambda r, key=key: r.created_at.astimezone(TZ).strftime("%Y-%m") == key)
    backlog = {b["key"]: b for b in body["reports"]["backlog_by_age"]}
    assert sum(b["open"] for b in backlog.values()) == totals["open"]
    assert sum(b["overdue"] for b in backlog.values()) == totals["overdue"]
    # Percentiles come from 10 % buckets: within one bucket of the exact value.
    hours = truth.handling_hours("T")
    for name, q in (("median", 0.5), ("p90", 0.9)):
        exact = exact_percentile(hours, q)
        assert body["reports"]["handling_hours"][name] == pytest.approx(exact, rel=0.11, abs=0.1)


def test_rollup_and_records_give_the_same_figures(history, monkeypatch):
    from gisserver.accounts.users import Principal

    admin = Principal(kind="user", id=0, name="t", roles=frozenset({"admin"}))
    query = SummaryQuery("T", date_from=today() - timedelta(days=100), date_to=today())
    fast = summarize(history, admin, query)
    monkeypatch.setattr(Context, "uses_rollup", property(lambda self: False))
    slow = summarize(history, admin, query)
    assert fast["engine"] == "rollup" and slow["engine"] == "records"
    for key in ("reports", "dossiers", "children", "direct"):
        assert fast[key] == slow[key]


def test_rollup_follows_every_write(client, history, admin):
    def totals():
        return client.get("/api/summaries/T-W", headers=admin).get_json()["reports"]["totals"]

    before = totals()
    report = history.scalar(select(Report).where(Report.status.in_(("new", "in_progress")), Report.area_current_id.in_(
        [area_by_code(history, c).id for c in ("T-W", "T-W-01", "T-W-02")])).limit(1))
    assert report is not None
    workflow.transition(history, report, "resolve", actor="test", note="Đã xong")
    history.commit()
    after = totals()
    assert after["resolved"] == before["resolved"] + 1 and after["open"] == before["open"] - 1
    # Moved to the other ward: it leaves this ward's figures.
    workflow.move(history, report, *EAST_INSIDE, actor="test", reason="wrong place")
    history.commit()
    assert totals()["received"] == before["received"] - 1


def test_one_category_from_the_rollup_and_the_records(client, history, admin, monkeypatch):
    """A category filter: the city from the rollup's category rows, a ward's groups from the records, the same
    figures from both engines, and the records behind each figure are that category's."""
    date_from, date_to = today() - timedelta(days=100), today()
    truth = Truth(history, date_from=date_from, date_to=date_to, t=datetime.now(UTC),
                  leaf_to_target=lambda r: ancestors_now(history)(r.area_current_id))
    code = CATEGORIES[1]

    def of_category(r):
        return truth.categories[r.category_id] == code

    args = period_args(date_from, date_to, category=code)
    city = client.get("/api/summaries/T", query_string=args, headers=admin).get_json()
    assert city["engine"] == "rollup" and city["category"]["code"] == code
    assert figures(city["reports"]["totals"]) == truth.counts("T", of_category)
    assert {c["code"]: figures(c["reports"]) for c in city["children"]} == {
        c: truth.counts(c, of_category) for c in ("T-E", "T-W")}
    assert sum(t["received"] for t in city["reports"]["trend"]) == truth.counts("T", of_category)["received"]
    # Neither engine keeps handling times or the unit and channel breakdowns per category (README, OpenAPI).
    assert city["reports"]["by_unit"] == city["reports"]["by_channel"] == []
    assert city["reports"]["handling_hours"]["median"] is None and city["reports"]["handling_hours"]["p90"] is None
    ward = client.get("/api/summaries/T-W", query_string=args, headers=admin).get_json()
    assert ward["engine"] == "records"
    assert ward["reports"]["by_unit"] == ward["reports"]["by_channel"] == []
    assert ward["reports"]["handling_hours"]["median"] is None
    assert {c["code"]: figures(c["reports"]) for c in ward["children"]} == {
        c: truth.counts(c, of_category) for c in ("T-W-01", "T-W-02")}
    page = client.get("/api/summaries/T/records", headers=admin,
                      query_string={**args, "measure": "open", "per_page": 500}).get_json()
    assert {i["id"] for i in page["items"]} == truth.ids("T", "open", of_category)
    assert page["filter"]["category"] == code
    monkeypatch.setattr(Context, "uses_rollup", property(lambda self: False))
    slow = client.get("/api/summaries/T", query_string=args, headers=admin).get_json()
    for key in ("reports", "children", "direct"):
        assert slow[key] == city[key]
    bad = client.get("/api/summaries/T", query_string={"category": "khong_co"}, headers=admin)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "category"


def test_as_of_a_past_date_counts_the_state_of_that_day(client, history, admin):
    as_of = today() - timedelta(days=30)
    date_from = today() - timedelta(days=100)
    body = client.get("/api/summaries/T", query_string=period_args(date_from, today(), as_of=as_of.isoformat()),
                      headers=admin).get_json()
    assert body["engine"] == "records"
    t = local_start(as_of + timedelta(days=1))
    truth = Truth(history, date_from=date_from, date_to=today(), t=t,
                  leaf_to_target=lambda r: ancestors_now(history)(r.area_current_id))
    assert figures(body["reports"]["totals"]) == truth.counts("T")
    assert body["reports"]["totals"]["received"] < 60


def test_deadline_and_as_of_boundaries(client, city, admin):
    now = datetime.now(UTC)
    exact = file(city, WEST_INSIDE, 10, now=now)
    workflow.transition(city, exact, "resolve", actor="t", note="xong", at=exact.due_at)
    late = file(city, WEST_INSIDE, 10, now=now)
    workflow.transition(city, late, "resolve", actor="t", note="xong", at=late.due_at + timedelta(seconds=1))
    # Closed in the last second of the as-of day, and in the first second of the next one.
    as_of = today() - timedelta(days=2)
    midnight = local_start(as_of + timedelta(days=1))
    inside = file(city, WEST_INSIDE, 20, now=now)
    workflow.transition(city, inside, "resolve", actor="t", note="xong", at=midnight - timedelta(seconds=1))
    outside = file(city, WEST_INSIDE, 20, now=now)
    workflow.transition(city, outside, "resolve", actor="t", note="xong", at=midnight)
    # Due exactly at the as-of instant is not yet overdue; one second earlier is.
    due_at_t = file(city, EAST_INSIDE, 5, now=now)
    city.execute(update(Report).where(Report.id == due_at_t.id).values(due_at=midnight))
    due_before = file(city, EAST_INSIDE, 5, now=now)
    city.execute(update(Report).where(Report.id == due_before.id).values(due_at=midnight - timedelta(seconds=1)))
    city.commit()
    args = period_args(today() - timedelta(days=30), today())
    now_body = client.get("/api/summaries/T", query_string=args, headers=admin).get_json()
    # Only the one closed at its deadline is on time (the other three closed long after theirs).
    assert now_body["reports"]["totals"]["on_time"] == 1 and now_body["reports"]["totals"]["late"] == 3

    def ids(measure, **extra):
        body = client.get("/api/summaries/T/records", headers=admin,
                          query_string={**args, "measure": measure, "per_page": 500, **extra}).get_json()
        return {item["id"] for item in body["items"]}

    assert exact.id in ids("on_time") and late.id in ids("late") and exact.id not in ids("late")
    past = {**args, "as_of": as_of.isoformat()}
    body = client.get("/api/summaries/T", query_string=past, headers=admin).get_json()
    assert body["reports"]["totals"]["resolved"] == 3  # exact, late and inside; outside closed after
    assert ids("resolved", as_of=as_of.isoformat()) == {exact.id, late.id, inside.id}
    assert outside.id in ids("open", as_of=as_of.isoformat())
    overdue = ids("overdue", as_of=as_of.isoformat())
    assert due_before.id in overdue and due_at_t.id not in overdue


def test_empty_period_and_empty_area(client, history, admin):
    body = client.get("/api/summaries/T", query_string=period_args(date(2020, 1, 1), date(2020, 3, 31),
                                                                   trend="month"), headers=admin).get_json()
    totals = body["reports"]["totals"]
    assert all(totals[k] == 0 for k in MEASURES) and totals["on_time_rate"] is None
    assert body["reports"]["handling_hours"] == {"median": None, "p90": None}
    assert [t["key"] for t in body["reports"]["trend"]] == ["2020-01", "2020-02", "2020-03"]
    assert body["dossiers"]["totals"]["on_time_rate"] is None and body["dossiers"]["totals"]["online_share"] is None
    assert [c["reports"]["received"] for c in body["children"]] == [0, 0]
    # A ward with no groups and nothing filed in the period.
    empty = client.get("/api/summaries/T-E", query_string=period_args(today() - timedelta(days=1), today()),
                       headers=admin).get_json()
    assert empty["children"] == [] and empty["reports"]["by_category"] == []


def test_every_figure_links_to_exactly_its_records(client, history, admin):
    date_from, date_to = today() - timedelta(days=100), today()
    args = period_args(date_from, date_to)
    body = client.get("/api/summaries/T", query_string=args, headers=admin).get_json()
    truth = Truth(history, date_from=date_from, date_to=date_to, t=datetime.now(UTC),
                  leaf_to_target=lambda r: ancestors_now(history)(r.area_current_id))

    def linked(**extra):
        page = client.get("/api/summaries/T/records", headers=admin,
                          query_string={**args, "per_page": 500, **extra}).get_json()
        return page["total"], {item["id"] for item in page["items"]}

    for measure in MEASURES:
        total, ids = linked(measure=measure)
        assert total == body["reports"]["totals"][measure] == len(ids)
        assert ids == truth.ids("T", measure)
        for child in body["children"]:
            total, ids = linked(measure=measure, child=child["code"])
            assert total == child["reports"][measure] and ids == truth.ids(child["code"], measure)
    for row in body["reports"]["by_category"]:
        total, ids = linked(measure="late", dim="category", key=row["key"])
        assert total == row["late"]
        assert ids == truth.ids("T", "late", lambda r, k=row["key"]: truth.categories[r.category_id] == k)
    for row in body["reports"]["trend"]:
        total, _ = linked(measure="received", dim="trend", key=row["key"])
        assert total == row["received"]
    for row in body["reports"]["backlog_by_age"]:
        assert linked(measure="overdue", dim="age", key=row["key"])[0] == row["overdue"]
    for row in body["reports"]["by_unit"]:
        assert linked(measure="received", dim="unit", key=row["key"])[0] == row["received"]
    # Pages partition the list.
    first = client.get("/api/summaries/T/records", headers=admin, query_string={**args, "per_page": 7}).get_json()
    second = client.get("/api/summaries/T/records", headers=admin,
                        query_string={**args, "per_page": 7, "page": 2}).get_json()
    assert first["total"] == 60 and not {i["id"] for i in first["items"]} & {i["id"] for i in second["items"]}


def test_group_summary_and_direct_filings(client, history, admin):
    body = client.get("/api/summaries/T-W-01", headers=admin).get_json()
    assert body["engine"] == "records" and body["area"]["level"] == "group" and body["children"] == []
    ward = client.get("/api/summaries/T-W", headers=admin).get_json()
    groups = {c["code"]: c for c in ward["children"]}
    assert figures(groups["T-W-01"]["reports"]) == figures(body["reports"]["totals"])
    assert sum(c["reports"]["received"] for c in groups.values()) == ward["reports"]["totals"]["received"]
    assert ward["direct"] is None
    city = client.get("/api/summaries/T", headers=admin).get_json()
    assert city["breadcrumb"][0]["code"] == "T"
    assert [a["code"] for a in ward["breadcrumb"]] == ["T", "T-W"]


def _merge_wards(db, on: date):
    db.execute(update(Area).values(valid_from=date(2020, 1, 1)))
    merged = gpd.GeoDataFrame({"code": ["T-M"], "name": ["Phường Hợp Nhất"], "parent": ["T"]},
                              geometry=[box(107.5, 16.4, 107.7, 16.5)], crs=4326)
    import_areas(db, merged, level="ward", parent_code_col="parent", valid_from=on)
    record_area_change(db, "merge", on, ["T-W", "T-E"], ["T-M"], note="Nghị quyết sáp nhập")
    db.commit()


def _dossier_csv(rows) -> bytes:
    lines = ["dossier_id,procedure,area_code,received,due,finished,channel,status"]
    lines += [",".join(r) for r in rows]
    return "\n".join(lines).encode()


def test_a_period_spanning_a_merger_on_todays_areas_or_those_of_the_time(client, city, admin, auth_headers):
    now = datetime.now(UTC)
    before = [file(city, WEST_INSIDE, 40, now=now), file(city, WEST_INSIDE, 35, now=now),
              file(city, EAST_INSIDE, 30, now=now)]
    city.commit()
    received = (now - timedelta(days=30)).astimezone(TZ)
    stamp = received.strftime("%Y-%m-%d %H:%M")
    csv = _dossier_csv([
        ["HS-1", "Chứng thực", "T-W", stamp, (received + timedelta(days=2)).strftime("%Y-%m-%d"), "", "online",
         "in_progress"],
        ["HS-2", "Khai sinh", "T-E", stamp, (received + timedelta(days=2)).strftime("%Y-%m-%d"),
         (received + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"), "offline", "finished"],
    ])
    assert client.post("/api/dossiers/import", data={"file": (__import__("io").BytesIO(csv), "d.csv")},
                       headers=admin).status_code == 201
    merger = today() - timedelta(days=20)
    _merge_wards(city, merger)
    after = file(city, EAST_INSIDE, 10, now=now)
    city.commit()
    args = period_args(today() - timedelta(days=60), today())
    on_today = client.get("/api/summaries/T", query_string=args, headers=admin).get_json()
    assert [c["code"] for c in on_today["children"]] == ["T-M"]
    merged = on_today["children"][0]
    assert merged["reports"]["received"] == 4 and merged["dossiers"]["received"] == 2
    assert on_today["engine"] == "rollup"
    of_the_time = client.get("/api/summaries/T", query_string={**args, "areas": "then"}, headers=admin).get_json()
    children = {c["code"]: c for c in of_the_time["children"]}
    assert set(children) == {"T-E", "T-M", "T-W"}
    assert children["T-W"]["reports"]["received"] == 2 and children["T-E"]["reports"]["received"] == 1
    assert children["T-M"]["reports"]["received"] == 1
    assert children["T-W"]["dossiers"]["received"] == 1 and children["T-E"]["dossiers"]["received"] == 1
    assert children["T-W"]["valid_to"] == merger.isoformat()
    # The records behind a figure of the time are the ones filed there then.
    page = client.get("/api/summaries/T/records", headers=admin,
                      query_string={**args, "areas": "then", "child": "T-W", "per_page": 50}).get_json()
    assert {i["id"] for i in page["items"]} == {before[0].id, before[1].id}
    # The group kept through the merger counts in the old ward before and the new one after.
    group = client.get("/api/summaries/T-W", query_string={**args, "areas": "then"}, headers=admin).get_json()
    assert [c["code"] for c in group["children"]] == ["T-W-01", "T-W-02"]
    assert group["children"][0]["reports"]["received"] == 2
    assert client.get("/api/summaries/T-W", query_string=args, headers=admin).status_code == 400
    # The new ward's leader sees its predecessors on the areas of the time.
    leader = auth_headers("leader", area_ids=[area_by_code(city, "T-M").id])
    mine = client.get("/api/summaries/T-M", query_string=args, headers=leader).get_json()
    assert mine["reports"]["totals"]["received"] == 4 and after.id
    assert client.get("/api/summaries/T-W", query_string={**args, "areas": "then"}, headers=leader).status_code == 200
    assert client.get("/api/summaries/T", query_string=args, headers=leader).status_code == 404


def test_leaders_see_only_their_subtree(client, history, auth_headers):
    west = area_by_code(history, "T-W").id
    ward_leader = auth_headers("leader", area_ids=[west])
    assert client.get("/api/summaries/T-W", headers=ward_leader).status_code == 200
    assert client.get("/api/summaries/T-W-02", headers=ward_leader).status_code == 200
    for url in ("/api/summaries/T-E", "/api/summaries/T", "/api/summaries/T-E/records",
                "/api/summaries/T/map", "/api/summaries/T-E/export.pdf", "/api/summaries/NOPE"):
        response = client.get(url, headers=ward_leader)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/summaries/T-W/records", query_string={"child": "T-E"},
                      headers=ward_leader).status_code == 404
    assert client.get("/api/summaries/T-W", headers=auth_headers("officer", area_ids=[west])).status_code == 403
    assert client.get("/api/summaries/T").status_code == 401
    assert client.get("/api/summaries/T", headers=auth_headers("admin")).status_code == 200


@pytest.mark.parametrize("args", [
    {"from": "2025-13-01"}, {"from": "2025-03-02", "to": "2025-03-01"}, {"areas": "yesterday"},
    {"trend": "daily"}, {"indicator": "happiness"}, {"from": "2010-01-01", "to": "2025-01-01"},
])
def test_bad_parameters_are_400(client, city, admin, args):
    response = client.get("/api/summaries/T", query_string=args, headers=admin)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid"


@pytest.mark.parametrize("args", [
    {"measure": "happiness"}, {"source": "tweets"}, {"dim": "colour", "key": "red"}, {"dim": "category"},
    {"dim": "category", "key": "nope"}, {"per_page": "0"}, {"page": "x"}, {"dim": "age", "key": "old"},
])
def test_bad_record_filters_are_400(client, city, admin, args):
    assert client.get("/api/summaries/T/records", query_string=args, headers=admin).status_code == 400


def test_rebuild_restores_the_rollups(cli, history):
    before = summarize(history, _admin(), SummaryQuery("T"))
    history.execute(__import__("sqlalchemy").text("DELETE FROM report_daily"))
    history.commit()
    assert summarize(history, _admin(), SummaryQuery("T"))["reports"]["totals"]["received"] == 0
    result = cli("summaries", "rebuild")
    assert result.exit_code == 0, result.output
    history.rollback()
    assert summarize(history, _admin(), SummaryQuery("T"))["reports"] == before["reports"]


def _admin():
    from gisserver.accounts.users import Principal

    return Principal(kind="user", id=0, name="t", roles=frozenset({"admin"}))

