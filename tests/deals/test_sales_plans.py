"""Sales plans: who sets and who reads them, the targets and periods they take, overlaps, closed periods, ETags
and the events they emit (checked against the contracts)."""
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support.contracts import validator
from tests.support.http import assert_error, assert_field_error
from tests.support.plans import TARGETS, create_plan, events_named, new_team, rub

PLANS = "/api/v1/sales-plans"


def plan_events(url: str) -> list[dict]:
    return events_named(url, "crm.sales_plan.")


@pytest.fixture
def anna(manager, known_user, clock) -> str:
    """The calling manager, known to the users projection (the clock set first: T0 is in March 2026)."""
    return known_user(manager)


def test_the_head_of_sales_sets_a_managers_plan_for_a_month(head, manager, anna, deals_db_url):
    created = head.post(PLANS, json={"period": "2026-04", "manager_id": anna, "targets": TARGETS})
    assert created.status_code == 201, created.json
    assert created.headers["ETag"] == '"1"'
    plan = created.json
    assert plan | {"id": None} == {
        "id": None, "period": "2026-04", "period_kind": "month", "period_start": "2026-04-01",
        "period_end": "2026-04-30", "manager_id": anna, "team_id": None, "mode": "own",
        "targets": {"revenue_won": rub("1500000.00"), "revenue_paid": rub("1200000.00"), "deals_won": 10,
                    "activities": {"call": 40, "meeting": 8}},
        "created_at": "2026-03-02T09:00:00+00:00", "updated_at": "2026-03-02T09:00:00+00:00", "version": 1}
    assert head.get(f"{PLANS}/{plan['id']}").json == plan
    [event] = plan_events(deals_db_url)
    assert event["type"] == "crm.sales_plan.created.v1" and event["key"] == plan["id"]
    assert event["payload"] == {
        "plan_id": plan["id"], "period_kind": "month", "period_start": "2026-04-01", "period_end": "2026-04-30",
        "manager_id": anna, "team_id": None, "mode": "own",
        "targets": {"revenue_won": rub("1500000.00"), "revenue_paid": rub("1200000.00"), "deals_won": 10,
                    "activities": {"call": 40, "meeting": 8}},
        "created_at": "2026-03-02T09:00:00Z", "updated_at": "2026-03-02T09:00:00Z", "deleted_at": None,
        "actor_id": head.user_id}
    validator(event["type"]).validate(event["payload"])


def test_a_quarter_plan_and_a_plan_with_some_targets_only(admin, anna):
    plan = create_plan(admin, period="2026-Q2", manager_id=anna, targets={"deals_won": 0})
    assert (plan["period"], plan["period_start"], plan["period_end"]) == ("2026-Q2", "2026-04-01", "2026-06-30")
    assert plan["targets"] == {"revenue_won": None, "revenue_paid": None, "deals_won": 0, "activities": {}}


def test_team_plans_are_own_or_the_sum_of_their_managers(head, manager, project, clock, deals_db_url):
    team = new_team(project, manager)
    summed = create_plan(head, period="2026-05", team_id=team, mode="sum", targets={})
    assert summed["mode"] == "sum" and summed["manager_id"] is None and summed["team_id"] == team
    assert summed["targets"] == {"revenue_won": None, "revenue_paid": None, "deals_won": None, "activities": {}}
    own = create_plan(head, period="2026-06", team_id=team, mode="own", targets={"revenue_won": rub("9000000")})
    assert own["targets"]["revenue_won"] == rub("9000000.00")
    assert_field_error(head.post(PLANS, json={"period": "2026-07", "team_id": team, "mode": "sum",
                                              "targets": {"deals_won": 3}}), 422, "targets")
    for event in plan_events(deals_db_url):
        validator(event["type"]).validate(event["payload"])


def test_a_plan_names_an_active_manager_or_a_known_team(head, known_user, clock, project):
    accountant_id = known_user(None, role="accountant")
    gone = known_user(None, role="manager", is_active=False)
    for manager_id in (accountant_id, gone, str(uuid.uuid4())):
        assert_field_error(head.post(PLANS, json={"period": "2026-04", "manager_id": manager_id, "targets": TARGETS}),
                           422, "manager_id")
    assert_field_error(head.post(PLANS, json={"period": "2026-04", "team_id": str(uuid.uuid4()), "targets": TARGETS}),
                       422, "no such team")
    head_of_sales = known_user(head)
    assert create_plan(head, period="2026-04", manager_id=head_of_sales)["manager_id"] == head.user_id


