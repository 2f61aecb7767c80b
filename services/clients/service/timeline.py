"""A client's timeline: activities, contacts, surveys and service cases in one list, newest first; and its history:
the field-level changes of the card and its contacts (glassbox.audit)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox import audit
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from glassbox.web import keyset_page
from services.clients.models import AuditRecord, TimelineEntry
from services.clients.service.policy import READERS, TIMELINE_READERS
from services.clients.service.records import load_client


def client_timeline(db: Database, principal: Principal, client_id: uuid.UUID, args: dict) -> dict:
    """The entries of the kinds the caller may read anyway, of a client they see."""
    require(principal, *READERS)
    kinds = [kind for kind, roles in TIMELINE_READERS.items() if principal.role in roles]
    with db.session() as session:
        load_client(session, principal, client_id)
        stmt = select(TimelineEntry).where(TimelineEntry.client_id == client_id, TimelineEntry.kind.in_(kinds))
        return keyset_page(session, stmt, TimelineEntry.at, TimelineEntry.id, descending=True,
                           limit=args["limit"], cursor=args.get("cursor"))


def client_history(db: Database, principal: Principal, client_id: uuid.UUID, args: dict) -> dict:
    """Whoever may read the card reads its history (another manager's card is a 404, as its GET)."""
    require(principal, *READERS)
    with db.session() as session:
        load_client(session, principal, client_id)
        return audit.history_page(session, AuditRecord, client_id, args)
