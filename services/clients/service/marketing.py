"""Marketing campaigns on a promotion channel, with their period and cost (the channels themselves are a code
list: service/code_lists.py)."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Invalid
from glassbox.policy import require
from glassbox.web import sorted_page
from services.clients import events
from services.clients.models import Campaign, Channel
from services.clients.service.policy import MARKETERS, READERS
from services.clients.service.records import (add_new, ensure_active_code, get_shared, load, new_values, record_changes,
                                              where_equal)


def create_campaign(db: Database, principal: Principal, data: dict) -> Campaign:
    require(principal, *MARKETERS)
    _check_period(data["starts_on"], data["ends_on"])
    with db.unit_of_work() as uow:
        ensure_active_code(uow.session, Channel, "channel", data["channel"])
        now = clock.now()
        # Only the demo seed chooses the id; the API schemas have no `id` field.
        campaign = add_new(uow, Campaign(id=data.pop("id", None) or uuid.uuid4(), created_at=now, updated_at=now,
                                         **data), events.campaign_created, principal)
        uow.commit()
        return campaign


def get_campaign(db: Database, principal: Principal, campaign_id: uuid.UUID) -> Campaign:
    return get_shared(db, principal, READERS, Campaign, campaign_id)


def update_campaign(db: Database, principal: Principal, campaign_id: uuid.UUID, changes: dict) -> Campaign:
    require(principal, *MARKETERS)
    with db.unit_of_work() as uow:
        campaign = load(uow.session, Campaign, campaign_id, for_update=True)
        _check_period(changes.get("starts_on", campaign.starts_on), changes.get("ends_on", campaign.ends_on))
        if "channel" in new_values(campaign, changes, ("channel",)):
            ensure_active_code(uow.session, Channel, "channel", changes["channel"])
        if record_changes(uow, campaign, changes, events.campaign_updated, principal, reload=True):
            uow.commit()
        return campaign


def list_campaigns(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = where_equal(select(Campaign), Campaign, args, ("channel",))
    if args.get("active_on"):
        stmt = stmt.where(Campaign.starts_on <= args["active_on"], Campaign.ends_on >= args["active_on"])
    with db.session() as session:
        return sorted_page(session, stmt, Campaign, args)


def _check_period(starts_on: date, ends_on: date) -> None:
    if ends_on < starts_on:
        raise Invalid("a campaign cannot end before it starts", {"json": {"ends_on": ["before starts_on"]}})
