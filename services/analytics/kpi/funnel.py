"""/kpi/funnel, each manager's weakest stage of it (/kpi/managers) and /kpi/deal-cycle: how deals move
through the stages of a pipeline."""
from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import Integer, String, case, cast, func, literal, select, union_all
from sqlalchemy.orm import Session

from services.analytics.kpi import owner_figures
from services.analytics.kpi.conditions import DealConditions, stage_names
from services.analytics.kpi.measures import money
from services.analytics.kpi.scope import Scope, days, deal_filters, ratio, sql_time
from services.analytics.kpi.totals import open_by_stage
from services.analytics.models import Deal, Pipeline, Stage, StageEntry

WON_STEP = 2_147_483_647  # a won deal has passed every stage of its pipeline


def default_pipeline(session: Session, pipeline_id: uuid.UUID | None) -> Pipeline | None:
    if pipeline_id:
        return session.get(Pipeline, pipeline_id)
    return session.scalar(select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.created_at,
                                                    Pipeline.pipeline_id).limit(1))


def _active_stages(session: Session, pipeline_id: uuid.UUID) -> list[Stage]:
    return list(session.scalars(select(Stage).where(Stage.pipeline_id == pipeline_id, Stage.is_active)
                                .order_by(Stage.position, Stage.stage_id)))


def _entered(session: Session, scope: Scope, pipeline_id: uuid.UUID, by_owner: bool,
             with_manager: bool = True) -> dict:
    """{(owner or None, stage_id or "won"): deals created in the period that reached the stage or a later
    one}. A deal reached the furthest position among the stages it ever entered and its current one; a won
    deal has passed them all."""
    scope_filters = deal_filters(scope if with_manager else replace(scope, manager_id=None), pipeline=False)
    current = Stage.__table__.alias("current_stage")
    entered_stage = Stage.__table__.alias("entered_stage")
    furthest_entry = (select(func.max(func.coalesce(entered_stage.c.position, StageEntry.stage_position)))
                      .select_from(StageEntry.__table__.outerjoin(
                          entered_stage, entered_stage.c.stage_id == StageEntry.stage_id))
                      .where(StageEntry.deal_id == Deal.deal_id).scalar_subquery())
    reached = case((Deal.status == "won", literal(WON_STEP, Integer)),
                   else_=func.greatest(func.coalesce(current.c.position, Deal.stage_position, -1),
                                       func.coalesce(furthest_entry, -1)))
    owner = Deal.owner_id if by_owner else literal(None, String)
    deals = (select(owner.label("owner"), reached.label("reached"), Deal.status.label("status"))
             .select_from(Deal.__table__.outerjoin(current, current.c.stage_id == Deal.stage_id))
             .where(Deal.pipeline_id == pipeline_id, DealConditions.created_in(scope), *scope_filters)
             .subquery("deals"))
    # One pass over the deals: the histogram is a CTE both halves read (PostgreSQL computes it once).
    histogram = (select(deals.c.owner, deals.c.reached, func.count().label("n"),
                        func.count().filter(deals.c.status == "won").label("won"))
                 .group_by(deals.c.owner, deals.c.reached).cte("histogram"))
    stages = select(Stage.stage_id, Stage.position).where(Stage.pipeline_id == pipeline_id, Stage.is_active).subquery()
    per_stage = (select(histogram.c.owner, cast(stages.c.stage_id, String).label("step"), func.sum(histogram.c.n))
                 .select_from(histogram.join(stages, histogram.c.reached >= stages.c.position))
                 .group_by(histogram.c.owner, stages.c.stage_id))
    won = select(histogram.c.owner, literal("won", String), func.sum(histogram.c.won)).group_by(histogram.c.owner)
    return {(owner, step if step == "won" else uuid.UUID(step)): int(count)
            for owner, step, count in session.execute(union_all(per_stage, won))}


def _steps(stages: list[Stage], entered: dict, owner) -> list[int]:
    """entered of each stage in order, then won."""
    return [entered.get((owner, stage.stage_id), 0) for stage in stages] + [entered.get((owner, "won"), 0)]


def _conversions(stages: list[Stage], entered: dict, owner) -> list[Decimal | None]:
    """conversion_to_next of each stage in order; the last one converts to won."""
    return _ratios(_steps(stages, entered, owner))


def _ratios(steps: list[int]) -> list[Decimal | None]:
    return [ratio(steps[i + 1], steps[i]) for i in range(len(steps) - 1)]


def _steps_by_owner(stages: list[Stage], entered: dict) -> dict:
    """{owner: entered of each stage in order, then won} in one pass over `entered`."""
    index = {stage.stage_id: i for i, stage in enumerate(stages)}
    index["won"] = len(stages)
    by_owner: dict = {}
    for (owner, step), count in entered.items():
        steps = by_owner.get(owner)
        if steps is None:
            steps = by_owner[owner] = [0] * (len(stages) + 1)
        if step in index:
            steps[index[step]] += count
    return by_owner


def _weakest_index(own: list[int], team: list[int]) -> int | None:
    """The stage whose own conversion relative to the team's, (own[i+1] / own[i]) / (team[i+1] / team[i]), is
    lowest (on a tie the earlier one), among those the owner entered and the team converted from; compared exactly
    as integer cross products (every count is >= 0, every denominator here > 0)."""
    best = None
    for i in range(len(own) - 1):
        if own[i] and team[i] and team[i + 1]:
            numerator, denominator = own[i + 1] * team[i], own[i] * team[i + 1]
            if best is None or numerator * best[1] < best[0] * denominator:
                best = (numerator, denominator, i)
    return None if best is None else best[2]