@pytest.mark.parametrize("body,field", [
    ({"period": "2026-04"}, "manager_id"),  # neither manager nor team
    ({"period": "2026-04", "team_id": str(uuid.uuid4()), "manager_id": "{anna}"}, "manager_id"),  # both
    ({"period": "2026-4", "manager_id": "{anna}"}, "period"),
    ({"period": "2026-Q5", "manager_id": "{anna}"}, "period"),
    ({"period": "2026-13", "manager_id": "{anna}"}, "period"),
    ({"manager_id": "{anna}"}, "period"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {}}, "targets"),  # own needs a target
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"activities": {}}}, "targets"),
    ({"period": "2026-04", "manager_id": "{anna}", "mode": "sum", "targets": {}}, "mode"),  # managers are own
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"deals_won": -1}}, "deals_won"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"deals_won": "5"}}, "deals_won"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"activities": {"call": -1}}}, "activities"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"activities": {"Phone Call": 3}}}, "activities"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"revenue_won": {"amount": "-5", "currency": "RUB"}}},
     "revenue_won"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"revenue_won": rub("0")}}, "revenue_won"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"revenue_paid": {"amount": "100.00",
                                                                                "currency": "EUR"}}}, "revenue_paid"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": {"calls": 5}}, "calls"),  # unknown measure
    ({"period": "2026-04", "manager_id": "{anna}", "targets": TARGETS, "id": str(uuid.uuid4())}, "id"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": TARGETS, "version": 3}, "version"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": TARGETS, "period_start": "2026-04-01"}, "period_start"),
    ({"period": "2026-04", "manager_id": "{anna}", "targets": TARGETS, "created_at": "2026-01-01T00:00:00Z"},
     "created_at"),
])
def test_bad_plan_bodies_are_422_naming_the_field_and_write_nothing(head, anna, deals_db_url, body, field):
    body = {name: anna if value == "{anna}" else value for name, value in body.items()}
    assert_field_error(head.post(PLANS, json=body), 422, field)
    assert head.get(PLANS).json["total"] == 0 and plan_events(deals_db_url) == []


def test_plans_of_one_manager_never_overlap(head, anna, known_user, project, deals_db_url):
    may = create_plan(head, period="2026-05", manager_id=anna)
    body = assert_error(head.post(PLANS, json={"period": "2026-Q2", "manager_id": anna, "targets": TARGETS}), 409,
                        "plan_overlaps", may["id"])
    assert body["errors"]["reason"] == "plan_overlaps" and body["errors"]["plan_id"] == may["id"]
    assert_error(head.post(PLANS, json={"period": "2026-05", "manager_id": anna, "targets": TARGETS}), 409,
                 "plan_overlaps")
    # The months around it, another manager's quarter and a team's are free.
    create_plan(head, period="2026-04", manager_id=anna)
    create_plan(head, period="2026-06", manager_id=anna)
    create_plan(head, period="2026-Q2", manager_id=known_user(None, role="manager"))
    team = new_team(project, anna)
    quarter = create_plan(head, period="2026-Q2", team_id=team, mode="sum", targets={})
    body = assert_error(head.post(PLANS, json={"period": "2026-06", "team_id": team, "targets": TARGETS}), 409,
                        "plan_overlaps")
    assert body["errors"]["plan_id"] == quarter["id"]
    assert len(plan_events(deals_db_url)) == 5


def test_concurrent_overlapping_plans_give_one_plan_and_conflicts(deals_app, head, anna, deals_db_url):
    periods = ["2026-Q3", "2026-07", "2026-08", "2026-09"] * 2

    def create(period):
        with deals_app.test_client() as http:
            return http.post(PLANS, headers=head.headers, json={"period": period, "manager_id": anna,
                                                                "targets": TARGETS}).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(create, periods))
    plans = head.get(PLANS).json["items"]
    # Either the quarter or the three months, never both, and every other answer a 409 (never a 500).
    assert sorted(p["period"] for p in plans) in (["2026-Q3"], ["2026-07", "2026-08", "2026-09"])
    assert sorted(answers) == sorted([201] * len(plans) + [409] * (len(periods) - len(plans)))
    assert len(plan_events(deals_db_url)) == len(plans)


def test_a_closed_period_takes_no_plan_and_its_plans_no_longer_change(head, anna, clock, deals_db_url):
    for period in ("2026-02", "2025-Q4", "2025-12"):
        body = assert_error(head.post(PLANS, json={"period": period, "manager_id": anna, "targets": TARGETS}),
                            409, "period_closed")
        assert body["errors"]["reason"] == "period_closed"
    march = create_plan(head, period="2026-03", manager_id=anna)  # the current month is open
    quarter = create_plan(head, period="2026-Q2", manager_id=anna)
    clock.advance(days=30)  # 2026-04-01: March has ended
    path = f"{PLANS}/{march['id']}"
    assert_error(head.patch(path, json={"targets": {"deals_won": 1}}), 409, "period_closed")
    assert_error(head.delete(path), 409, "period_closed")
    assert head.get(path).json == march
    assert head.patch(f"{PLANS}/{quarter['id']}", json={"targets": {"deals_won": 1}}).status_code == 200
    assert [e["type"] for e in plan_events(deals_db_url)] == [
        "crm.sales_plan.created.v1", "crm.sales_plan.created.v1", "crm.sales_plan.updated.v1"]


