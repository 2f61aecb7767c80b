"""The generated scenario every analytics comparison reads, the questions asked about it, and the comparison of
every KPI endpoint's answer with the reference's."""
from __future__ import annotations

from datetime import date, timedelta

from tests.support.analytics import reference
from tests.support.analytics.kpis import NOW, canonical, kpi
from tests.support.analytics.scenario import generate

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


REFERENCE = {
    "summary": reference.summary, "funnel": reference.funnel, "managers": reference.managers,
    "deal-cycle": reference.deal_cycle, "campaigns": reference.campaigns,
    "campaigns/by-channel": reference.channels, "lost-reasons": reference.lost_reasons,
    "activities": reference.activities, "satisfaction": reference.satisfaction,
    "payments": reference.payments, "fulfilment": reference.fulfilment, "products": reference.products,
    "clients": reference.clients,
}
BILLING = ("payments", "fulfilment", "products", "clients")  # they take a period and whose figures, nothing else


def compare_everything(caller, questions=QUESTIONS) -> None:
    """Every KPI endpoint, asked each question by `caller`, answers what the reference computes from SCENARIO."""
    for name, question in questions:
        for path, compute in REFERENCE.items():
            q = dict(question)
            if path in ("activities", "satisfaction"):  # no pipeline there (an unknown parameter is a 422)
                q.pop("pipeline_id", None)
            if path in BILLING:
                q = {key: value for key, value in q.items() if key in ("from", "to", "manager_id", "team_id")}
            assert canonical(path, kpi(caller, path, **q)) == canonical(path, compute(SCENARIO, full(q))), \
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
