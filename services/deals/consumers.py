"""What the deals service consumes: the client cards (crm.clients.events) projected into `clients`, to check that
a deal names a live client the caller may see and to put the client's name and segment into the deal events; the
campaigns (same topic) into `campaigns`, the lead sources a deal may name; the activities that name a deal (same
topic) into `deal_activities`, the completed activity types a stage may require;
and the users (crm.identity.events) projected into `users`, to check who may own a deal. Run by
`glassbox consume deals`; the kit's inbox skips duplicates.

Tolerant readers: each handler takes the few fields it needs with .get and ignores the rest, and the event
types not in HANDLERS (contacts, surveys, ...) are simply not ours. Rows only move forward in CloudEvent time
(glassbox.projection), so a late or replayed older event changes nothing.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.events import DomainEvent
from glassbox.projection import upsert_newer
from glassbox.users import IDENTITY_TOPIC, USER_CREATED, USER_DEACTIVATED, USER_UPDATED, user_handlers  # noqa: F401
from services.deals.models import Campaign, Client, DealActivity, User

GROUP = "deals"
TOPICS = ("crm.clients.events", IDENTITY_TOPIC)

CLIENT_CREATED = "crm.client.created.v1"
CLIENT_UPDATED = "crm.client.updated.v1"
CLIENT_ASSIGNED = "crm.client.assigned.v1"
CLIENT_ARCHIVED = "crm.client.archived.v1"
CAMPAIGN_CREATED = "crm.campaign.created.v1"
CAMPAIGN_UPDATED = "crm.campaign.updated.v1"
ACTIVITY_EVENTS = ("crm.activity.planned.v1", "crm.activity.updated.v1", "crm.activity.completed.v1",
                   "crm.activity.cancelled.v1")

# The card fields the projection keeps; an event sets those it carries and leaves the others as they are.
CLIENT_FIELDS = ("name", "owner_id", "industry", "region", "campaign_id", "status", "archived_at")


def _id(value, fallback) -> uuid.UUID:
    return uuid.UUID(str(value or fallback))  # a bad id raises: the event goes to the DLQ


def _timestamp(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value


def _uuid_or_none(value):
    return uuid.UUID(str(value)) if value else None


def project_client(session: Session, client_id: uuid.UUID, card: dict, event_time: datetime) -> None:
    """Upsert the projected card from the fields of `card` it knows (an event's payload, or the clients
    service's answer read through), unless the row already reflects something newer."""
    values = {name: card[name] for name in CLIENT_FIELDS if name in card}
    for name in ("owner_id", "campaign_id"):
        if name in values:
            values[name] = _uuid_or_none(values[name])
    if "archived_at" in values:
        values["archived_at"] = _timestamp(values["archived_at"])
    upsert_newer(session, Client, {"client_id": client_id}, {**values, "updated_at": clock.now()}, event_time)


def client_changed(session: Session, event: DomainEvent) -> None:
    """crm.client.created.v1 / updated.v1 carry the whole card; assigned.v1 the name and new owner; archived.v1
    the name, owner and archived_at: each sets what it carries."""
    project_client(session, _id(event.data.get("client_id"), event.subject), event.data, event.time)


def project_campaign(session: Session, campaign_id: uuid.UUID, campaign: dict, event_time: datetime) -> None:
    """Upsert the known campaign (from an event, or the clients service's answer read through)."""
    upsert_newer(session, Campaign, {"campaign_id": campaign_id},
                 {"name": campaign.get("name"), "updated_at": clock.now()}, event_time)


def campaign_changed(session: Session, event: DomainEvent) -> None:
    """crm.campaign.created.v1 / updated.v1: a campaign a deal may name."""
    project_campaign(session, _id(event.data.get("campaign_id"), event.subject), event.data, event.time)


def activity_changed(session: Session, event: DomainEvent) -> None:
    """crm.activity.*.v1 carry the whole activity (keyed by its client: the activity id is in the payload). Its
    deal, type and status as of the event; an older event arriving late (a "planned" after its "completed")
    changes nothing, a duplicate writes the same values again."""
    data = event.data
    upsert_newer(session, DealActivity, {"activity_id": _id(data.get("activity_id"), None)},
                 {"deal_id": _uuid_or_none(data.get("deal_id")), "type": data.get("type"),
                  "status": data.get("status"), "updated_at": clock.now()}, event.time)


HANDLERS = {
    **{event_type: activity_changed for event_type in ACTIVITY_EVENTS},
    CAMPAIGN_CREATED: campaign_changed,
    CAMPAIGN_UPDATED: campaign_changed,
    CLIENT_CREATED: client_changed,
    CLIENT_UPDATED: client_changed,
    CLIENT_ASSIGNED: client_changed,
    CLIENT_ARCHIVED: client_changed,
    **user_handlers(User),
}
user_changed, user_deactivated = HANDLERS[USER_CREATED], HANDLERS[USER_DEACTIVATED]
