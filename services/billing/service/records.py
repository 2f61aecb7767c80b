"""What the billing use cases share: a record that the caller may see, the client and deal an invoice or payment names, and the unique indexes a concurrent request can
hit after a check passed (a 409)."""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.db import load, unique_races
from glassbox.errors import invalid
from services.billing.models import Client, Deal
from services.billing.service.policy import VISIBILITY


def load_visible(session: Session, principal: Principal, model, noun: str, record_id, for_update: bool = False,
                 options=()):
    """A record with an owner_id (the client's owner): another manager's is a 404 like a missing one."""
    record = load(session, model, noun, record_id, for_update, options)
    VISIBILITY.ensure(principal, record.owner_id, message=f"{noun} {record_id} not found")
    return record


def known_client(session: Session, principal: Principal, client_id: uuid.UUID, field: str = "client_id") -> Client:
    """A live client the caller may see, as the clients service's events told this service. A card created a moment
    ago may not have arrived yet: the answer says so (try again in a moment).
    Read with a share lock held to the end of the caller's transaction: a record written with the client's owner
    and a new owner arriving (the consumer moves the client's records) take turns, so the record is never left with
    the old owner (tests/billing/test_concurrent_owner_move.py)."""
    client = session.get(Client, client_id, with_for_update={"read": True})
    if client is None or not VISIBILITY.can_see(principal, client.owner_id):
        raise invalid(field, "no such client, or not yours (a card created a moment ago may take a second to "
                             "reach billing)", "unknown client")
    if client.archived_at is not None:
        raise invalid(field, "the client is archived", "archived client")
    return client


def deal_of(session: Session, deal_id: uuid.UUID | None, client: Client) -> None:
    """An invoice's deal must be a known deal of the invoice's client."""
    if deal_id is None:
        return
    deal = session.get(Deal, deal_id)
    if deal is None:
        raise invalid("deal_id", "no such deal (a deal created a moment ago may take a second to reach billing)",
                      "unknown deal")
    if deal.client_id != client.client_id:
        raise invalid("deal_id", "the deal belongs to another client", "another client's deal")


# The unique indexes a concurrent request can hit after our own check passed: name -> (field, problem).
RACES = {"uq_products_sku": ("sku", "already used"),
         "uq_payment_allocations_invoice": ("allocations", "the invoice was named twice")}


def races(noun: str):
    """Wrap a unit of work: a duplicate that slipped past the checks is a 409 about the `noun`'s field."""
    return unique_races(noun, RACES)
