"""Who may ask what, and bad questions: roles, a manager's own numbers, periods, strict parameters, the
exchange rates' API."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.support.analytics.events import T0, DealLife, PipelineDef, client_card, new_id, user_created
from tests.support.analytics.kpis import kpi
from tests.support.http import assert_error

SALES_ENDPOINTS = ("summary", "managers", "funnel", "deal-cycle", "stalled-deals", "segments?by=industry",
                   "campaigns", "campaigns/by-channel", "lost-reasons", "activities", "satisfaction", "forecast")
BILLING_ENDPOINTS = ("payments", "fulfilment", "products", "clients")
# role -> (may read the sales KPIs, may read the billing KPIs)
ACCESS = {"admin": (True, True), "head_of_sales": (True, True), "manager": (True, True), "marketer": (True, False),
          "accountant": (False, True), "service": (False, False)}


@pytest.mark.parametrize("role", sorted(ACCESS))
def test_each_role_reads_the_kpis_it_may_and_gets_403_for_the_others(analytics, as_role, role, now):
    caller = as_role(analytics, role)
    sales, billing = ACCESS[role]
    for paths, allowed in ((SALES_ENDPOINTS, sales), (BILLING_ENDPOINTS, billing)):
        for path in paths:
            response = caller.get(f"/api/v1/kpi/{path}")
            if allowed:
                assert response.status_code == 200, (role, path)
            else:
                assert_error(response, 403)


@pytest.mark.parametrize("role", ["accountant", "service"])
def test_roles_without_sales_kpis_do_not_read_exchange_rates(analytics, as_role, role):
    assert_error(as_role(analytics, role).get("/api/v1/fx-rates"), 403)


def test_no_token_is_a_401(analytics):
    assert_error(analytics.get("/api/v1/kpi/summary"), 401)


def test_a_manager_sees_only_their_own_numbers(analytics, as_role, feed, now):
    pipeline = PipelineDef.make([("Lead", 10, 5)])
    mine, theirs = new_id(), new_id()
    events = [pipeline.event(T0), user_created(mine, at=T0), user_created(theirs, at=T0)]
    for owner, amount in ((mine, "100.00"), (theirs, "900.00")):
        deal = DealLife(pipeline, owner, client_card(new_id(), owner, T0), Decimal(amount))
        events += [deal.create(T0 + timedelta(days=1)), deal.win(T0 + timedelta(days=2))]
    feed(events)
    manager = as_role(analytics, "manager", user_id=mine)
    period = {"from": "2026-03-01", "to": "2026-03-31"}
    assert kpi(manager, "summary", **period)["revenue_won"]["amount"] == "100.00"
    assert kpi(manager, "summary", manager_id=mine, **period)["revenue_won"]["amount"] == "100.00"
    assert [row["manager_id"] for row in kpi(manager, "managers", **period)["items"]] == [mine]
    assert_error(manager.get("/api/v1/kpi/summary", query_string={"manager_id": theirs}), 404)
    head = as_role(analytics, "head_of_sales")
    assert kpi(head, "summary", **period)["revenue_won"]["amount"] == "1000.00"
    assert kpi(head, "summary", manager_id=theirs, **period)["revenue_won"]["amount"] == "900.00"
    assert kpi(as_role(analytics, "marketer"), "summary", **period)["revenue_won"]["amount"] == "1000.00"


def test_the_period_defaults_to_the_current_month_and_from_after_to_is_a_422(head, now):
    assert kpi(head, "summary")["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert kpi(head, "summary", to="2026-01-15")["period"] == {"from": "2026-01-01", "to": "2026-01-15"}
    assert kpi(head, "summary", **{"from": "2026-02-10"})["period"] == {"from": "2026-02-10", "to": "2026-03-31"}
    assert kpi(head, "summary", **{"from": "2026-04-10"})["period"] == {"from": "2026-04-10", "to": "2026-04-30"}
    assert kpi(head, "forecast", **{"from": "2026-02-10"})["period"] == {"from": "2026-02-10", "to": "2026-05-31"}
    body = assert_error(head.get("/api/v1/kpi/summary", query_string={"from": "2026-03-02", "to": "2026-03-01"}), 422)
    assert "from" in body["errors"]["query"]
    body = assert_error(head.get("/api/v1/kpi/forecast", query_string={"from": "2026-05-01", "to": "2026-04-01"}), 422)


@pytest.mark.parametrize("path, query", [
    ("summary", {"manger_id": str(uuid.uuid4())}),  # a typo must not answer for everyone
    ("summary", {"from": "yesterday"}),
    ("summary", {"manager_id": "42"}),
    ("segments", {}),
    ("segments", {"by": "colour"}),
    ("activities", {"pipeline_id": str(uuid.uuid4())}),
    ("stalled-deals", {"from": "2026-03-01"}),
    ("stalled-deals", {"limit": "500"}),
    ("payments", {"industry": "it"}),  # the billing KPIs take a period and whose figures, nothing else
    ("fulfilment", {"pipeline_id": str(uuid.uuid4())}),
    ("products", {"to": "2026-02-30"}),
    ("clients", {"limit": "0"}),
    ("clients", {"limit": "501"}),
    ("summary", {"from": "9999-12-31"}),  # dates stay within 1900-9998: no overflow past the year 9999
    ("summary", {"to": "9999-12-31"}),
    ("forecast", {"from": "9998-12-01"}),  # its default end is months later
    ("clients", {"from": "1899-12-31", "to": "1900-01-31"}),
    ("managers", {"from": "2020-01-01", "to": "2025-01-01"}),  # more than 5 years
    ("payments", {"from": "1900-01-01", "to": "9998-12-31"}),
])
def test_bad_parameters_are_a_422(head, now, path, query):
    assert_error(head.get(f"/api/v1/kpi/{path}", query_string=query), 422)


def test_a_period_is_shorter_than_five_years(head, now):
    longest = {"from": "2021-03-01", "to": "2026-02-28"}
    assert kpi(head, "summary", **longest)["period"] == longest
    body = assert_error(head.get("/api/v1/kpi/summary", query_string={"from": "2021-03-01", "to": "2026-03-01"}),
                        422)
    assert "to" in body["errors"]["query"]


# -- exchange rates --------------------------------------------------------------------------------------

def test_admins_record_exchange_rates_and_kpi_readers_read_them(analytics, admin, as_role):
    created = admin.post("/api/v1/fx-rates", json={"currency": "USD", "rate_to_base": "92.5",
                                                   "valid_from": "2026-03-01"})
    assert created.status_code == 201
    rate = created.get_json()
    assert (rate["currency"], rate["rate_to_base"], rate["valid_from"], rate["created_by"]) == (
        "USD", "92.5", "2026-03-01", admin.user_id)
    manager = as_role(analytics, "manager")
    listed = manager.get("/api/v1/fx-rates", query_string={"currency": "USD"}).get_json()
    assert [item["id"] for item in listed["items"]] == [rate["id"]] and listed["total"] == 1
    assert manager.get(f"/api/v1/fx-rates/{rate['id']}").get_json()["rate_to_base"] == "92.5"
    for role in ("head_of_sales", "manager", "marketer"):
        assert_error(as_role(analytics, role).post("/api/v1/fx-rates", json={
            "currency": "EUR", "rate_to_base": "100", "valid_from": "2026-03-01"}), 403)
        assert_error(as_role(analytics, role).delete(f"/api/v1/fx-rates/{rate['id']}"), 403)
    assert_error(admin.post("/api/v1/fx-rates", json={"currency": "USD", "rate_to_base": "93",
                                                      "valid_from": "2026-03-01"}), 409)
    assert admin.delete(f"/api/v1/fx-rates/{rate['id']}").status_code == 204
    assert_error(admin.delete(f"/api/v1/fx-rates/{rate['id']}"), 404)


@pytest.mark.parametrize("body", [
    {"currency": "RUB", "rate_to_base": "1", "valid_from": "2026-03-01"},  # the base currency
    {"currency": "usd", "rate_to_base": "1", "valid_from": "2026-03-01"},
    {"currency": "USD", "rate_to_base": "0", "valid_from": "2026-03-01"},
    {"currency": "USD", "rate_to_base": "-1", "valid_from": "2026-03-01"},
    {"currency": "USD", "rate_to_base": "1.12345678901", "valid_from": "2026-03-01"},
    {"currency": "USD", "rate_to_base": "1", "valid_from": "2026-03-01", "id": str(uuid.uuid4())},
    {"currency": "USD", "rate_to_base": "1"},
])
def test_bad_exchange_rates_are_a_422(admin, body):
    assert_error(admin.post("/api/v1/fx-rates", json=body), 422)
