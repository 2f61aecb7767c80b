"""The code lists other records refer to by code: activity types (admins edit them) and promotion channels
(marketers edit them). Everyone reads them."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, unique_violations
from glassbox.errors import Conflict
from glassbox.policy import require
from glassbox.web import sorted_page
from services.clients import events
from services.clients.models import ActivityType, Channel
from services.clients.service.policy import ADMINS, MARKETERS, READERS
from services.clients.service.records import add_new, get_shared, load, record_changes, where_equal

# model -> (who edits it, its created event, its updated event)
CODE_LISTS = {
    ActivityType: (ADMINS, events.activity_type_created, events.activity_type_updated),
    Channel: (MARKETERS, events.channel_created, events.channel_updated),
}

# The unique constraints of the codes (a concurrent create of the same code slipped past the check).
_UNIQUE_CODES = ("uq_activity_types_code", "uq_channels_code")


def create_code_list_entry(db: Database, principal: Principal, model, data: dict):
    editors, created, _ = CODE_LISTS[model]
    require(principal, *editors)
    with db.unit_of_work() as uow, unique_violations(_taken_code):
        if uow.session.scalar(select(model.id).where(model.code == data["code"])) is not None:
            raise Conflict(f"the code {data['code']!r} is taken", {"code": ["already used"]})
        now = clock.now()
        entry = add_new(uow, model(id=uuid.uuid4(), is_active=data.pop("is_active", True), created_at=now,
                                   updated_at=now, **data), created, principal)
        uow.commit()
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
    with db.session() as session:
        return sorted_page(session, where_equal(select(model), model, args, ("is_active",)), model, args)


def _taken_code(constraint: str) -> Conflict | None:
    if constraint not in _UNIQUE_CODES:
        return None
    return Conflict("a code-list entry with this code already exists", {"code": ["already used"]})
