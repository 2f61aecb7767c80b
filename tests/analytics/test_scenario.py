"""The generated scenario (hundreds of clients and deals, campaigns in three currencies, activities, surveys; invoices,
payments, shipments and acts) fed through the consumer runner; every KPI endpoint must answer exactly what the
independent reference (tests/support/analytics/reference) computes from the scenario itself, for several periods,
filters and callers; and the same after the events arrive duplicated and in another order."""
from __future__ import annotations

import random
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.analytics.kpi.compare import NOT_COMPARED, figures
from tests.support.analytics import reference
from tests.support.analytics.comparison import (MANAGER, MARCH, QUARTER, QUESTIONS, REFERENCE, SCENARIO, TEAM,
                                                compare_everything)
from tests.support.analytics.kpis import canonical, kpi
from tests.support.contracts import validator


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


def test_the_scenario_is_big_and_varied_enough_to_mean_something():
    deals = SCENARIO.deals
    assert len(SCENARIO.clients) >= 300 and len(deals) >= 400 and len(SCENARIO.events) > 2000
    statuses = {status: sum(1 for d in deals if d.status == status) for status in ("open", "won", "lost")}
    assert min(statuses.values()) > 50, statuses
    assert {d.currency for d in deals} == {"RUB", "USD", "EUR"}
    assert any(len(d.stays) > 3 for d in deals) and any(e.type == "crm.deal.reopened.v1" for e in SCENARIO.events)
    assert sum(1 for d in deals if reference.is_stalled(SCENARIO, d)) > 5


def test_the_billing_history_has_every_case_the_billing_kpis_tell_apart():
    invoices, payments = SCENARIO.invoices, SCENARIO.payments
    assert {invoice.status for invoice in invoices} == {"draft", "issued", "partially_paid", "paid", "cancelled"}
    assert {invoice.currency for invoice in invoices} == {"RUB", "USD", "EUR"}
    paid = [invoice for invoice in invoices if invoice.status == "paid"]
    on_time = [invoice for invoice in paid if reference.billing.paid_in_full_on(SCENARIO, invoice) <= invoice.due_on]
    assert len(on_time) > 10 and len(paid) - len(on_time) > 10  # paid on time and late
    assert sum(1 for payment in payments if payment.status == "reversed") > 5
    assert sum(1 for payment in payments if not payment.allocations) > 5  # credit
    assert sum(1 for payment in payments if payment.amount > payment.allocated > 0) > 2  # overpaid
    assert sum(1 for invoice in invoices if invoice.plan) > 10
    assert {document.kind for document in SCENARIO.deliveries} == {"shipment", "service_act"}
    assert any(reference.billing.covered_quantity(SCENARIO, item) not in (0, item["quantity"])
               for invoice in invoices for item in invoice.lines)  # shipped in part
    lost = {deal.deal_id for deal in SCENARIO.deals if deal.status == "lost"}
    assert sum(1 for invoice in invoices if invoice.deal_id in lost) > 5
    assert any(invoice.owner_id != SCENARIO.clients[invoice.client["client_id"]]["owner_id"] for invoice in invoices)


def test_the_billing_events_of_the_scenario_keep_the_contracts():
    billing = [evt for evt in SCENARIO.events if evt.source == "/crm/billing"]
    assert len(billing) > 500
    for evt in billing:
        assert not list(validator(evt.type).iter_errors(evt.data)), evt.type


def test_every_kpi_equals_the_reference(world):
    compare_everything(world)


PERIOD_FIGURES = ("deals_created", "won", "lost", "win_rate", "revenue_won", "lost_amount", "avg_cycle_days",
                  "clients_created")


def _number(value):
    return None if value is None else float(value["amount"] if isinstance(value, dict) else value)


def _period_figures(path: str, answer: dict) -> dict:
    """{path in a comparison: number} of the figures of the period of a summary, managers or lost-reasons answer."""
    if path == "summary":
        return {name: _number(answer[name]) for name in (*PERIOD_FIGURES, "activities_done")}
    if path == "managers":
        return {f"items[{row['manager_id']}].{name}": _number(row[name])
                for row in answer["items"] for name in PERIOD_FIGURES}
    return {"lost_deals": _number(answer["lost_deals"]), "lost_amount": _number(answer["lost_amount"]),
            **{f"items[{row['reason_id']}].{name}": _number(row[name])
               for row in answer["items"] for name in ("deals", "share", "amount")}}


