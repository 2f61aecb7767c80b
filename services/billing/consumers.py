"""What the billing service consumes: the client cards (crm.clients.events), for the buyer's requisites printed on
documents and the owner who may see its invoices; the deals (crm.deals.events) an invoice may name; the users
(crm.identity.events), for the managers' names on receivables. Run by `glassbox consume billing`; the kit's inbox
skips duplicates, and rows only move forward in CloudEvent time (glassbox.projection).

Tolerant readers: each handler takes the few fields it needs with .get and ignores the rest."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.events import DomainEvent
from glassbox.projection import upsert_newer
from glassbox.users import IDENTITY_TOPIC, user_handlers
from services.billing.models import Client, Deal, Delivery, Invoice, Payment, User

GROUP = "billing"
TOPICS = ("crm.clients.events", "crm.deals.events", IDENTITY_TOPIC)

CLIENT_EVENTS = ("crm.client.created.v1", "crm.client.updated.v1", "crm.client.assigned.v1",
                 "crm.client.archived.v1")
DEAL_EVENTS = ("crm.deal.created.v1", "crm.deal.updated.v1", "crm.deal.stage_changed.v1", "crm.deal.won.v1",
               "crm.deal.lost.v1", "crm.deal.reopened.v1", "crm.deal.reassigned.v1")

CLIENT_FIELDS = ("name", "kind", "tax_id", "address", "email", "owner_id", "archived_at")
DEAL_FIELDS = ("client_id", "owner_id", "title", "status")
UUID_FIELDS = ("owner_id", "client_id")


def _id(value, fallback) -> uuid.UUID:
    return uuid.UUID(str(value or fallback))  # a bad id raises: the event goes to the DLQ


def _values(data: dict, fields: tuple[str, ...]) -> dict:
    values = {name: data[name] for name in fields if name in data}
    for name in UUID_FIELDS:
        if name in values:
            values[name] = uuid.UUID(str(values[name])) if values[name] else None
    if isinstance(values.get("archived_at"), str):
        values["archived_at"] = datetime.fromisoformat(values["archived_at"].replace("Z", "+00:00"))
    return values


def client_changed(session: Session, event: DomainEvent) -> None:
    """A card created, updated, assigned or archived: each event sets what it carries. A new owner takes the
    client's invoices, shipments and payments with it (whose receivables they are, who may see them)."""
    client_id = _id(event.data.get("client_id"), event.subject)
    values = _values(event.data, CLIENT_FIELDS)
    before = session.get(Client, client_id)
    upsert_newer(session, Client, {"client_id": client_id}, {**values, "updated_at": clock.now()}, event.time)
    if "owner_id" in values and (before is None or before.last_event_time <= event.time):
        for model in (Invoice, Delivery, Payment):
            session.execute(update(model).where(model.client_id == client_id)
                            .where(model.owner_id.is_distinct_from(values["owner_id"]))
                            .values(owner_id=values["owner_id"]))


def deal_changed(session: Session, event: DomainEvent) -> None:
    """Every deal event carries the whole deal: keep whose client and whose deal it is."""
    deal_id = _id(event.data.get("deal_id"), event.subject)
    upsert_newer(session, Deal, {"deal_id": deal_id}, {**_values(event.data, DEAL_FIELDS), "updated_at": clock.now()},
                 event.time)


HANDLERS = {
    **{type_: client_changed for type_ in CLIENT_EVENTS},
    **{type_: deal_changed for type_ in DEAL_EVENTS},
    **user_handlers(User),
}