def test_patch_changes_the_targets_given_and_a_no_op_emits_nothing(head, anna, clock, deals_db_url):
    plan = create_plan(head, period="2026-04", manager_id=anna)
    path = f"{PLANS}/{plan['id']}"
    clock.advance(hours=1)
    changed = head.patch(path, json={"targets": {"deals_won": 12, "revenue_paid": None,
                                                 "activities": {"demo": 2}}})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.json["targets"] == {"revenue_won": rub("1500000.00"), "revenue_paid": None, "deals_won": 12,
                                       "activities": {"demo": 2}}
    assert changed.json["updated_at"] == "2026-03-02T10:00:00+00:00" and changed.json["version"] == 2
    again = head.patch(path, json={"targets": {"deals_won": 12}})
    assert again.status_code == 200 and again.json["version"] == 2
    events = plan_events(deals_db_url)
    assert [e["type"] for e in events] == ["crm.sales_plan.created.v1", "crm.sales_plan.updated.v1"]
    assert events[1]["payload"]["targets"] == {"revenue_won": rub("1500000.00"), "revenue_paid": None,
                                               "deals_won": 12, "activities": {"demo": 2}}
    validator(events[1]["type"]).validate(events[1]["payload"])
    assert_field_error(head.patch(path, json={"targets": {"revenue_won": None, "deals_won": None,
                                                          "activities": {}}}), 422, "targets")
    assert_field_error(head.patch(path, json={"mode": "sum"}), 422, "mode")
    for field, value in (("period", "2026-05"), ("manager_id", anna), ("team_id", str(uuid.uuid4())),
                         ("version", 9), ("id", plan["id"])):
        assert_field_error(head.patch(path, json={field: value}), 422, field)
    assert head.get(path).json["version"] == 2


def test_a_team_plan_switches_between_own_and_sum(head, manager, project, clock):
    team = new_team(project, manager)
    plan = create_plan(head, period="2026-04", team_id=team)
    path = f"{PLANS}/{plan['id']}"
    summed = head.patch(path, json={"mode": "sum"}).json
    assert summed["mode"] == "sum" and summed["targets"] == {"revenue_won": None, "revenue_paid": None,
                                                             "deals_won": None, "activities": {}}
    assert_field_error(head.patch(path, json={"mode": "own"}), 422, "targets")
    own = head.patch(path, json={"mode": "own", "targets": {"deals_won": 30}}).json
    assert own["mode"] == "own" and own["targets"]["deals_won"] == 30


def test_etags_and_if_match_prevent_lost_updates(head, anna):
    plan = create_plan(head, period="2026-04", manager_id=anna)
    path = f"{PLANS}/{plan['id']}"
    tag = head.get(path).headers["ETag"]
    assert tag.startswith('"1-')
    assert head.patch(path, json={"targets": {"deals_won": 3}}, headers={"If-Match": tag}).status_code == 200
    assert_error(head.patch(path, json={"targets": {"deals_won": 4}}, headers={"If-Match": '"1"'}), 412)
    assert_error(head.delete(path, headers={"If-Match": '"1"'}), 412)
    assert head.get(path).json["targets"]["deals_won"] == 3
    unchanged = head.get(path, headers={"If-None-Match": head.get(path).headers["ETag"]})
    assert unchanged.status_code == 304


def test_delete_removes_the_plan_and_says_so(head, anna, clock, deals_db_url):
    plan = create_plan(head, period="2026-04", manager_id=anna)
    clock.advance(minutes=5)
    assert head.delete(f"{PLANS}/{plan['id']}", headers={"If-Match": '"1"'}).status_code == 204
    assert_error(head.get(f"{PLANS}/{plan['id']}"), 404)
    assert_error(head.delete(f"{PLANS}/{plan['id']}"), 404)
    deleted = plan_events(deals_db_url)[-1]
    assert deleted["type"] == "crm.sales_plan.deleted.v1" and deleted["key"] == plan["id"]
    assert deleted["payload"]["deleted_at"] == "2026-03-02T09:05:00Z"
    assert deleted["payload"]["targets"]["deals_won"] == 10
    validator(deleted["type"]).validate(deleted["payload"])
    create_plan(head, period="2026-04", manager_id=anna)  # the month is free again


