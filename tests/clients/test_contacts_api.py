"""Contacts of a client: CRUD, ownership through the client, events."""
import pytest

from tests.support.http import assert_field_error
from tests.support.outbox import outbox_events


def test_contact_lifecycle_with_events(manager, card, clients_db_url):
    path = f"/api/v1/clients/{card['id']}/contacts"
    created = manager.post(path, json={"full_name": "Anna Smirnova", "position": "CFO", "email": "anna@acme.example",
                                       "is_primary": True})
    assert created.status_code == 201 and created.json["client_id"] == card["id"]
    contact_path = f"/api/v1/contacts/{created.json['id']}"
    assert manager.get(path).json["items"] == [created.json]
    updated = manager.patch(contact_path, json={"phone": "+7 900 000-00-00"})
    assert updated.status_code == 200 and updated.json["phone"] == "+7 900 000-00-00"
    assert manager.delete(contact_path).status_code == 204
    assert_field_error(manager.get(contact_path), 404)
    events = outbox_events(clients_db_url)
    assert [e["type"] for e in events] == ["crm.client.created.v1", "crm.contact.created.v1",
                                           "crm.contact.updated.v1", "crm.contact.deleted.v1"]
    assert all(e["key"] == card["id"] for e in events)  # one partition key: ordered with the client
    assert events[2]["payload"]["changed_fields"] == ["phone"]


def test_another_managers_contact_is_a_404(manager, other_manager, card):
    contact = manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Anna"}).json
    for call in (other_manager.get, other_manager.delete):
        assert_field_error(call(f"/api/v1/contacts/{contact['id']}"), 404)
    assert_field_error(other_manager.patch(f"/api/v1/contacts/{contact['id']}", json={"full_name": "X"}), 404)


@pytest.mark.parametrize("body,field", [({}, "full_name"), ({"full_name": ""}, "full_name"),
                                        ({"full_name": "A", "client_id": "x"}, "client_id"),
                                        ({"full_name": "A", "email": "nope"}, "email"),
                                        ({"full_name": "A", "is_primary": "maybe"}, "is_primary")])
def test_bad_contact_input_is_422(manager, card, body, field):
    assert_field_error(manager.post(f"/api/v1/clients/{card['id']}/contacts", json=body), 422, field)


def test_contacts_of_an_archived_client_are_frozen(manager, card):
    contact = manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Anna"}).json
    manager.delete(f"/api/v1/clients/{card['id']}")
    assert_field_error(manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Bob"}), 409)
    assert_field_error(manager.patch(f"/api/v1/contacts/{contact['id']}", json={"full_name": "Bob"}), 409)
    assert manager.get(f"/api/v1/contacts/{contact['id']}").status_code == 200
