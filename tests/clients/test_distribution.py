"""POST /clients/distribute: fairness of both strategies, the subset and region rules, every bad input, roles,
and all-or-nothing with one assignment event per moved client."""
import uuid
from collections import Counter

import pytest

from services.clients.service import distribution
from tests.support.clients import create
from tests.support.http import assert_field_error
from tests.support.outbox import outbox_events

PATH = "/api/v1/clients/distribute"


def prospects(caller, count: int, **overrides) -> list[str]:
    """`count` new clients of the caller, oldest first; returns their ids."""
    return [create(caller, name=f"Prospect {uuid.uuid4().hex[:6]}", tax_id=None, email=None, **overrides)["id"]
            for _ in range(count)]


def distribute(caller, **body) -> dict:
    response = caller.post(PATH, json=body)
    assert response.status_code == 200, response.json
    return response.json


def owners(caller, client_ids) -> Counter:
    return Counter(caller.get(f"/api/v1/clients/{client_id}").json["owner_id"] for client_id in client_ids)


def assigned_events(url) -> list[dict]:
    return [event for event in outbox_events(url) if event["type"] == "crm.client.assigned.v1"]


@pytest.fixture
def managers(known_user) -> list[str]:
    """Three active managers, sorted by id (the order the strategies take them in)."""
    return sorted(known_user() for _ in range(3))


# -- fairness -------------------------------------------------------------------------------------

def test_round_robin_over_three_managers_gives_4_3_3(head, managers, clients_db_url):
    clients = prospects(head, 10)
    answer = distribute(head, client_ids=clients, strategy="round_robin")
    assert answer["unchanged"] == 0 and len(answer["assignments"]) == 10
    assert [a["owner_id"] for a in answer["assignments"]] == [managers[i % 3] for i in range(10)]
    assert owners(head, clients) == {managers[0]: 4, managers[1]: 3, managers[2]: 3}
    assert all(a["previous_owner_id"] == head.user_id for a in answer["assignments"])


def test_least_loaded_fills_the_emptiest_first_and_ends_balanced(head, managers):
    busy, light, empty = managers
    for manager, load in ((busy, 3), (light, 1)):
        distribute(head, client_ids=prospects(head, load), strategy="round_robin", manager_ids=[manager])
    clients = prospects(head, 5)
    answer = distribute(head, client_ids=clients, strategy="least_loaded")
    assert answer["assignments"][0]["owner_id"] == empty  # the emptiest first
    assert answer["assignments"][1]["owner_id"] == min(light, empty)  # then a tie, broken by id
    assert owners(head, clients) == {light: 2, empty: 3}
    everyone = head.get("/api/v1/clients?limit=100").json["items"]
    assert Counter(card["owner_id"] for card in everyone) == {busy: 3, light: 3, empty: 3}


def test_least_loaded_counts_only_live_clients(head, managers):
    first, second, _ = managers
    archived = prospects(head, 2)
    distribute(head, client_ids=archived, strategy="round_robin", manager_ids=[first])
    for client_id in archived:
        head.delete(f"/api/v1/clients/{client_id}")
    answer = distribute(head, client_ids=prospects(head, 1), strategy="least_loaded", manager_ids=[first, second])
    assert answer["assignments"][0]["owner_id"] == first  # 0 live clients each: the tie goes to the lower id


def test_a_client_already_with_its_chosen_manager_stays_and_counts_as_unchanged(head, managers, clients_db_url):
    clients = prospects(head, 3)
    distribute(head, client_ids=clients, strategy="round_robin")
    before = len(assigned_events(clients_db_url))
    again = distribute(head, client_ids=clients, strategy="round_robin")
    assert again == {"assignments": [], "unchanged": 3}
    assert len(assigned_events(clients_db_url)) == before
    rebalanced = distribute(head, client_ids=clients, strategy="least_loaded")
    assert rebalanced == {"assignments": [], "unchanged": 3}  # one each already: nothing to move


# -- subset, regions, filter ----------------------------------------------------------------------

def test_a_subset_of_managers(head, managers):
    clients = prospects(head, 4)
    distribute(head, client_ids=clients, strategy="round_robin", manager_ids=managers[1:])
    assert owners(head, clients) == {managers[1]: 2, managers[2]: 2}


def test_a_region_with_a_rule_goes_to_its_managers_only(head, managers):
    pool, kazan = managers[:2], managers[2]
    moscow_clients = prospects(head, 4, region="Moscow")
    kazan_clients = prospects(head, 3, region="Kazan")
    nowhere = prospects(head, 1, region=None)
    answer = distribute(head, client_ids=moscow_clients + kazan_clients + nowhere, strategy="round_robin",
                        manager_ids=pool, by_region={"Kazan": [kazan]})
    assert owners(head, kazan_clients) == {kazan: 3}
    assert set(owners(head, moscow_clients + nowhere)) == set(pool)
    assert answer["unchanged"] == 0


def test_least_loaded_with_a_region_rule_counts_across_the_whole_call(head, managers):
    first, second, _ = managers
    kazan_clients = prospects(head, 2, region="Kazan")
    other_clients = prospects(head, 2, region="Moscow")
    distribute(head, client_ids=kazan_clients + other_clients, strategy="least_loaded",
               manager_ids=[first, second], by_region={"Kazan": [first]})
    assert owners(head, kazan_clients) == {first: 2}
    assert owners(head, other_clients) == {second: 2}  # first already had two from this same call


