"""Whom and what a deal may name, as this service's projections know them: its client (a live card the caller may
see, read through to the clients service when the projection has not heard of it yet), its owner (an active
manager or head of sales) and its campaign (one the clients service has)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import invalid
from services.deals import consumers
from services.deals.directory import ClientLookup
from services.deals.models import Campaign, Client, User
from services.deals.service.policy import OWNER_ROLES, VISIBILITY

NO_SUCH_CLIENT = "no such client, or not yours"


def ensure_owner(session: Session | Connection, principal: Principal, owner_id: uuid.UUID) -> None:
    """An owner must be an active manager or head of sales in the users projection. The caller needs no look-up
    when naming themselves in such a role: their token is proof enough, and the projection may lag a moment."""
    if str(owner_id) == principal.user_id and principal.role in OWNER_ROLES:
        return
    known = session.scalar(select(User.user_id).where(User.user_id == owner_id, User.is_active,
                                                      User.role.in_(OWNER_ROLES)))
    if known is None:
        raise invalid("owner_id", f"owner_id {owner_id} is not an active manager or head of sales",
                      "not an active manager or head of sales")


def may_use(principal: Principal, client: Client) -> bool:
    return VISIBILITY.can_see(principal, client.owner_id)


def ensure_live(client: Client) -> None:
    if client.archived_at is not None:
        raise invalid("client_id", f"client {client.client_id} is archived", "archived client")


def check_client(db: Database, principal: Principal, client_id: uuid.UUID, lookup: ClientLookup | None) -> None:
    """The client must exist, be live and be the caller's to see. The projection answers when it knows the client
    and lets the caller see it; otherwise (a card created or assigned a moment ago, whose event has not arrived)
    the clients service is asked with the caller's token, and its answer decides: 200 goes into the projection
    and on, 404 is a 422, no answer a 503. So the answer does not depend on how far the consumer has read."""
    with db.session() as session:
        known = session.get(Client, client_id)
    if known is not None and (known.archived_at is not None or may_use(principal, known)):
        ensure_live(known)  # archiving is final: no need to ask
        return
    card = lookup.fetch(client_id) if lookup is not None else None
    if card is None:
        raise invalid("client_id", f"client {client_id}: {NO_SUCH_CLIENT}", NO_SUCH_CLIENT)
    updated_at = datetime.fromisoformat(card["updated_at"].replace("Z", "+00:00"))
    with db.session() as session:
        consumers.project_client(session, client_id, card, updated_at)  # later events still win
        session.commit()
    if card.get("archived_at"):
        raise invalid("client_id", f"client {client_id} is archived", "archived client")


NO_SUCH_CAMPAIGN = "no such campaign"


def check_campaign(db: Database, campaign_id: uuid.UUID | None, lookup: ClientLookup | None) -> None:
    """A deal's campaign must exist in the clients service: the projection knows it, or the clients service is
    asked (200 goes into the projection, 404 is a 422, no answer a 503), as for the client."""
    if campaign_id is None:
        return
    with db.session() as session:
        if session.get(Campaign, campaign_id) is not None:
            return
    campaign = lookup.fetch_campaign(campaign_id) if lookup is not None else None
    if campaign is None:
        raise invalid("campaign_id", f"campaign {campaign_id}: {NO_SUCH_CAMPAIGN}", NO_SUCH_CAMPAIGN)
    updated_at = campaign.get("updated_at")
    with db.session() as session:
        consumers.project_campaign(session, campaign_id, campaign,
                                   datetime.fromisoformat(updated_at.replace("Z", "+00:00")) if updated_at
                                   else clock.now())
        session.commit()
