"""The code lists other records refer to by code: activity types (admins edit them) and promotion channels
(marketers edit them). Everyone reads them."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict
from glassbox.events import utcnow
from services.clients import events
from services.clients.models import ActivityType, Channel
from services.clients.service.policy import ADMINS, MARKETERS, READERS
from services.clients.service.records import (add_new, commit_unique, get_shared, load, record_changes, require,
                                              sorted_page, where_equal)

# model -> (who edits it, its created event, its updated event)
CODE_LISTS = {
    ActivityType: (ADMINS, events.activity_type_created, events.activity_type_updated),
    Channel: (MARKETERS, events.channel_created, events.channel_updated),
}


def create_code_list_entry(db: Database, principal: Principal, model, data: dict):
    editors, created, _ = CODE_LISTS[model]
    require(principal, *editors)
    with db.unit_of_work() as uow:
        if uow.session.scalar(select(model.id).where(model.code == data["code"])) is not None:
            raise Conflict(f"the code {data['code']!r} is taken", {"code": ["already used"]})
        now = utcnow()
        entry = add_new(uow, model(id=uuid.uuid4(), is_active=data.pop("is_active", True), created_at=now,
                                   updated_at=now, **data), created, principal)
        commit_unique(uow, "code-list entry", ("code",))
        return entry


def get_code_list_entry(db: Database, principal: Principal, model, entry_id: uuid.UUID):
    return get_shared(db, principal, READERS, model, entry_id)


def update_code_list_entry(db: Database, principal: Principal, model, entry_id: uuid.UUID, changes: dict):
    editors, _, updated = CODE_LISTS[model]
    require(principal, *editors)
    with db.unit_of_work() as uow:
        entry = load(uow.session, model, entry_id, for_update=True)
        if record_changes(uow, entry, changes, updated, principal):
            uow.commit()
        return entry


def list_code_list_entries(db: Database, principal: Principal, model, args: dict) -> dict:
    require(principal, *READERS)
    return sorted_page(db, where_equal(select(model), model, args, ("is_active",)), model, args)