def test_a_filter_picks_the_live_unassigned_clients(head, managers, known_user):
    taken = prospects(head, 1, region="Omsk")
    distribute(head, client_ids=taken, strategy="round_robin", manager_ids=[managers[0]])
    leaver = known_user()
    head.post(f"/api/v1/clients/{prospects(head, 1, region='Omsk')[0]}/assign", json={"owner_id": leaver})
    known_user(leaver, is_active=False)
    open_ones = prospects(head, 2, region="Omsk")
    archived = prospects(head, 1, region="Omsk")[0]
    head.delete(f"/api/v1/clients/{archived}")
    prospects(head, 1, region="Tver")
    answer = distribute(head, filter={"region": "Omsk", "unassigned_only": True}, strategy="round_robin",
                        manager_ids=managers[1:])
    moved = {a["client_id"]: a["previous_owner_id"] for a in answer["assignments"]}
    assert len(moved) == 3 and set(open_ones) < set(moved)  # the leaver's client is unassigned too
    assert sorted(moved.values()) == sorted([head.user_id, head.user_id, leaver])


def test_a_filter_matching_more_than_the_limit_is_refused(head, managers, monkeypatch, clients_db_url):
    monkeypatch.setattr(distribution, "MAX_CLIENTS", 2)
    prospects(head, 3, status="prospect")
    assert_field_error(head.post(PATH, json={"filter": {"status": "prospect"}, "strategy": "round_robin"}), 422, "filter")
    assert assigned_events(clients_db_url) == []
    assert distribute(head, filter={"status": "active"}, strategy="round_robin") == {"assignments": [],
                                                                                      "unchanged": 0}


# -- bad input, all or nothing --------------------------------------------------------------------

TWO = [str(uuid.uuid4()), str(uuid.uuid4())]


@pytest.mark.parametrize("body,field", [
    ({"client_ids": TWO[:1], "strategy": "random"}, "strategy"),
    ({"client_ids": TWO[:1]}, "strategy"),
    ({"client_ids": [], "strategy": "round_robin"}, "client_ids"),
    ({"client_ids": [TWO[0], TWO[0]], "strategy": "round_robin"}, "client_ids"),
    ({"client_ids": [str(uuid.uuid4()) for _ in range(1001)], "strategy": "round_robin"}, "client_ids"),
    ({"client_ids": ["acme"], "strategy": "round_robin"}, "client_ids"),
    ({"client_ids": TWO, "filter": {"region": "Omsk"}, "strategy": "round_robin"}, "filter"),
    ({"strategy": "round_robin"}, "client_ids"),
    ({"filter": {"colour": "red"}, "strategy": "round_robin"}, "colour"),
    ({"filter": {"status": "lost"}, "strategy": "round_robin"}, "status"),
    ({"client_ids": TWO, "strategy": "round_robin", "manager_ids": []}, "manager_ids"),
    ({"client_ids": TWO, "strategy": "round_robin", "manager_ids": [TWO[0], TWO[0]]}, "manager_ids"),
    ({"client_ids": TWO, "strategy": "round_robin", "by_region": {"Kazan": []}}, "by_region"),
    ({"client_ids": TWO, "strategy": "round_robin", "by_region": {"": [TWO[0]]}}, "by_region"),
    ({"client_ids": TWO, "strategy": "round_robin", "owner_id": TWO[0]}, "owner_id"),
])
def test_malformed_requests_are_422(head, body, field):
    assert_field_error(head.post(PATH, json=body), 422, field)


def test_unknown_or_archived_clients_move_nothing(head, managers, clients_db_url):
    good = prospects(head, 3)
    archived = prospects(head, 1)[0]
    head.delete(f"/api/v1/clients/{archived}")
    unknown = str(uuid.uuid4())
    before = outbox_events(clients_db_url)
    response = head.post(PATH, json={"client_ids": good + [unknown, archived], "strategy": "round_robin"})
    assert_field_error(response, 422, "client_ids")
    assert response.json["errors"]["json"]["client_ids"] == {unknown: ["no such client"], archived: ["archived"]}
    assert owners(head, good) == {head.user_id: 3}
    assert outbox_events(clients_db_url) == before


@pytest.mark.parametrize("role,is_active", [("manager", False), ("head_of_sales", True), ("marketer", True),
                                            (None, None)])
def test_only_active_managers_receive_clients(head, managers, known_user, clients_db_url, role, is_active):
    stranger = known_user(role=role, is_active=is_active) if role else str(uuid.uuid4())
    clients = prospects(head, 2)
    for rule in ({"manager_ids": [managers[0], stranger]}, {"by_region": {"Moscow": [stranger]}}):
        response = head.post(PATH, json={"client_ids": clients, "strategy": "round_robin", **rule})
        assert_field_error(response, 422, "not an active manager")
        assert stranger in str(response.json["errors"])
    assert assigned_events(clients_db_url) == []


def test_no_active_manager_at_all_is_a_422(head, known_user):
    known_user(role="manager", is_active=False)
    assert_field_error(head.post(PATH, json={"client_ids": prospects(head, 1), "strategy": "least_loaded"}), 422,
                 "manager_ids")


@pytest.mark.parametrize("role", ["manager", "marketer", "accountant", "service"])
def test_only_head_of_sales_and_admin_distribute(client, as_role, head, managers, role, clients_db_url):
    clients = prospects(head, 2)
    assert_field_error(as_role(client, role).post(PATH, json={"client_ids": clients, "strategy": "round_robin"}), 403)
    admin = as_role(client, "admin")
    assert len(distribute(admin, client_ids=clients, strategy="round_robin")["assignments"]) == 2


def test_each_move_is_one_assignment_event(head, managers, clients_db_url):
    clients = prospects(head, 4)
    answer = distribute(head, client_ids=clients, strategy="round_robin")
    events = assigned_events(clients_db_url)
    assert [(e["key"], e["payload"]["owner_id"], e["payload"]["previous_owner_id"]) for e in events] == [
        (a["client_id"], a["owner_id"], a["previous_owner_id"]) for a in answer["assignments"]]
