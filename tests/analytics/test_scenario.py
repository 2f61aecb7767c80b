"""The generated scenario (hundreds of clients and deals, campaigns in three currencies, activities, surveys)
fed through the consumer runner; every KPI endpoint must answer exactly what the independent reference
(tests/analytics/reference.py) computes from the scenario itself, for several periods, filters and callers;
and the same after the events arrive duplicated and in another order."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from tests.analytics import reference
from tests.analytics.conftest import NOW, kpi
from tests.analytics.scenario import generate

SCENARIO = generate(NOW, seed=7)
SALES, SERVICE = SCENARIO.pipelines
MARCH = {"from": date(2026, 3, 1), "to": date(2026, 3, 31)}
QUARTER = {"from": NOW.date() - timedelta(days=90), "to": NOW.date()}
TEAM = SCENARIO.users[SCENARIO.managers[0]]["team_id"]
MANAGER = SCENARIO.managers[1]
QUESTIONS = [
    ("default period", {}),
    ("a quarter", QUARTER),
    ("a team", {**QUARTER, "team_id": TEAM}),
    ("a manager", {**QUARTER, "manager_id": MANAGER}),
    ("an industry", {**QUARTER, "industry": "it"}),
    ("a region", {**MARCH, "region": "Moscow"}),
    ("the service pipeline", {**QUARTER, "pipeline_id": SERVICE.pipeline_id}),
]


def full(question: dict) -> dict:
    """The question as the reference reads it: the default period filled in."""
    return {**MARCH, **question}


def by(key: str, items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda item: (item[key] is None, str(item[key])))


def canonical(path: str, answer: dict) -> dict:
    """Lists in the reference's order (the service's own order is tested elsewhere)."""
    answer = dict(answer)
    if path == "managers":
        answer["items"] = [{**item, "open_by_stage": by("stage_id", item["open_by_stage"])}
                           for item in by("manager_id", answer["items"])]
    elif path in ("campaigns", "lost-reasons"):
        answer["items"] = by("campaign_id" if path == "campaigns" else "reason_id", answer["items"])
    elif path == "campaigns/by-channel":
        answer["items"] = by("channel", answer["items"])
    elif path == "deal-cycle":
        answer["stages"] = by("stage_id", answer["stages"])
    answer.pop("as_of", None)
    return answer


@pytest.fixture
def world(analytics, feed, now, as_role):
    """The scenario applied, the rates recorded; returns the head of sales."""
    admin = as_role(analytics, "admin")
    for currency, valid_from, rate in SCENARIO.rates:
        response = admin.post("/api/v1/fx-rates", json={"currency": currency, "rate_to_base": str(rate),
                                                        "valid_from": valid_from.isoformat()})
        assert response.status_code == 201, response.get_json()
    feed(SCENARIO.events, batch=500)
    return as_role(analytics, "head_of_sales")


REFERENCE = {
    "summary": reference.summary, "funnel": reference.funnel, "managers": reference.managers,
    "deal-cycle": reference.deal_cycle, "campaigns": reference.campaigns,
    "campaigns/by-channel": reference.channels, "lost-reasons": reference.lost_reasons,
    "activities": reference.activities, "satisfaction": reference.satisfaction,
}
DEAL_ONLY = ("summary", "managers", "deal-cycle", "campaigns", "campaigns/by-channel", "lost-reasons")


def compare_everything(caller, questions=QUESTIONS) -> None:
    for name, question in questions:
        for path, compute in REFERENCE.items():
            q = dict(question)
            if path in ("activities", "satisfaction"):  # no pipeline there (an unknown parameter is a 422)
                q.pop("pipeline_id", None)
            assert canonical(path, kpi(caller, path, **q)) == canonical(path, compute(SCENARIO, full(question))), \
                f"{path} for {name}"
        for segment in ("industry", "region"):
            assert kpi(caller, "segments", by=segment, **question) == reference.segments(
                SCENARIO, full(question), segment), f"segments by {segment} for {name}"
        forecast_q = {key: value for key, value in question.items() if key not in ("from", "to")}
        assert kpi(caller, "forecast", **forecast_q) == reference.forecast(
            SCENARIO, {"from": date(2026, 3, 1), "to": date(2026, 5, 31), **forecast_q}), f"forecast for {name}"
        stalled = kpi(caller, "stalled-deals", limit=200, **forecast_q)
        expected = reference.stalled_counts(SCENARIO, forecast_q)
        assert {key: stalled[key] for key in ("stalled", "past_due", "overdue", "amount")} == {
            key: expected[key] for key in ("stalled", "past_due", "overdue", "amount")}, f"stalled deals for {name}"
        if expected["overdue"] <= 200:
            assert sorted(item["deal_id"] for item in stalled["items"]) == expected["deal_ids"]


def test_the_scenario_is_big_and_varied_enough_to_mean_something():
    deals = SCENARIO.deals
    assert len(SCENARIO.clients) >= 300 and len(deals) >= 400 and len(SCENARIO.events) > 2000
    statuses = {status: sum(1 for d in deals if d.status == status) for status in ("open", "won", "lost")}
    assert min(statuses.values()) > 50, statuses
    assert {d.currency for d in deals} == {"RUB", "USD", "EUR"}
    assert any(len(d.stays) > 3 for d in deals) and any(e.type == "crm.deal.reopened.v1" for e in SCENARIO.events)
    assert sum(1 for d in deals if reference.is_stalled(SCENARIO, d)) > 5


def test_every_kpi_equals_the_reference(world):
    compare_everything(world)


def test_a_manager_gets_their_own_numbers(world, analytics, as_role):
    manager = as_role(analytics, "manager", user_id=MANAGER)
    own = [("own numbers", {**QUARTER, "manager_id": MANAGER})]
    for name, question in own:
        for path in ("summary", "managers", "lost-reasons", "deal-cycle"):
            mine = kpi(manager, path, **({k: v for k, v in question.items() if k != "manager_id"}))
            assert canonical(path, mine) == canonical(path, REFERENCE[path](SCENARIO, question)), path


def test_duplicated_and_reordered_events_change_no_number(analytics, feed, now, as_role, analytics_engine):
    admin = as_role(analytics, "admin")
    for currency, valid_from, rate in SCENARIO.rates:
        admin.post("/api/v1/fx-rates", json={"currency": currency, "rate_to_base": str(rate),
                                             "valid_from": valid_from.isoformat()})
    shuffled = list(SCENARIO.events)
    random.Random(11).shuffle(shuffled)
    again = random.Random(12).sample(SCENARIO.events, 500)  # re-deliveries: the same ids
    feed(shuffled[:1500] + again + shuffled[1500:] + again, batch=300)
    compare_everything(as_role(analytics, "head_of_sales"), QUESTIONS[:3])
