"""GET /clients/{id}/timeline: one list of what happened with a client, newest first, paged by (at, id)."""
import uuid

import pytest

from tests.support.clients import create, moment, open_case, plan, survey
from tests.support.http import assert_field_error


@pytest.fixture
def history(client, as_role, manager):
    """A client with one record of each kind: a contact, a planned and a done activity, a survey, a case."""
    card = create(manager)
    agent = as_role(client, "service")
    contact = manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Anna", "position": "CFO"}).json
    call = plan(manager, card["id"], subject="Intro call")
    meeting = plan(manager, card["id"], type="meeting", subject="Kick-off", due_at=moment(days=3))
    answer = survey(agent, card["id"], score=10, comment=None)
    case = open_case(agent, card["id"], subject="Late delivery")
    manager.post(f"/api/v1/activities/{call['id']}/complete", json={"outcome": "Interested"})
    return {"card": card, "contact": contact, "call": call, "meeting": meeting, "survey": answer, "case": case}


def timeline(caller, client_id, query=""):
    response = caller.get(f"/api/v1/clients/{client_id}/timeline?{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_the_owner_sees_everything_newest_first(manager, history):
    page = timeline(manager, history["card"]["id"])
    assert [(item["kind"], item["id"]) for item in page["items"]] == [
        ("activity", history["call"]["id"]),          # completed last, so it comes first
        ("service_case", history["case"]["id"]),
        ("survey", history["survey"]["id"]),
        ("activity", history["meeting"]["id"]),
        ("contact", history["contact"]["id"]),
    ]
    assert page["total"] == 5 and page["next_cursor"] is None
    summaries = {item["kind"] + ":" + (item["status"] or ""): item["summary"] for item in page["items"]}
    assert summaries == {"activity:done": "call: Intro call", "service_case:open": "Late delivery",
                         "survey:": "NPS 10", "activity:planned": "meeting: Kick-off", "contact:": "Anna, CFO"}
    ats = [item["at"] for item in page["items"]]
    assert ats == sorted(ats, reverse=True)


def test_pages_walk_every_entry_once_in_order(manager, history):
    whole = [item["id"] for item in timeline(manager, history["card"]["id"])["items"]]
    seen, cursor = [], None
    while True:
        page = timeline(manager, history["card"]["id"], "limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


@pytest.mark.parametrize("role,kinds", [
    ("head_of_sales", {"activity", "contact", "survey", "service_case"}),
    ("admin", {"activity", "contact", "survey", "service_case"}),
    ("service", {"activity", "contact", "survey", "service_case"}),
    ("marketer", {"activity", "contact", "survey"}),
    ("accountant", {"activity", "contact"}),
])
def test_each_role_sees_the_kinds_it_may_read(client, as_role, history, role, kinds):
    page = timeline(as_role(client, role), history["card"]["id"])
    assert {item["kind"] for item in page["items"]} == kinds
    assert page["total"] == len(page["items"])


def test_another_managers_client_or_an_unknown_one_is_a_404(other_manager, manager, history):
    assert_field_error(other_manager.get(f"/api/v1/clients/{history['card']['id']}/timeline"), 404)
    assert_field_error(manager.get(f"/api/v1/clients/{uuid.uuid4()}/timeline"), 404)


def test_an_archived_clients_history_stays_readable(manager, history):
    manager.delete(f"/api/v1/clients/{history['card']['id']}")
    assert timeline(manager, history["card"]["id"])["total"] == 5


def test_a_new_client_has_an_empty_timeline_and_bad_paging_is_refused(manager):
    card = create(manager, name="Fresh", tax_id="1000000019", email="fresh@x.example")
    assert timeline(manager, card["id"]) == {"items": [], "next_cursor": None, "total": 0, "total_is_estimate": False}
    assert_field_error(manager.get(f"/api/v1/clients/{card['id']}/timeline?limit=0"), 422, "limit")
    assert_field_error(manager.get(f"/api/v1/clients/{card['id']}/timeline?kind=survey"), 422, "kind")
    assert_field_error(manager.get(f"/api/v1/clients/{card['id']}/timeline?cursor=bm9wZQ"), 400, "cursor")
