"""What /kpi/plans and /kpi/commissions share: the plans of a period, the managers' actuals in it and over the
trailing 90 days, read from totals and covering indexes rather than the deals (docs/kpi.md, "Plans and
commissions").

- revenue won, deals won (and lost): closed_deals_by_owner_day, the deals' totals per owner, UTC day and currency
  (kept by triggers): a period is a few thousand rows whatever the number of deals;
- revenue paid: the payment allocations by paid_on (covering index), not reversed, whose invoice the manager owns;
- activities done: by assignee and type, completed in the period (the rule of /kpi/activities).
Money converts at the rate of its day (closing day, paid_on), as every KPI does."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import within
from services.analytics.kpi.conditions import activity_done_in
from services.analytics.kpi.measures import Measures, aggregate, money
from services.analytics.models import (Activity, ClosedDealsByOwnerDay, Invoice, PaymentAllocation, SalesPlan,
                                       User)
from services.analytics.kpi.scope import Scope

TRAILING_DAYS = 90
PERCENT_PLACES = Decimal("0.01")


@dataclass
class Actuals:
    """One manager's (or a team's) figures of a period."""
    revenue_won: dict
    revenue_paid: dict
    deals_won: int = 0
    activities: dict = field(default_factory=dict)  # type -> done


@dataclass
class Trailing:
    """The trailing window's deals won and lost and the revenue won (base currency)."""
    won: int = 0
    lost: int = 0
    revenue_won: Decimal = Decimal(0)


def percent(actual, target) -> Decimal | None:
    """actual / target x 100, rounded half-up to 0.01; null without a target (or a target of 0)."""
    if target is None or not Decimal(target):
        return None
    return (Decimal(actual) * 100 / Decimal(target)).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def trailing_window(scope: Scope) -> tuple[date, date]:
    """The 90 days ending on the period's last day, or today if the period has not ended."""
    last = min(scope.today, scope.date_to)
    return last - timedelta(days=TRAILING_DAYS - 1), last


def plans_of_period(session: Session, scope: Scope) -> list[SalesPlan]:
    """The live plans whose period is exactly the question's (a month's plans for a month, a quarter's for a
    quarter)."""
    return list(session.scalars(select(SalesPlan).where(
        SalesPlan.deleted_at.is_(None), SalesPlan.period_start == scope.date_from,
        SalesPlan.period_end == scope.date_to)))


def activity_targets(plan: SalesPlan) -> dict:
    return json.loads(plan.activities) if plan.activities else {}


def team_members(session: Session, team_ids) -> dict:
    """{team: [its managers and heads of sales now]} (the identity projection's current teams)."""
    members: dict = {uuid.UUID(str(team_id)): [] for team_id in team_ids}
    if not members:
        return {}
    for user_id, team_id in session.execute(
            select(User.user_id, User.team_id).where(User.team_id.in_(list(members)),
                                                    User.role.in_(("manager", "head_of_sales")))
            .order_by(User.user_id)):
        members[team_id].append(user_id)
    return members


def _closed(session: Session, scope: Scope, owners: list, with_trailing: bool) -> list[dict]:
    """Per owner: deals won (`won`) and revenue won in the period and, with_trailing, deals won and lost and revenue
    won over the trailing window (`won_t`, `lost_t`, `revenue_t`): one scan of the totals over both."""
    totals = ClosedDealsByOwnerDay
    day, won = totals.closed_on, totals.won > 0
    in_period = and_(day >= scope.date_from, day <= scope.date_to)
    first, last = scope.date_from, scope.date_to
    measures = Measures(sums={"won": (totals.won, in_period)}, money={"revenue_won": (totals.won_amount,
                                                                                      and_(won, in_period))})
    if with_trailing:
        window_first, window_last = trailing_window(scope)
        in_window = and_(day >= window_first, day <= window_last)
        first, last = min(first, window_first), max(last, window_last)
        measures.sums.update({"won_t": (totals.won, in_window), "lost_t": (totals.lost, in_window)})
        measures.money["revenue_t"] = (totals.won_amount, and_(won, in_window))
    return aggregate(session, totals.__table__, {"owner_id": totals.owner_id}, totals.currency, day, measures,
                     [day >= first, day <= last, totals.owner_id.in_(owners)], scope.base_currency, weight=totals.won)


def _paid(session: Session, scope: Scope, owners: list) -> list[dict]:
    source = (select(Invoice.owner_id, PaymentAllocation.paid_on, Invoice.currency, PaymentAllocation.amount)
              .select_from(PaymentAllocation.__table__.join(Invoice.__table__,
                                                            Invoice.invoice_id == PaymentAllocation.invoice_id))
              .where(within(PaymentAllocation.paid_on, scope), PaymentAllocation.reversed.is_(False),
                     Invoice.owner_id.in_(owners)).subquery("paid"))
    rows = source.c
    return aggregate(session, source, {"owner_id": rows.owner_id}, rows.currency, rows.paid_on,
                     Measures(money={"revenue_paid": (rows.amount, true())}), [], scope.base_currency,
                     unit="payments")


def actuals(session: Session, scope: Scope, owners, with_trailing: bool = False
            ) -> tuple[dict[uuid.UUID, Actuals], dict[uuid.UUID, Trailing]]:
    """({owner: Actuals} of the period, {owner: Trailing} over trailing_window(scope) when asked) for each of
    `owners` (those with nothing have zeros)."""
    owners = sorted(set(owners), key=str)
    base = scope.base_currency
    found = {owner: Actuals(money(None, base), money(None, base, None, "payments")) for owner in owners}
    past = {owner: Trailing() for owner in owners}
    if not owners:
        return found, past
    for row in _closed(session, scope, owners, with_trailing):
        owner = row["owner_id"]
        found[owner].revenue_won, found[owner].deals_won = row["revenue_won"], int(row["won"] or 0)
        if with_trailing:
            past[owner] = Trailing(int(row["won_t"] or 0), int(row["lost_t"] or 0), row["revenue_t"]["amount"])
    for row in _paid(session, scope, owners):
        found[row["owner_id"]].revenue_paid = row["revenue_paid"]
    for assignee, kind, done in session.execute(
            select(Activity.assignee_id, Activity.type, func.count())
            .where(activity_done_in(scope), Activity.assignee_id.in_(owners)).group_by(Activity.assignee_id,
                                                                                       Activity.type)):
        found[assignee].activities[kind] = done
    return found, past
