"""A deal's history: every stay in a stage, oldest first, with the days it lasted (so far); on request also its
field-level changes, as glassbox.audit recorded them with each change."""
from __future__ import annotations

import uuid

from sqlalchemy import func, select

from glassbox import audit, clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from services.deals.models import AuditRecord, Stage, StageEntry
from services.deals.service.deadlines import at
from services.deals.service.deals import load_deal
from services.deals.service.policy import READERS


def deal_history(db: Database, principal: Principal, deal_id: uuid.UUID, args: dict | None = None) -> dict:
    """days = (left_at, or now) - entered_at, 2 decimals, computed by the database against the service's clock."""
    require(principal, *READERS)
    now = clock.now()
    days = func.round(func.extract("epoch", func.coalesce(StageEntry.left_at, at(now)) - StageEntry.entered_at)
                      / 86400, 2)
    with db.session() as session:
        deal = load_deal(session, principal, deal_id)
        rows = session.execute(
            select(StageEntry.stage_id, Stage.name, Stage.position, StageEntry.entered_at, StageEntry.left_at, days)
            .join(Stage, Stage.id == StageEntry.stage_id).where(StageEntry.deal_id == deal.id)
            .order_by(StageEntry.entered_at, StageEntry.id)).all()
        answer = {"deal_id": deal.id, "items": [
            {"stage_id": stage_id, "stage_name": name, "stage_position": position, "entered_at": entered_at,
             "left_at": left_at, "days": float(days)}
            for stage_id, name, position, entered_at, left_at, days in rows]}
        if args and args.get("changes"):
            answer["changes"] = audit.history_page(session, AuditRecord, deal.id, args)
    return answer