def test_a_manager_reads_their_own_plans_and_their_teams_only(head, manager, other_manager, anna, known_user,
                                                              project):
    team = new_team(project, manager)
    other_team = new_team(project, other_manager)
    mine = create_plan(head, period="2026-04", manager_id=anna)
    ours = create_plan(head, period="2026-04", team_id=team, mode="sum", targets={})
    theirs = create_plan(head, period="2026-04", manager_id=other_manager.user_id)
    their_team = create_plan(head, period="2026-04", team_id=other_team, mode="sum", targets={})
    listed = manager.get(PLANS).json
    assert {p["id"] for p in listed["items"]} == {mine["id"], ours["id"]} and listed["total"] == 2
    assert manager.get(f"{PLANS}/{mine['id']}").json == mine
    assert manager.get(f"{PLANS}/{ours['id']}").status_code == 200
    for plan in (theirs, their_team):
        assert_error(manager.get(f"{PLANS}/{plan['id']}"), 404)
    assert manager.get(PLANS, query_string={"manager_id": other_manager.user_id}).json["total"] == 0
    assert head.get(PLANS).json["total"] == 4


def test_only_the_head_of_sales_and_admins_write_plans_and_other_roles_read_none(deals, as_role, head, manager,
                                                                                 anna, accountant):
    plan = create_plan(head, period="2026-04", manager_id=anna)
    path = f"{PLANS}/{plan['id']}"
    assert_error(manager.post(PLANS, json={"period": "2026-05", "manager_id": anna, "targets": TARGETS}), 403)
    assert_error(manager.patch(path, json={"targets": {"deals_won": 1}}), 403)
    assert_error(manager.delete(path), 403)
    for caller in (accountant, as_role(deals, "marketer"), as_role(deals, "service")):
        assert_error(caller.get(PLANS), 403)
        assert_error(caller.get(path), 403)
        assert_error(caller.post(PLANS, json={"period": "2026-05", "manager_id": anna, "targets": TARGETS}), 403)
    assert deals.get(PLANS).status_code == 401
    assert head.get(path).json == plan


def test_the_list_filters_by_period_subject_and_pages(head, anna, known_user, project):
    boris = known_user(None, role="manager")
    april = create_plan(head, period="2026-04", manager_id=anna)
    may = create_plan(head, period="2026-05", manager_id=anna)
    quarter = create_plan(head, period="2026-Q2", manager_id=boris)
    team = new_team(project, boris)
    july = create_plan(head, period="2026-07", team_id=team, mode="sum", targets={})

    def ids(**query):
        return [p["id"] for p in head.get(PLANS, query_string=query).json["items"]]

    assert set(ids(period="2026-05")) == {may["id"], quarter["id"]}  # the quarter holds May
    assert set(ids(period="2026-Q2")) == {april["id"], may["id"], quarter["id"]}
    assert ids(manager_id=anna) == [april["id"], may["id"]]
    assert ids(team_id=team) == [july["id"]]
    assert ids(sort="-period_start")[0] == july["id"]
    first = head.get(PLANS, query_string={"limit": 2}).json
    assert first["total"] == 4 and len(first["items"]) == 2 and first["next_cursor"]
    rest = head.get(PLANS, query_string={"limit": 2, "cursor": first["next_cursor"]}).json
    assert [p["id"] for p in first["items"] + rest["items"]] == ids()
    assert_field_error(head.get(PLANS, query_string={"period": "April"}), 422, "period")
    assert_field_error(head.get(PLANS, query_string={"owner_id": anna}), 422, "owner_id")


def test_the_plans_list_names_the_company_currency_the_targets_are_set_in(head, anna, clients_at):
    """The plans editor sets money targets in the currency the list names: the company's (BASE_CURRENCY), whatever
    it is."""
    assert head.get(PLANS).json["currency"] == "RUB"
    clients_at("http://127.0.0.1:9", company_currency="EUR")
    listed = head.get(PLANS, query_string={"period": "2026-04"}).json
    assert listed["currency"] == "EUR" and listed["items"] == []
    assert_field_error(head.post(PLANS, json={"period": "2026-04", "manager_id": anna,
                                              "targets": {"revenue_won": rub("100.00")}}), 422, "revenue_won")
    euros = {"amount": "90000.00", "currency": "EUR"}
    created = head.post(PLANS, json={"period": "2026-04", "manager_id": anna, "targets": {"revenue_won": euros}})
    assert created.status_code == 201, created.json
    assert created.json["targets"]["revenue_won"] == euros
