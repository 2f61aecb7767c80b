"""GET /api/v1/dashboard: the caller's KPIs from the real analytics service over HTTP (a manager's own, the
team's for the head of sales), with the caller's token; partial parts when analytics is down or slow."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from glassbox import clock
from services.analytics import consumers
from tests.support.analytics.events import DealLife, PipelineDef, client_card, new_id, user_created
from tests.support.analytics.kpis import NOW
from tests.support.apps import service_app
from tests.support.database import truncate_all
from tests.support.http import StubUpstream, assert_error, closed_port_url, serving


@pytest.fixture(scope="module")
def analytics_service(database_url, key_files):
    """The analytics service on its own port, on the suite's database for it (emptied again at the end)."""
    from services.analytics import create_app

    url = database_url("analytics")
    with service_app(create_app, url, key_files, base_currency="RUB") as app, serving(app) as base:
        yield base, url
    truncate_all(url)


@pytest.fixture
def analytics_url(analytics_service, monkeypatch, gateway_settings):
    base, url = analytics_service
    truncate_all(url)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    gateway_settings(analytics_url=base)
    return url


def project(url: str, events) -> None:
    """The events applied through the analytics consumer's handlers."""
    engine = create_engine(url)
    with Session(engine) as session:
        for evt in events:
            consumers.HANDLERS[evt.type](session, [evt])  # every analytics handler is @batched
        session.commit()
    engine.dispose()


@pytest.fixture
def sales(gw_user, analytics_url):
    """Two managers of the head of sales, with a deal won this month each."""
    head, anna, boris = gw_user("head_of_sales"), gw_user("manager"), gw_user("manager")
    pipeline = PipelineDef.make([("Lead", 10, 5), ("Offer", 50, None)])
    start = NOW - timedelta(days=10)
    events = [pipeline.event(start), user_created(anna.user_id, name="Anna", at=start),
              user_created(boris.user_id, name="Boris", at=start)]
    for manager, amount in ((anna, "100.00"), (boris, "250.00")):
        deal = DealLife(pipeline, manager.user_id, client_card(new_id(), manager.user_id, start), Decimal(amount))
        events += [deal.create(start), deal.win(start + timedelta(days=2))]
    project(analytics_url, events)
    return head, anna, boris


def test_a_manager_gets_their_own_kpis(sales):
    _, anna, _ = sales
    response = anna.get("/api/v1/dashboard")
    assert response.status_code == 200, response.get_json()
    board = response.get_json()
    assert board["scope"] == "own" and "managers" not in board
    assert board["summary"]["partial"] is False
    assert board["summary"]["data"]["revenue_won"]["amount"] == "100.00"
    assert board["funnel"]["data"]["won"] == {"entered": 1}
    assert board["stalled_deals"]["data"]["overdue"] == 0


def test_the_head_of_sales_gets_the_teams_kpis_with_a_row_per_manager(sales):
    head, anna, boris = sales
    board = head.get("/api/v1/dashboard", query_string={"from": "2026-03-01", "to": "2026-03-31"}).get_json()
    assert board["scope"] == "team"
    assert board["summary"]["data"]["revenue_won"]["amount"] == "350.00"
    assert board["summary"]["data"]["period"] == {"from": "2026-03-01", "to": "2026-03-31"}
    assert {row["manager_id"]: row["won"] for row in board["managers"]["data"]["items"]} == {
        anna.user_id: 1, boris.user_id: 1}


def test_the_dashboard_asks_analytics_with_the_callers_token_and_period(gw_user, gateway_settings):
    caller = gw_user("head_of_sales")
    with StubUpstream("json", body=b'{"ok": true}') as analytics:
        gateway_settings(analytics_url=analytics.url)
        board = caller.get("/api/v1/dashboard", query_string={"from": "2026-01-01", "to": "2026-01-31"},
                           headers={"X-Request-ID": "dash-1"}).get_json()
    assert board["summary"] == {"data": {"ok": True}, "partial": False}
    seen = {request["path"] for request in analytics.requests}
    assert seen == {"/api/v1/kpi/summary?from=2026-01-01&to=2026-01-31",
                    "/api/v1/kpi/funnel?from=2026-01-01&to=2026-01-31",
                    "/api/v1/kpi/managers?from=2026-01-01&to=2026-01-31", "/api/v1/kpi/stalled-deals?limit=10",
                    "/api/v1/kpi/payments?from=2026-01-01&to=2026-01-31"}
    assert all(request["headers"]["Authorization"] == caller.headers["Authorization"]
               and request["headers"]["X-Request-ID"] == "dash-1" for request in analytics.requests)


def test_receivables_come_from_billing_for_those_who_may_read_them(gw_user, gateway_settings):
    with StubUpstream("json", body=b'{"rows": [], "totals": []}') as billing, \
            StubUpstream("json", body=b'{"ok": true}') as analytics:
        gateway_settings(billing_url=billing.url, analytics_url=analytics.url)
        manager = gw_user("manager")
        own = manager.get("/api/v1/dashboard").get_json()
        marketing = gw_user("marketer").get("/api/v1/dashboard").get_json()
    assert own["receivables"] == {"data": {"rows": [], "totals": []}, "partial": False}
    assert "receivables" not in marketing and "payments" not in marketing
    assert marketing["summary"]["partial"] is False and own["payments"] == {"data": {"ok": True}, "partial": False}
    [seen] = billing.requests
    assert seen["path"] == "/api/v1/receivables?by=manager"
    assert seen["headers"]["Authorization"] == manager.headers["Authorization"]


def test_with_analytics_down_every_part_is_partial(gw_user, gateway_settings):
    gateway_settings(analytics_url=closed_port_url())
    board = gw_user("manager").get("/api/v1/dashboard").get_json()
    assert board["summary"] == {"data": None, "partial": True, "error": "analytics unavailable"}
    assert board["stalled_deals"]["partial"] is True


def test_a_slow_analytics_service_is_cut_at_the_budget(gw_user, gateway_settings):
    gateway_settings(dashboard_budget=0.5)
    with StubUpstream("slow", delay=10) as analytics:
        gateway_settings(analytics_url=analytics.url)
        response = gw_user("manager").get("/api/v1/dashboard")
    assert response.status_code == 200 and response.get_json()["summary"]["partial"] is True


def test_an_analytics_error_is_named_in_the_part(gw_user, gateway_settings):
    with StubUpstream("json", body=json.dumps(["not", "an", "object"]).encode()) as analytics:
        gateway_settings(analytics_url=analytics.url)
        board = gw_user("manager").get("/api/v1/dashboard").get_json()
    assert board["summary"]["error"] == "analytics gave no valid answer"


@pytest.mark.parametrize("role", ["accountant", "service"])
def test_roles_without_kpis_get_403(gw_user, role):
    assert_error(gw_user(role).get("/api/v1/dashboard"), 403)


def test_a_period_ending_before_it_starts_is_a_422(gw_user):
    assert_error(gw_user("manager").get("/api/v1/dashboard", query_string={"from": "2026-03-02", "to": "2026-03-01"}),
                 422)
