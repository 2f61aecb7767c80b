"""A client's field-level change history (GET /clients/{id}/history) on real PostgreSQL: the card's and its
contacts' changes, written with each change in its own transaction, read under the same rules as the card."""
import pytest
from sqlalchemy import func, select

from glassbox.errors import Conflict
from services.clients.models import AuditRecord, Client
from tests.support.clients import CARD, create
from tests.support.http import assert_field_error


def history_of(caller, card: dict, query: str = "") -> dict:
    response = caller.get(f"/api/v1/clients/{card['id']}/history{query}")
    assert response.status_code == 200, response.json
    return response.json


def test_a_card_change_shows_each_changed_field_with_who_changed_it(manager, card):
    response = manager.patch(f"/api/v1/clients/{card['id']}", json={"phone": "+7 495 000-00-00", "rating": "B",
                                                                      "name": card["name"]},
                             headers={"X-Request-ID": "req-card-1"})
    assert response.status_code == 200, response.json

    page = history_of(manager, card)
    assert page["total"] == 2
    latest, created = page["items"]
    assert latest["record_type"] == "client" and latest["record_id"] == card["id"] and latest["action"] == "updated"
    assert latest["changes"] == [{"field": "phone", "old": CARD["phone"], "new": "+7 495 000-00-00"},
                                 {"field": "rating", "old": "A", "new": "B"}]  # the unchanged name is not there
    assert (latest["actor_id"], latest["request_id"]) == (manager.user_id, "req-card-1")
    assert created["action"] == "created" and created["actor_id"] == manager.user_id
    assert {change["field"]: change["new"] for change in created["changes"]} == {
        **{name: value for name, value in CARD.items()}, "status": "prospect", "owner_id": manager.user_id}


def test_contacts_assignment_and_archiving_are_in_the_clients_history(manager, other_manager, head, known_user, card):
    contacts = f"/api/v1/clients/{card['id']}/contacts"
    contact = manager.post(contacts, json={"full_name": "Anna Smirnova", "position": "CFO"}).json
    assert manager.patch(f"/api/v1/contacts/{contact['id']}", json={"position": "CEO"}).status_code == 200
    assert manager.delete(f"/api/v1/contacts/{contact['id']}").status_code == 204
    known_user(other_manager)
    assert head.post(f"/api/v1/clients/{card['id']}/assign", json={"owner_id": other_manager.user_id}).status_code == 200
    assert other_manager.delete(f"/api/v1/clients/{card['id']}").status_code == 204

    archived, assigned, deleted, changed, added, _created = history_of(head, card)["items"]
    assert [(e["record_type"], e["action"]) for e in (added, changed, deleted)] == [
        ("contact", "created"), ("contact", "updated"), ("contact", "deleted")]
    assert {e["record_id"] for e in (added, changed, deleted)} == {contact["id"]}
    assert changed["changes"] == [{"field": "position", "old": "CFO", "new": "CEO"}]
    assert {c["field"]: c["old"] for c in deleted["changes"]} == {"full_name": "Anna Smirnova", "position": "CEO",
                                                                  "is_primary": False}
    assert assigned["actor_id"] == head.user_id and assigned["changes"] == [
        {"field": "owner_id", "old": manager.user_id, "new": other_manager.user_id}]
    assert archived["actor_id"] == other_manager.user_id
    assert [c["field"] for c in archived["changes"]] == ["archived_at"] and archived["changes"][0]["old"] is None
    # The archived card stays readable by its id, and so does its history.
    assert history_of(other_manager, card)["total"] == 6


def test_a_change_rolled_back_mid_way_leaves_no_history(manager, card, clients_app, clients_engine):
    db = clients_app.extensions["glassbox_db"]
    count = select(func.count()).select_from(AuditRecord).where(AuditRecord.subject_id == card["id"])
    with pytest.raises(Conflict):
        with db.unit_of_work() as uow:
            uow.session.get(Client, card["id"]).rating = "C"
            uow.session.flush()  # the change and its history row are written ...
            assert uow.session.scalar(count) == 2
            raise Conflict("refused after the write")  # ... and the transaction ends without a commit
    with clients_engine.connect() as conn:
        assert conn.scalar(count) == 1
    # A refused change leaves nothing either: a duplicate tax id (409), a bad value (422).
    other = create(manager, tax_id="7700000009", email="other@acme.example")
    assert_field_error(manager.patch(f"/api/v1/clients/{other['id']}", json={"tax_id": CARD["tax_id"]}), 409)
    assert_field_error(manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": "Z"}), 422)
    assert history_of(manager, card)["total"] == 1 and history_of(manager, other)["total"] == 1


def test_another_managers_card_history_is_a_404_and_read_only_roles_read_it(client, as_role, manager, other_manager,
                                                                            card):
    assert_field_error(other_manager.get(f"/api/v1/clients/{card['id']}/history"), 404)
    for role in ("marketer", "accountant", "service", "head_of_sales"):
        assert history_of(as_role(client, role), card)["total"] == 1


@pytest.mark.parametrize("query", ["?changes=true", "?limit=0", "?limit=abc"])
def test_an_unknown_or_malformed_query_field_is_a_422(manager, card, query):
    assert_field_error(manager.get(f"/api/v1/clients/{card['id']}/history{query}"), 422)


def test_the_history_comes_in_pages_newest_first(manager, card):
    for n in range(4):
        assert manager.patch(f"/api/v1/clients/{card['id']}", json={"notes": f"call {n}"}).status_code == 200
    seen, query = [], "?limit=3"
    while True:
        page = history_of(manager, card, query)
        assert page["total"] == 5 and len(page["items"]) <= 3
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        query = f"?limit=3&cursor={page['next_cursor']}"
    assert [entry["changes"][0]["new"] for entry in seen[:4]] == ["call 3", "call 2", "call 1", "call 0"]
    assert seen[-1]["action"] == "created" and len(seen) == 5
