"""GET /my-day through the gateway: the real clients service for activities and new clients, a stand-in deals
service that records what it is asked; parts whose service fails are partial, roles get the parts they own."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import create_engine, text

from tests.support.http import StubUpstream, assert_error, closed_port_url

DEALS = {"items": [{"id": "deal-1", "title": "Pumps"}], "next_cursor": None, "total": 1, "total_is_estimate": False}


def today_at(hour: int, minute: int = 0, days: int = 0) -> str:
    day = datetime.now(timezone.utc).date() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.utc).isoformat()


def new_client(caller, number: int) -> dict:
    response = caller.post("/api/v1/clients", json={"name": f"Client {number}", "kind": "company",
                                                    "tax_id": f"77000000{number:02d}",
                                                    "email": f"c{number}@example.test"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def plan(caller, client_id: str, due_at: str | None, subject: str) -> dict:
    response = caller.post("/api/v1/activities", json={"type": "call", "client_id": client_id, "subject": subject,
                                                       "due_at": due_at})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.fixture
def deals_stub(gateway_settings):
    with StubUpstream("json", body=json.dumps(DEALS).encode()) as stub:
        gateway_settings(deals_url=stub.url)
        yield stub


def test_a_managers_day(gw_user, clients_service, clients_db_url, deals_stub):
    manager, other = gw_user("manager"), gw_user("manager")
    card, old_card = new_client(manager, 1), new_client(manager, 2)
    overdue = plan(manager, card["id"], today_at(9, days=-1), "overdue call")
    due_today = plan(manager, card["id"], today_at(23, 59), "today's call")
    plan(manager, card["id"], today_at(12, days=1), "tomorrow's call")
    plan(manager, card["id"], None, "some day")
    done = plan(manager, card["id"], today_at(8, days=-2), "done call")
    assert manager.post(f"/api/v1/activities/{done['id']}/complete", json={"outcome": "done"}).status_code == 200
    plan(other, new_client(other, 3)["id"], today_at(9, days=-1), "someone else's")
    engine = create_engine(clients_db_url)
    with engine.begin() as conn:  # given to the manager ten days ago: not new any more
        conn.execute(text("update clients set assigned_at = now() - interval '10 days' where id = :id"),
                     {"id": old_card["id"]})
    engine.dispose()

    response = manager.get("/api/v1/my-day")
    assert response.status_code == 200, response.get_json()
    day = response.get_json()
    assert set(day) == {"date", "activities", "stalled_deals", "past_due_deals", "new_clients"}
    assert day["date"] == datetime.now(timezone.utc).date().isoformat()
    assert [a["id"] for a in day["activities"]["items"]] == [overdue["id"], due_today["id"]]
    assert day["activities"]["total"] == 2 and day["activities"]["partial"] is False
    assert [c["id"] for c in day["new_clients"]["items"]] == [card["id"]]
    assert day["stalled_deals"] == day["past_due_deals"] == {"items": DEALS["items"], "total": 1, "partial": False}

    asked = [parse_qs(urlsplit(request["path"]).query) for request in deals_stub.requests]
    assert {query.get("stalled", ["-"])[0] for query in asked} == {"true", "-"}
    assert {query.get("past_due", ["-"])[0] for query in asked} == {"true", "-"}
    assert all(query["owner_id"] == [manager.user_id] for query in asked)
    assert all(request["headers"]["Authorization"] == manager.headers["Authorization"]
               for request in deals_stub.requests)


def test_with_the_deals_service_down_the_deal_parts_are_partial(gw_user, clients_service):
    manager = gw_user("manager")
    plan(manager, new_client(manager, 1)["id"], today_at(0, 1), "call")
    day = manager.get("/api/v1/my-day").get_json()
    assert day["stalled_deals"] == {"items": None, "total": None, "partial": True, "error": "deals unavailable"}
    assert day["past_due_deals"]["partial"] is True
    assert day["activities"]["partial"] is False and day["activities"]["total"] == 1


def test_a_slow_clients_service_is_cut_at_the_budget(gw_user, gateway_settings, deals_stub):
    manager = gw_user("manager")
    with StubUpstream("slow", delay=5) as slow:
        gateway_settings(clients_url=slow.url, my_day_budget=0.3)
        day = manager.get("/api/v1/my-day").get_json()
    assert day["activities"]["partial"] and day["new_clients"]["partial"]
    assert day["stalled_deals"]["partial"] is False


def test_a_service_error_is_named_in_the_part(gw_user, gateway_settings, deals_stub):
    manager = gw_user("manager")
    with StubUpstream("json", body=b'{"code": 403}', status=403) as refusing:
        gateway_settings(clients_url=refusing.url)
        day = manager.get("/api/v1/my-day").get_json()
    assert day["activities"] == {"items": None, "total": None, "partial": True, "error": "clients answered 403"}


def test_an_answer_without_items_is_not_taken_for_a_list(gw_user, gateway_settings):
    manager = gw_user("manager")
    with StubUpstream("json", body=b'{"items": "nope"}') as odd:
        gateway_settings(clients_url=odd.url, deals_url=odd.url)
        day = manager.get("/api/v1/my-day").get_json()
    assert all(day[part]["partial"] and "no valid answer" in day[part]["error"]
               for part in ("activities", "stalled_deals", "new_clients"))


@pytest.mark.parametrize("role", ["accountant", "marketer", "service", "admin"])
def test_roles_that_own_no_deals_or_clients_get_their_activities_only(gw_user, gateway_settings, role):
    caller = gw_user(role)
    with StubUpstream("json") as clients:
        gateway_settings(clients_url=clients.url, deals_url=closed_port_url())
        day = caller.get("/api/v1/my-day").get_json()
    assert set(day) == {"date", "activities"}
    [asked] = clients.requests
    assert asked["path"].startswith("/api/v1/activities?") and f"assignee_id={caller.user_id}" in asked["path"]


def test_the_head_of_sales_gets_their_own_deals_and_clients(gw_user, gateway_settings, deals_stub):
    head = gw_user("head_of_sales")
    with StubUpstream("json") as clients:
        gateway_settings(clients_url=clients.url)
        day = head.get("/api/v1/my-day").get_json()
    assert set(day) == {"date", "activities", "stalled_deals", "past_due_deals", "new_clients"}
    assert all(f"owner_id={head.user_id}" in request["path"] for request in deals_stub.requests)


def test_my_day_polled_with_its_etag_is_a_304_and_needs_a_token(gw, gw_user, gateway_settings):
    manager = gw_user("manager")
    with StubUpstream("json") as stub:
        gateway_settings(clients_url=stub.url, deals_url=stub.url)
        tag = manager.get("/api/v1/my-day").headers["ETag"]
        assert manager.get("/api/v1/my-day", headers={"If-None-Match": tag}).status_code == 304
    assert_error(gw.get("/api/v1/my-day"), 401)
