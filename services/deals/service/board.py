"""The kanban board of a pipeline: per active stage, the open deals' count, amounts per currency, stalled
count and how many wait on a hand-off; won and lost totals of the deals closed since a day. A manager sees their
own deals only."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import and_, func, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, load, midnight
from glassbox.money import Money
from glassbox.policy import require
from services.deals.models import ACTIVE_HAND_OFF_STATES, Deal, HandOff, OpenDealTotal, Pipeline, Stage
from services.deals.service.deadlines import stalled_in
from services.deals.service.policy import READERS, VISIBILITY

BOARD_CLOSED_DAYS = 30  # the board's won/lost totals cover this many days unless told otherwise


def _money_list(sums: dict[str, object]) -> list[Money]:
    return [Money(amount, currency) for currency, amount in sorted(sums.items())]


def board(db: Database, principal: Principal, pipeline_id: uuid.UUID, args: dict) -> dict:
    """The counts and sums come from open_deal_totals (kept by the database per stage, owner and currency) in one
    grouped query, the stalled counts from the open deals' (stage, stage_entered_at) index in another, then the
    won/lost totals of the deals closed since `closed_from`."""
    require(principal, *READERS)
    now = clock.now()
    owners = [args["owner_id"]] if args.get("owner_id") else []
    if not VISIBILITY.sees_all(principal):
        owners.append(principal.id)
    closed_from = args.get("closed_from") or (now - timedelta(days=BOARD_CLOSED_DAYS)).date()
    with db.session() as session:
        pipeline = load(session, Pipeline, "pipeline", pipeline_id)
        on = and_(OpenDealTotal.stage_id == Stage.id, *(OpenDealTotal.owner_id == owner for owner in owners))
        rows = session.execute(
            select(Stage.id, OpenDealTotal.currency, func.coalesce(func.sum(OpenDealTotal.deals), 0),
                   func.sum(OpenDealTotal.amount))
            .select_from(Stage).outerjoin(OpenDealTotal, on)
            .where(Stage.pipeline_id == pipeline.id, Stage.is_active)
            .group_by(Stage.id, OpenDealTotal.currency)).all()
        # Once per stage, not per (stage, currency) row as a correlated subquery would.
        stalled = dict(session.execute(
            select(Deal.stage_id, func.count()).join(Stage, Stage.id == Deal.stage_id)
            .where(Stage.pipeline_id == pipeline.id, Stage.is_active, Deal.status == "open",
                   stalled_in(Stage, now), *(Deal.owner_id == owner for owner in owners))
            .group_by(Deal.stage_id)).all())
        waiting = dict(session.execute(
            select(HandOff.stage_id, func.count()).join(Deal, Deal.id == HandOff.deal_id)
            .where(Deal.pipeline_id == pipeline.id, Deal.status == "open", HandOff.state.in_(ACTIVE_HAND_OFF_STATES),
                   *(Deal.owner_id == owner for owner in owners))
            .group_by(HandOff.stage_id)).all())
        closed = session.execute(
            select(Deal.status, Deal.amount_currency, func.count(), func.sum(Deal.amount_amount))
            .where(Deal.pipeline_id == pipeline.id, Deal.closed_at >= midnight(closed_from),
                   *(Deal.owner_id == owner for owner in owners))
            .group_by(Deal.status, Deal.amount_currency)).all()
    columns = {stage.id: {"stage": stage, "count": 0, "sums": {}, "stalled": stalled.get(stage.id, 0)}
               for stage in pipeline.active_stages}
    for stage_id, currency, count, total in rows:
        column = columns[stage_id]
        if count:  # a (stage, owner, currency) whose deals have all moved on keeps a row of zeros
            column["count"] += count
            column["sums"][currency] = total
    totals = {status: {"count": 0, "sums": {}} for status in ("won", "lost")}
    for status, currency, count, total in closed:
        totals[status]["count"] += count
        totals[status]["sums"][currency] = total
    return {
        "pipeline_id": pipeline.id, "name": pipeline.name,
        "owner_id": args.get("owner_id") or (None if VISIBILITY.sees_all(principal) else principal.id),
        "columns": [{"stage": c["stage"], "count": c["count"], "amounts": _money_list(c["sums"]),
                     "stalled": c["stalled"], "hand_offs": waiting.get(stage_id, 0)}
                    for stage_id, c in columns.items()],
        "closed_from": closed_from,
        **{status: {"count": t["count"], "amounts": _money_list(t["sums"])} for status, t in totals.items()},
    }
