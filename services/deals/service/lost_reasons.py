"""Use cases of the lost-reason dictionary. There is no delete: a reason is deactivated instead, and the deals
lost for it keep it. Changes are not events (the deal events carry the reason's name)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, apply_changes, load
from glassbox.policy import require
from glassbox.web import sorted_page
from services.deals.models import LostReason
from services.deals.service.checks import ensure_unique_name, races, read
from services.deals.service.policy import EDITORS, READERS


def list_lost_reasons(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = select(LostReason)
    if args.get("is_active") is not None:
        stmt = stmt.where(LostReason.is_active == args["is_active"])
    with db.session() as session:
        return sorted_page(session, stmt, LostReason, args)


def get_lost_reason(db: Database, principal: Principal, reason_id: uuid.UUID) -> LostReason:
    return read(db, principal, LostReason, "lost reason", reason_id)


def create_lost_reason(db: Database, principal: Principal, data: dict) -> LostReason:
    require(principal, *EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow, races("lost reason"):
        ensure_unique_name(uow.session, LostReason, "lost reason", data["name"])
        reason = LostReason(id=uuid.uuid4(), name=data["name"], is_active=data.get("is_active", True),
                            created_at=now, updated_at=now)
        uow.session.add(reason)
        uow.commit()
        return reason


def update_lost_reason(db: Database, principal: Principal, reason_id: uuid.UUID, changes: dict) -> LostReason:
    """Rename or (de)activate; the deals lost for it keep it either way."""
    require(principal, *EDITORS)
    with db.unit_of_work() as uow, races("lost reason"):
        reason = load(uow.session, LostReason, "lost reason", reason_id, for_update=True)
        if "name" in changes:
            ensure_unique_name(uow.session, LostReason, "lost reason", changes["name"], exclude_id=reason.id)
        if apply_changes(reason, changes, clock.now()):
            uow.commit()
        return reason
