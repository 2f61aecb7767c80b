"""The people at a client: added, read, changed and deleted with the card (a manager's own clients only)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from glassbox.web import keyset_page
from services.clients import events
from services.clients.models import Contact
from services.clients.service.policy import READERS, WRITERS
from services.clients.service.records import (add_new, ensure_live, get_attached, load_attached, load_client,
                                              record_changes)


def create_contact(db: Database, principal: Principal, client_id: uuid.UUID, data: dict) -> Contact:
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        client = load_client(uow.session, principal, client_id, for_update=True)
        ensure_live(client)
        now = clock.now()
        contact = add_new(uow, Contact(id=uuid.uuid4(), client=client, created_at=now, updated_at=now,
                                       is_primary=data.pop("is_primary", False), **data),
                          events.contact_created, principal)
        uow.commit()
        return contact


def list_contacts(db: Database, principal: Principal, client_id: uuid.UUID, args: dict) -> dict:
    require(principal, *READERS)
    with db.session() as session:
        load_client(session, principal, client_id)
        stmt = select(Contact).where(Contact.client_id == client_id)
        return keyset_page(session, stmt, Contact.created_at, Contact.id, descending=False,
                           limit=args["limit"], cursor=args.get("cursor"))


def get_contact(db: Database, principal: Principal, contact_id: uuid.UUID) -> Contact:
    return get_attached(db, principal, READERS, Contact, contact_id)


def update_contact(db: Database, principal: Principal, contact_id: uuid.UUID, changes: dict) -> Contact:
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        contact = load_attached(uow.session, principal, Contact, contact_id, for_update=True)
        ensure_live(contact.client)
        if record_changes(uow, contact, changes, events.contact_updated, principal):
            uow.commit()
        return contact


def delete_contact(db: Database, principal: Principal, contact_id: uuid.UUID) -> None:
    require(principal, *WRITERS)
    with db.unit_of_work() as uow:
        contact = load_attached(uow.session, principal, Contact, contact_id, for_update=True)
        ensure_live(contact.client)
        uow.emit(events.contact_deleted(contact, principal.user_id))
        uow.session.delete(contact)
        uow.commit()
