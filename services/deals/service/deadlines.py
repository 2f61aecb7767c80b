"""The rules that depend on the clock: an open deal is stalled once it stands in its stage longer than the
stage's sla_days, past due once its expected close day is before today (UTC). Each rule is written in SQL (the
filters, the board) and in Python (the deals returned), both against the same `now` from the service's clock."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Date, DateTime, and_, func, literal

from services.deals.models import Deal, Stage


def at(now: datetime):
    """`now` as a bind parameter: the database and Python agree on the time."""
    return literal(now, DateTime(timezone=True))


def stalled_in(stage, now: datetime):
    """SQL: an open deal (Deal) of `stage` stands there longer than the stage's sla_days (strictly)."""
    return and_(stage.sla_days.is_not(None),
                Deal.stage_entered_at < at(now) - func.make_interval(0, 0, 0, stage.sla_days))


def stalled_clause(now: datetime):
    """SQL: the deal is open and longer in its stage than the stage's sla_days (stalled_after, kept with both).
    Never NULL, so NOT works too."""
    return and_(Deal.status == "open", Deal.stalled_after.is_not(None), Deal.stalled_after < at(now))


def stalls_after(entered_at: datetime, stage: Stage) -> datetime | None:
    return None if stage.sla_days is None else entered_at + timedelta(days=stage.sla_days)


def past_due_clause(now: datetime):
    """SQL: the deal is open and its expected_close_on is before today (UTC). Never NULL."""
    return and_(Deal.status == "open", Deal.expected_close_on.is_not(None),
                Deal.expected_close_on < literal(now.date(), Date))


def mark(deal: Deal, now: datetime) -> Deal:
    """The same two rules for a deal being returned (the filters above decide in SQL with the same `now`)."""
    deal.stalled = deal.status == "open" and deal.stalled_after is not None and deal.stalled_after < now
    deal.past_due = (deal.status == "open" and deal.expected_close_on is not None
                     and deal.expected_close_on < now.date())
    return deal
