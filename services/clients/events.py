"""The events the clients service emits on crm.clients.events (schemas in contracts/events/)."""
from __future__ import annotations

from glassbox.events import DomainEvent
from services.clients.models import Client, Contact

TOPIC = "crm.clients.events"
SOURCE = "/crm/clients"

CLIENT_CREATED = "crm.client.created.v1"
CLIENT_UPDATED = "crm.client.updated.v1"
CLIENT_ASSIGNED = "crm.client.assigned.v1"
CLIENT_ARCHIVED = "crm.client.archived.v1"
CONTACT_CREATED = "crm.contact.created.v1"
CONTACT_UPDATED = "crm.contact.updated.v1"
CONTACT_DELETED = "crm.contact.deleted.v1"

ALL_TYPES = (CLIENT_CREATED, CLIENT_UPDATED, CLIENT_ASSIGNED, CLIENT_ARCHIVED,
             CONTACT_CREATED, CONTACT_UPDATED, CONTACT_DELETED)

CLIENT_FIELDS = ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
                 "source_channel", "campaign_id", "rating", "status", "owner_id", "notes",
                 "created_at", "updated_at", "archived_at")
CONTACT_FIELDS = ("full_name", "position", "email", "phone", "is_primary", "notes", "created_at", "updated_at")


def client_snapshot(client: Client) -> dict:
    return {"client_id": client.id, **{name: getattr(client, name) for name in CLIENT_FIELDS}}


def contact_snapshot(contact: Contact) -> dict:
    return {"contact_id": contact.id, "client_id": contact.client_id, "owner_id": contact.client.owner_id,
            **{name: getattr(contact, name) for name in CONTACT_FIELDS}}


def _event(type_: str, subject, data: dict, actor_id: str) -> DomainEvent:
    return DomainEvent(type=type_, source=SOURCE, subject=str(subject), data={**data, "actor_id": actor_id})


def client_created(client: Client, actor_id: str) -> DomainEvent:
    return _event(CLIENT_CREATED, client.id, client_snapshot(client), actor_id)


def client_updated(client: Client, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CLIENT_UPDATED, client.id, {**client_snapshot(client), "changed_fields": changed}, actor_id)


def client_assigned(client: Client, previous_owner_id, actor_id: str) -> DomainEvent:
    return _event(CLIENT_ASSIGNED, client.id, {"client_id": client.id, "name": client.name,
                                               "owner_id": client.owner_id, "previous_owner_id": previous_owner_id,
                                               "assigned_at": client.updated_at}, actor_id)


def client_archived(client: Client, actor_id: str) -> DomainEvent:
    return _event(CLIENT_ARCHIVED, client.id, {"client_id": client.id, "name": client.name,
                                               "owner_id": client.owner_id, "archived_at": client.archived_at},
                  actor_id)


# Contact events are keyed by the client id: they then share the client's partition and stay in order
# with the client's own events (a consumer never sees a contact before its client).
def contact_created(contact: Contact, actor_id: str) -> DomainEvent:
    return _event(CONTACT_CREATED, contact.client_id, contact_snapshot(contact), actor_id)


def contact_updated(contact: Contact, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(CONTACT_UPDATED, contact.client_id, {**contact_snapshot(contact), "changed_fields": changed},
                  actor_id)


def contact_deleted(contact: Contact, actor_id: str) -> DomainEvent:
    return _event(CONTACT_DELETED, contact.client_id, {"contact_id": contact.id, "client_id": contact.client_id,
                                                       "owner_id": contact.client.owner_id}, actor_id)
