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

from sqlalchemy import ARRAY, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import within
from services.analytics.kpi.conditions import activity_done_in
from services.analytics.kpi.measures import Measures, aggregate, money
from services.analytics.models import Activity, Invoice, PaymentAllocation, SalesPlan, User
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


def among(column, owners: list):
    """`column = ANY(<one array parameter>)`: the same statement (and plan) whatever the number of owners."""
    return column == func.any(bindparam("owners", owners, type_=ARRAY(PG_UUID(as_uuid=True))))


# One pass over the deals' daily totals for the period and the trailing window. Money converts as measures.aggregate
# does (the latest rate valid on the closing day; the base currency as it is; without a rate: left out and listed),
# with each (currency, day) rate looked up once and joined by hash. The daily rows are first added up per owner,
# currency, side of the window and rate (a few rates a month), so the money is multiplied per such group, not per
# day: the same exact sums (multiplication distributes over addition), a fraction of the numeric work.
_CLOSED_SQL = """
WITH rates AS MATERIALIZED (
    SELECT c.currency, d::date AS day,
           (SELECT f.rate_to_base FROM fx_rates f WHERE f.currency = c.currency AND f.valid_from <= d::date
            ORDER BY f.valid_from DESC LIMIT 1) AS rate
    FROM (SELECT DISTINCT currency FROM fx_rates WHERE currency <> %(base)s) c,
         generate_series(%(first)s::date, %(last)s::date, interval '1 day') d),
parts AS (
    SELECT t.owner_id, t.currency,
           t.closed_on BETWEEN %(p_first)s AND %(p_last)s AS in_p,
           t.closed_on BETWEEN %(t_first)s AND %(t_last)s AS in_t,
           CASE WHEN t.currency = %(base)s THEN 1 ELSE r.rate END AS rate,
           sum(t.won) AS won, sum(t.lost) AS lost, sum(t.won_amount) AS won_amount
    FROM closed_deals_by_owner_day t LEFT JOIN rates r ON r.currency = t.currency AND r.day = t.closed_on
    WHERE t.closed_on BETWEEN %(first)s AND %(last)s AND t.owner_id = ANY(%(owners)s)
    GROUP BY 1, 2, 3, 4, 5)
SELECT owner_id, currency,
       sum(won) FILTER (WHERE in_p), sum(won) FILTER (WHERE in_t), sum(lost) FILTER (WHERE in_t),
       sum(won_amount * rate) FILTER (WHERE in_p), sum(won_amount * rate) FILTER (WHERE in_t),
       sum(won_amount) FILTER (WHERE in_p AND rate IS NULL AND won > 0),
       sum(won) FILTER (WHERE in_p AND rate IS NULL), sum(won_amount) FILTER (WHERE in_t AND rate IS NULL AND won > 0),
       sum(won) FILTER (WHERE in_t AND rate IS NULL)
FROM parts GROUP BY owner_id, currency"""


def _closed(session: Session, scope: Scope, owners: list, with_trailing: bool) -> list[dict]:
    """Per owner: deals won (`won`) and revenue won in the period and, with_trailing, deals won and lost and revenue
    won over the trailing window (`won_t`, `lost_t`, `revenue_t`)."""
    window = trailing_window(scope) if with_trailing else (scope.date_from, scope.date_to)
    params = {"base": scope.base_currency, "p_first": scope.date_from, "p_last": scope.date_to,
              "t_first": window[0], "t_last": window[1], "first": min(scope.date_from, window[0]),
              "last": max(scope.date_to, window[1]), "owners": owners}
    found: dict = {}
    for owner, currency, *figures in session.connection().exec_driver_sql(_CLOSED_SQL, params):
        row = found.setdefault(owner, {"won": 0, "won_t": 0, "lost_t": 0, "revenue_won": [Decimal(0), []],
                                       "revenue_t": [Decimal(0), []]})
        won, won_t, lost_t, converted, converted_t, missing, missing_n, missing_t, missing_t_n = figures
        row["won"] += int(won or 0)
        row["won_t"] += int(won_t or 0)
        row["lost_t"] += int(lost_t or 0)
        for name, amount, left_out, count in (("revenue_won", converted, missing, missing_n),
                                              ("revenue_t", converted_t, missing_t, missing_t_n)):
            row[name][0] += amount or 0
            if count:
                row[name][1].append({"currency": currency, "amount": left_out or 0, "deals": int(count)})
    base = scope.base_currency
    return [{"owner_id": owner, "won": row["won"], "won_t": row["won_t"], "lost_t": row["lost_t"],
             **{name: money(row[name][0], base, row[name][1]) for name in ("revenue_won", "revenue_t")}}
            for owner, row in found.items()]


def _paid(session: Session, scope: Scope, owners: list) -> list[dict]:
    source = (select(Invoice.owner_id, PaymentAllocation.paid_on, Invoice.currency, PaymentAllocation.amount)
              .select_from(PaymentAllocation.__table__.join(Invoice.__table__,
                                                            Invoice.invoice_id == PaymentAllocation.invoice_id))
              .where(within(PaymentAllocation.paid_on, scope), PaymentAllocation.reversed.is_(False),
                     among(Invoice.owner_id, owners)).subquery("paid"))
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
            .where(activity_done_in(scope), among(Activity.assignee_id, owners)).group_by(Activity.assignee_id,
                                                                                       Activity.type)):
        found[assignee].activities[kind] = done
    return found, past
