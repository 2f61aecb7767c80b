"""The conditions and expressions on deals and activities that several KPIs share, the outcome figures of a
group of deals (/kpi/summary, /kpi/managers, /kpi/segments) read from the deals themselves, and stage names.

Money is in the base currency (measures.py): a closed deal's amount at the rate valid on its closing day
(UTC), an open deal's at today's rate."""
from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from services.analytics.kpi.measures import Measures, aggregate, empty_row
from services.analytics.kpi.scope import (SECONDS_PER_DAY, Scope, days, deal_filters, ratio, sql_date, sql_time,
                                          utc_day)
from services.analytics.models import Activity, Deal, Stage


class DealConditions:
    """Conditions and expressions on a deal (joined with its current stage as `Stage`)."""

    @staticmethod
    def created_in(scope: Scope):
        return and_(Deal.created_at >= sql_time(scope.start), Deal.created_at < sql_time(scope.end))

    @staticmethod
    def closed_in(scope: Scope):
        return and_(Deal.closed_at >= sql_time(scope.start), Deal.closed_at < sql_time(scope.end))

    @staticmethod
    def won_in(scope: Scope):
        return and_(Deal.status == "won", DealConditions.closed_in(scope))

    @staticmethod
    def lost_in(scope: Scope):
        return and_(Deal.status == "lost", DealConditions.closed_in(scope))

    is_open = Deal.status == "open"

    @staticmethod
    def days_in_stage(scope: Scope):
        return func.extract("epoch", sql_time(scope.now) - Deal.stage_entered_at) / SECONDS_PER_DAY

    @staticmethod
    def stalled(scope: Scope):
        """Open, and in its current stage longer than the stage's SLA (a stage without one never stalls)."""
        return and_(DealConditions.is_open, Stage.sla_days.is_not(None), Deal.stage_entered_at.is_not(None),
                    func.extract("epoch", sql_time(scope.now) - Deal.stage_entered_at)
                    > Stage.sla_days * SECONDS_PER_DAY)

    @staticmethod
    def past_due(scope: Scope):
        return and_(DealConditions.is_open, Deal.expected_close_on < sql_date(scope.today))

    @staticmethod
    def overdue(scope: Scope):
        """Stalled or past due."""
        return or_(DealConditions.stalled(scope), DealConditions.past_due(scope))

    cycle_seconds = func.extract("epoch", Deal.closed_at - Deal.created_at)
    probability = func.coalesce(Stage.probability, Deal.stage_probability, 0)

    @staticmethod
    def rate_day(scope: Scope):
        """Closed deals convert at their closing day's rate, open ones at today's."""
        return case((Deal.closed_at.is_not(None), utc_day(Deal.closed_at)), else_=sql_date(scope.today))

    @staticmethod
    def relevant(scope: Scope):
        """The deals any of the outcomes can count: open now, created or closed in the period."""
        return or_(DealConditions.is_open, DealConditions.created_in(scope), DealConditions.closed_in(scope))


DEALS_WITH_STAGE = Deal.__table__.outerjoin(Stage.__table__, Stage.stage_id == Deal.stage_id)


def deal_aggregate(session: Session, scope: Scope, keys: dict, measures: Measures, where: list,
                   source=DEALS_WITH_STAGE, pipeline: bool = True) -> list[dict]:
    return aggregate(session, source, keys, Deal.currency, DealConditions.rate_day(scope), measures,
                     [*where, *deal_filters(scope, pipeline)], scope.base_currency)


def deal_outcomes(scope: Scope) -> Measures:
    """What /kpi/summary, /kpi/managers and /kpi/segments count for a group of deals."""
    deal = DealConditions
    won, lost = deal.won_in(scope), deal.lost_in(scope)
    return Measures(
        counts={"deals_created": deal.created_in(scope), "won": won, "lost": lost, "open_deals": deal.is_open,
                "stalled_deals": deal.stalled(scope), "past_due_deals": deal.past_due(scope),
                "overdue_deals": deal.overdue(scope)},
        sums={"cycle_seconds": (deal.cycle_seconds, won)},
        money={"revenue_won": (Deal.amount, won), "lost_amount": (Deal.amount, lost),
               "open_amount": (Deal.amount, deal.is_open),
               "forecast": (Deal.amount * deal.probability / 100, deal.is_open)},
    )


def outcome_figures(row: dict) -> dict:
    return {
        "deals_created": row["deals_created"], "won": row["won"], "lost": row["lost"],
        "win_rate": ratio(row["won"], row["won"] + row["lost"]), "revenue_won": row["revenue_won"],
        "lost_amount": row["lost_amount"], "avg_cycle_days": days(row["cycle_seconds"], row["won"]),
        "open_deals": row["open_deals"], "open_amount": row["open_amount"], "forecast": row["forecast"],
        "stalled_deals": row["stalled_deals"], "past_due_deals": row["past_due_deals"],
        "overdue_deals": row["overdue_deals"],
    }


def empty_outcome_figures(scope: Scope) -> dict:
    """The outcome figures of a group without deals."""
    return outcome_figures({**empty_row(deal_outcomes(scope), scope.base_currency), "cycle_seconds": None})


def activity_done_in(scope: Scope):
    return and_(Activity.status == "done", Activity.completed_at >= sql_time(scope.start),
                Activity.completed_at < sql_time(scope.end))


def activity_overdue(scope: Scope):
    return and_(Activity.status == "planned", Activity.due_at < sql_time(scope.now))


def stage_names(session: Session, stage_ids) -> dict:
    """The current name of each stage (from its pipeline, else from the latest deal snapshot)."""
    stage_ids = [stage_id for stage_id in stage_ids if stage_id is not None]
    if not stage_ids:
        return {}
    names = dict(session.execute(select(Stage.stage_id, Stage.name).where(Stage.stage_id.in_(stage_ids))).all())
    # Only a stage no pipeline event or snapshot put into `stages` is looked up in the deals (the latest snapshot
    # naming it): a stage's deals can be most of the table.
    unknown = [stage_id for stage_id in stage_ids if stage_id not in names]
    if unknown:
        names.update(session.execute(
            select(Deal.stage_id, Deal.stage_name).where(Deal.stage_id.in_(unknown)).ext(distinct_on(Deal.stage_id))
            .order_by(Deal.stage_id, Deal.last_event_time.desc())).all())
    return names