def funnel(session: Session, scope: Scope) -> dict:
    """Per active stage of the pipeline in order: deals created in the period that reached it, the open deals
    in it now, and the conversion to the next stage."""
    pipeline = default_pipeline(session, scope.pipeline_id)
    if pipeline is None:
        return {"period": scope.period(), "base_currency": scope.base_currency, "pipeline": None, "stages": [],
                "won": {"entered": 0}}
    stages = _active_stages(session, pipeline.pipeline_id)
    entered = _entered(session, scope, pipeline.pipeline_id, by_owner=False)
    conversions = _conversions(stages, entered, None)
    current = {row["stage_id"]: row for row in open_by_stage(
        session, scope, ("stage_id",), [lambda deals: deals.pipeline_id == pipeline.pipeline_id], pipeline=False)}
    empty = {"deals": 0, "amount": money(None, scope.base_currency)}
    return {
        "period": scope.period(), "base_currency": scope.base_currency,
        "pipeline": {"pipeline_id": pipeline.pipeline_id, "name": pipeline.name},
        "stages": [{"stage_id": stage.stage_id, "name": stage.name, "position": stage.position,
                    "probability": stage.probability, "sla_days": stage.sla_days,
                    "entered": entered.get((None, stage.stage_id), 0),
                    "current": {key: current.get(stage.stage_id, empty)[key] for key in ("deals", "amount")},
                    "conversion_to_next": conversion}
                   for stage, conversion in zip(stages, conversions)],
        "won": {"entered": entered.get((None, "won"), 0)},
    }


def weakest_stages(session: Session, scope: Scope) -> dict:
    """{owner: {stage, conversion, team_conversion} | None}: for each manager, the stage of the funnel
    pipeline whose conversion_to_next is lowest relative to the team's (all deals matching the filters but
    the manager); a stage counts only if the manager had deals entering it and the team converted some."""
    pipeline = default_pipeline(session, scope.pipeline_id)
    if pipeline is None:
        return {}
    pipeline_id, stages = pipeline.pipeline_id, _active_stages(session, pipeline.pipeline_id)
    mine = owner_figures.entered_by_owner(session, scope, pipeline_id)
    if mine is None:
        mine = _entered(session, scope, pipeline_id, by_owner=True, with_manager=False)
    # One pass: per owner over the team's deals; the team's figures are their sums, a manager's their row.
    steps_of = _steps_by_owner(stages, mine)
    team = [sum(counts) for counts in zip(*steps_of.values())] or [0] * (len(stages) + 1)
    team_shown = _ratios(team)
    weakest = {}
    for owner in steps_of if scope.manager_id is None else steps_of.keys() & {scope.manager_id}:
        own = steps_of[owner]
        index = _weakest_index(own, team)
        if index is not None:
            weakest[owner] = {"stage_id": stages[index].stage_id, "name": stages[index].name,
                              "pipeline_id": pipeline_id, "conversion": ratio(own[index + 1], own[index]),
                              "team_conversion": team_shown[index]}
    return weakest


def deal_cycle(session: Session, scope: Scope) -> dict:
    """How long the deals won in the period took, and the stays in each stage left in the period."""
    seconds = DealConditions.cycle_seconds
    count, total, low, high, lower_middle, upper_middle = session.execute(
        select(func.count(), func.sum(seconds), func.min(seconds), func.max(seconds),
               func.percentile_disc(0.5).within_group(seconds.asc()),
               func.percentile_disc(0.5).within_group(seconds.desc()))
        .where(DealConditions.won_in(scope), *deal_filters(scope))).one()
    stay = func.extract("epoch", StageEntry.left_at - StageEntry.entered_at)
    filters = deal_filters(scope)
    # Every stay is written with its deal, so without a deal filter the join to deals would only cost.
    source = (StageEntry.__table__.join(Deal.__table__, Deal.deal_id == StageEntry.deal_id) if filters
              else StageEntry.__table__)
    by_stage = session.execute(
        select(StageEntry.stage_id, func.count(), func.sum(stay)).select_from(source)
        .where(StageEntry.left_at >= sql_time(scope.start), StageEntry.left_at < sql_time(scope.end), *filters)
        .group_by(StageEntry.stage_id)).all()
    stages = {stage.stage_id: stage for stage in session.scalars(
        select(Stage).where(Stage.stage_id.in_([row[0] for row in by_stage])))}
    names = stage_names(session, [row[0] for row in by_stage])
    median = None if count == 0 else (Decimal(lower_middle) + Decimal(upper_middle)) / 2
    return {
        "period": scope.period(), "won_deals": count, "avg_days": days(total, count), "median_days": days(median),
        "min_days": days(low), "max_days": days(high),
        "stages": sorted(({"stage_id": stage_id, "name": names.get(stage_id),
                           "pipeline_id": stages[stage_id].pipeline_id if stage_id in stages else None,
                           "position": stages[stage_id].position if stage_id in stages else None,
                           "stays": stays, "avg_days": days(total_stay, stays)}
                          for stage_id, stays, total_stay in by_stage),
                         key=lambda stage: (str(stage["pipeline_id"]),
                                            stage["position"] if stage["position"] is not None else 1 << 30,
                                            str(stage["stage_id"]))),
    }