def test_the_compared_figures_are_the_references_of_both_periods(world):
    """(The scenario spans four months: `previous_year`, which differs only in its dates, is checked by hand in
    test_kpi_compare.)"""
    before_quarter = QUARTER["from"] - timedelta(days=1)
    for question, mode, earlier in (
            (QUARTER, "previous_period", {"from": before_quarter - timedelta(days=90), "to": before_quarter}),
            ({**MARCH, "team_id": TEAM}, "previous_period",  # a whole month: February
             {"from": date(2026, 2, 1), "to": date(2026, 2, 28), "team_id": TEAM}),
            ({**QUARTER, "industry": "it", "team_id": TEAM}, "previous_period",  # no totals fit: the rows
             {"from": before_quarter - timedelta(days=90), "to": before_quarter, "industry": "it", "team_id": TEAM})):
        for path in ("summary", "managers", "lost-reasons"):
            figures = kpi(world, path, compare=mode, **question)["comparison"]["figures"]
            now = _period_figures(path, REFERENCE[path](SCENARIO, question))
            before = _period_figures(path, REFERENCE[path](SCENARIO, earlier))
            assert path != "summary" or any(before.values()), f"nothing in the earlier period {earlier}"
            for name in {*now, *before}:
                expected = (now.get(name), before.get(name))
                got = figures.get(name, {"value": None, "previous": None})
                assert (got["value"], got["previous"]) == expected, f"{path} {mode} {question}: {name}"


# Each endpoint's own figures of now (as the API names them, docs/kpi.md "Comparing periods").
NOW_FIGURES = {"summary": ("clients",), "managers": ("clients",), "activities": ("overdue",)}


def _decimals(answer):
    """The reference's answer as the service holds it before JSON: decimal strings (cost per lead, quantity) as
    numbers."""
    if isinstance(answer, dict):
        return {key: _decimals(value) for key, value in answer.items()}
    if isinstance(answer, list):
        return [_decimals(value) for value in answer]
    return Decimal(answer) if isinstance(answer, str) and re.fullmatch(r"-?\d+\.\d+", answer) else answer


def test_every_endpoint_compares_the_references_of_both_periods(world):
    """The figures are found in the reference's answers by the service's own walk (compare.figures: which fields
    are figures and how their paths read is checked by hand in test_kpi_compare); the numbers are the reference's."""
    before_quarter = QUARTER["from"] - timedelta(days=1)
    earlier = {"from": before_quarter - timedelta(days=90), "to": before_quarter}
    for path, compute in REFERENCE.items():
        answer = kpi(world, path, compare="previous_period", **QUARTER)
        skip = NOT_COMPARED | set(NOW_FIGURES.get(path, ()))
        now = figures(_decimals(compute(SCENARIO, QUARTER)), skip=skip)
        before = figures(_decimals(compute(SCENARIO, earlier)), skip=skip)
        expected = {name: (_number(now.get(name)), _number(before.get(name))) for name in {*now, *before}
                    if now.get(name) is not None or before.get(name) is not None}
        got = {name: (figure["value"], figure["previous"]) for name, figure in answer["comparison"]["figures"].items()}
        assert got == expected, path
        assert len(got) >= 3, path


def test_each_bucket_of_a_series_is_the_reference_of_its_days(world):
    for interval, question in (("month", QUARTER), ("week", {**MARCH, "team_id": TEAM})):
        series = kpi(world, "summary", interval=interval, **question)["series"]
        assert series[0]["from"] == str(question["from"]) and series[-1]["to"] == str(question["to"])
        for bucket in series:
            expected = REFERENCE["summary"](SCENARIO, {**question, "from": date.fromisoformat(bucket["from"]),
                                                       "to": date.fromisoformat(bucket["to"])})
            for name in (*PERIOD_FIGURES, "activities_done"):
                assert bucket[name] == expected[name], f"{interval} {bucket['from']}: {name}"
        managers = kpi(world, "managers", interval=interval, **question)["items"]
        for bucket_index, bucket in enumerate(series):
            assert sum(row["series"][bucket_index]["won"] for row in managers) == bucket["won"]


def test_a_manager_gets_their_own_numbers(world, analytics, as_role):
    manager = as_role(analytics, "manager", user_id=MANAGER)
    own = [("own numbers", {**QUARTER, "manager_id": MANAGER})]
    for name, question in own:
        for path in ("summary", "managers", "lost-reasons", "deal-cycle", "payments", "fulfilment", "products",
                     "clients"):
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
