"""/kpi/plans and /kpi/commissions against a scenario computed by hand (the expected figures below are worked out
from the events in the comments, not by the service's code): two managers in a team and one without, April 2027
plans, a three-tier scheme with a deal bonus for the team and a direct scheme, deals won and lost around April,
payments (one reversed) and calls; a new version of the scheme from May must not change April's commission."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.analytics.events import DealLife, PipelineDef, client_card, new_id, user_created
from tests.support.analytics.kpis import kpi
from tests.support.analytics.plan_events import plan_event, scheme_event
from tests.support.analytics.plan_scenario import (ANNA, APRIL, ASKED_AT, BORIS, CARL, DIRECT, HEAD, SCHEME, TEAM,
                                                   V1, V2, at, scenario)
from tests.support.exports import read_export
from tests.support.http import assert_error

@pytest.fixture
def head(analytics, feed, as_role, set_now):
    set_now(ASKED_AT)
    admin = as_role(analytics, "admin")
    assert admin.post("/api/v1/fx-rates", json={"currency": "USD", "rate_to_base": "90",
                                                "valid_from": "2027-01-01"}).status_code == 201
    feed(scenario())
    return as_role(analytics, "head_of_sales", user_id=HEAD)


def rub(amount: str) -> dict:
    return {"amount": amount, "currency": "RUB", "unconverted": []}


def test_each_manager_and_the_team_against_their_april_plans(head):
    answer = kpi(head, "plans", period="2027-04")
    assert answer["period"] == {"from": "2027-04-01", "to": "2027-04-30"}
    assert (answer["days"], answer["elapsed_days"]) == (30, 30)
    assert answer["trailing"] == {"from": "2027-01-31", "to": "2027-04-30"}
    rows = {row["manager_id"]: row for row in answer["managers"]}
    assert set(rows) == {ANNA, BORIS}  # Carl has no plan
    anna, boris = rows[ANNA], rows[BORIS]
    assert anna["revenue_won"] == {"target": rub("1000000.00"), "actual": rub("540000.00"), "attainment_pct": 54.0,
                                   "run_rate": rub("540000.00")}
    assert anna["revenue_paid"]["actual"] == rub("450000.00") and anna["revenue_paid"]["attainment_pct"] == 90.0
    assert anna["deals_won"] == {"target": 4, "actual": 3, "attainment_pct": 75.0, "run_rate": 3.0}
    assert anna["activities"] == {"call": {"target": 10, "actual": 3, "attainment_pct": 30.0, "run_rate": 3.0}}
    # trailing 90 days: won 300 000 + 150 000 + 90 000 + 600 000 in 4 deals, 1 lost: average 285 000, win rate 0.8;
    # gap 460 000 -> ceil(1.61) = 2 deals -> ceil(2 / 0.8) = 3 opportunities
    assert anna["gap"] == {"amount": rub("460000.00"), "deals": 2, "opportunities": 3,
                           "avg_won_deal": rub("285000.00"), "win_rate": 0.8}
    assert boris["revenue_won"]["actual"] == rub("430000.00") and boris["revenue_won"]["attainment_pct"] == 107.5
    assert boris["revenue_paid"]["attainment_pct"] == 110.0
    assert boris["deals_won"] == {"target": None, "actual": 2, "attainment_pct": None, "run_rate": 2.0}
    assert boris["gap"]["amount"] == rub("0.00") and (boris["gap"]["deals"], boris["gap"]["opportunities"]) == (0, 0)
    [team] = answer["teams"]
    assert team["team_id"] == TEAM and team["mode"] == "sum" and sorted(team["members"]) == sorted([ANNA, BORIS])
    # the members' plans added up: 1 400 000 won (970 000: 69.29 %), 700 000 paid (670 000: 95.71 %), 4 deals (5)
    assert team["revenue_won"]["target"] == rub("1400000.00") and team["revenue_won"]["attainment_pct"] == 69.29
    assert team["revenue_paid"]["actual"] == rub("670000.00") and team["revenue_paid"]["attainment_pct"] == 95.71
    assert team["deals_won"]["attainment_pct"] == 125.0
    # 6 won (1 570 000), 2 lost: average 261 666.67, win rate 0.75; gap 430 000 -> 2 deals -> 3 opportunities
    assert team["gap"] == {"amount": rub("430000.00"), "deals": 2, "opportunities": 3,
                           "avg_won_deal": rub("261666.67"), "win_rate": 0.75}


def test_commissions_of_april_by_tier_and_deal_bonus(head):
    rows = {row["manager_id"]: row for row in kpi(head, "commissions", period="2027-04")["managers"]}
    assert set(rows) == {ANNA, BORIS, CARL}
    anna, boris, carl = rows[ANNA], rows[BORIS], rows[CARL]
    # Anna: paid 450 000 of 500 000 = 90 % -> 5 % = 22 500; 2 deals of at least 100 000 x 5 000
    assert (anna["scheme_id"], anna["version"], anna["base_measure"]) == (SCHEME, 1, "revenue_paid")
    assert anna["base"] == rub("450000.00") and anna["attainment_pct"] == 90.0
    assert anna["tier"] == {"from_pct": "80", "to_pct": "100", "rate_pct": "5"} and anna["rate_pct"] == "5"
    assert (anna["commission"], anna["bonus_deals"], anna["bonus_amount"], anna["total"]) == (
        rub("22500.00"), 2, rub("10000.00"), rub("32500.00"))
    # Boris: 220 000 of 200 000 = 110 % -> 7 % = 15 400; 180 000 (2 000 USD) and 250 000 both earn the bonus
    assert (boris["commission"], boris["bonus_deals"], boris["total"]) == (rub("15400.00"), 2, rub("25400.00"))
    # Carl: his direct scheme on revenue won, no plan -> no attainment, the lowest tier (2 %) of 100 000
    assert (carl["scheme_id"], carl["base_measure"], carl["attainment_pct"]) == (DIRECT, "revenue_won", None)
    assert (carl["commission"], carl["bonus_amount"], carl["total"]) == (rub("2000.00"), rub("0.00"), rub("2000.00"))


def test_a_later_version_of_the_scheme_leaves_april_as_it_was(head, feed):
    april = kpi(head, "commissions", period="2027-04")
    feed([scheme_event("crm.commission_scheme.updated.v1", SCHEME, "Standard 2027", [V1, V2], at("2027-05-01"))])
    assert kpi(head, "commissions", period="2027-04") == april
    may = {row["manager_id"]: row for row in kpi(head, "commissions", period="2027-05")["managers"]}
    # May: version 2, no plan -> lowest tier 4 % of Anna's 50 000 paid; no deal bonus any more
    assert (may[ANNA]["version"], may[ANNA]["commission"], may[ANNA]["bonus_deals"]) == (2, rub("2000.00"), 0)


def test_details_list_the_deals_and_payments_a_commission_came_from(head):
    [anna] = kpi(head, "commissions", period="2027-04", manager_id=ANNA, details="true")["managers"]
    details = anna["details"]
    assert [(deal["amount"]["amount"], deal["bonus"]) for deal in details["deals"]] == [
        ("300000.00", True), ("150000.00", True), ("90000.00", False)]
    assert details["deals_total"] == 3 and details["payments_total"] == 2  # the reversed one is not there
    assert [(p["paid_on"], p["amount"]["amount"]) for p in details["payments"]] == [
        ("2027-04-10", "300000.00"), ("2027-04-28", "150000.00")]
    assert "details" not in kpi(head, "commissions", period="2027-04")["managers"][0]


def test_a_quarter_has_the_quarters_plans_only(head):
    assert kpi(head, "plans", period="2027-Q2")["managers"] == []
    assert kpi(head, "plans", period="2027-Q2")["period"] == {"from": "2027-04-01", "to": "2027-06-30"}


def test_the_previous_period_is_compared_figure_by_figure(head):
    figures = kpi(head, "plans", period="2027-05", compare="previous_period")["comparison"]["figures"]
    assert figures[f"managers[{ANNA}].revenue_won.actual"] == {"value": None, "previous": 540000.0, "change": None,
                                                                "change_pct": None}
    figures = kpi(head, "commissions", period="2027-05", compare="previous_period")["comparison"]
    assert figures["period"] == {"from": "2027-04-01", "to": "2027-04-30"}
    assert figures["figures"][f"managers[{ANNA}].total"]["previous"] == 32500.0


def test_a_manager_sees_their_own_row_and_their_team(head, analytics, as_role):
    anna = as_role(analytics, "manager", user_id=ANNA)
    answer = kpi(anna, "plans", period="2027-04")
    assert [row["manager_id"] for row in answer["managers"]] == [ANNA]
    assert [row["team_id"] for row in answer["teams"]] == [TEAM]
    assert [row["manager_id"] for row in kpi(anna, "commissions", period="2027-04")["managers"]] == [ANNA]
    for path in ("plans", "commissions"):
        assert_error(anna.get(f"/api/v1/kpi/{path}", query_string={"manager_id": BORIS}), 404)
    carl = as_role(analytics, "manager", user_id=CARL)
    carls = kpi(carl, "plans", period="2027-04")  # no plan of his own, no team
    assert (carls["managers"], carls["teams"]) == ([], [])


def test_team_and_manager_filters(head):
    assert [row["manager_id"] for row in kpi(head, "plans", period="2027-04", manager_id=BORIS)["managers"]] == [BORIS]
    assert {row["manager_id"] for row in kpi(head, "commissions", period="2027-04", team_id=TEAM)["managers"]} == {
        ANNA, BORIS}


@pytest.mark.parametrize("query", [{"period": "2027-13"}, {"period": "2027-Q5"}, {"period": "April"},
                                   {"period": "2027-4"}, {"from": "2027-04-01"}, {"foo": "1"},
                                   {"compare": "last_week"}, {"details": "maybe"}])
def test_bad_questions_are_422(head, query):
    for path in ("plans", "commissions"):
        if "details" in query and path == "plans":
            continue
        assert_error(head.get(f"/api/v1/kpi/{path}", query_string=query), 422)


@pytest.mark.parametrize("role,plans,commissions", [("marketer", 200, 403), ("accountant", 403, 200),
                                                     ("service", 403, 403)])
def test_roles(analytics, as_role, now, role, plans, commissions):
    caller = as_role(analytics, role)
    assert caller.get("/api/v1/kpi/plans").status_code == plans
    assert caller.get("/api/v1/kpi/commissions").status_code == commissions


def test_plans_only_move_forward_and_a_deletion_stays(analytics, feed, as_role, set_now):
    set_now(ASKED_AT)
    plan = new_id()
    created = plan_event("crm.sales_plan.created.v1", plan, at("2027-03-20"), *APRIL, manager_id=ANNA,
                         revenue_won="100.00")
    updated = plan_event("crm.sales_plan.updated.v1", plan, at("2027-03-21"), *APRIL, manager_id=ANNA,
                         revenue_won="200.00")
    feed([user_created(ANNA, "manager", TEAM), updated, created])  # the older one late
    head = as_role(analytics, "head_of_sales")
    [row] = kpi(head, "plans", period="2027-04")["managers"]
    assert row["revenue_won"]["target"]["amount"] == "200.00"
    deleted = plan_event("crm.sales_plan.deleted.v1", plan, at("2027-03-22"), *APRIL, manager_id=ANNA,
                         revenue_won="200.00")
    feed([deleted, updated])
    assert kpi(head, "plans", period="2027-04")["managers"] == []


def test_the_exports_hold_a_row_per_manager(head):
    rows = read_export(head.get("/api/v1/kpi/plans/export", query_string={"period": "2027-04", "format": "csv"}),
                       "csv", "kpi-plans")
    assert {(row["manager_id"], row["revenue_won.actual.amount"]) for row in rows} == {
        (ANNA, "540000.00"), (BORIS, "430000.00")}
    rows = read_export(head.get("/api/v1/kpi/commissions/export", query_string={"period": "2027-04",
                                                                                "format": "csv"}),
                       "csv", "kpi-commissions")
    assert {(row["manager_id"], row["total.amount"]) for row in rows} == {
        (ANNA, "32500.00"), (BORIS, "25400.00"), (CARL, "2000.00")}


def test_an_amount_without_a_rate_is_listed_not_converted(head, feed):
    pipeline = PipelineDef.make([("New", 10, None)], name="Other", is_default=False)
    deal = DealLife(pipeline, CARL, client_card(new_id(), CARL, at("2027-01-02")), Decimal("1000.00"), "EUR")
    feed([pipeline.event(at("2027-01-01")), deal.create(at("2027-03-10")), deal.win(at("2027-04-19"))])
    [carl] = kpi(head, "commissions", period="2027-04", manager_id=CARL)["managers"]
    assert carl["base"] == {"amount": "100000.00", "currency": "RUB",
                            "unconverted": [{"currency": "EUR", "amount": "1000.00", "deals": 1}]}
    assert (carl["commission"]["amount"], carl["bonus_deals"]) == ("2000.00", 0)
