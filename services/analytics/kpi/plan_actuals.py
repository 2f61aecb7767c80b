"""What /kpi/plans and /kpi/commissions share: the plans of a period, and the managers' actuals in it and over the
trailing 90 days, read in one statement from totals and covering indexes rather than the deals (docs/kpi.md, "Plans
and commissions").

- revenue won, deals won (and lost): the deals' totals per owner, currency and calendar month of closing
  (closed_deals_by_owner_month) for the months a range covers whole (or all but a few days, which are taken away),
  and per UTC day (closed_deals_by_owner_day) for the other days; a month in which a currency's rate changes is read
  by the day for that currency, so every amount still converts at its closing day's rate;
- revenue paid: the payment allocations by paid_on (covering index), not reversed, whose invoice the manager owns;
- activities done: by assignee and type, completed in the period (the rule of /kpi/activities);
- with bonus minimums (/kpi/commissions): the deals won in the period at least the owner's minimum in the base
  currency, from the covering index of closed deals.
Money converts at the rate of its day (closing day, paid_on), as every KPI does."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from sqlalchemy.orm import Session

from services.analytics.kpi.measures import money
from services.analytics.kpi.scope import Scope, month_end

TRAILING_DAYS = 90
PERCENT_PLACES = Decimal("0.01")
ONE_DAY = timedelta(days=1)


@dataclass
class Trailing:
    """The trailing window's deals won and lost and the revenue won (base currency)."""
    won: int = 0
    lost: int = 0
    revenue_won: Decimal = Decimal(0)


@dataclass
class Actuals:
    """One manager's (or a team's) figures of a period, and who they are."""
    revenue_won: dict
    revenue_paid: dict
    deals_won: int = 0
    activities: dict = field(default_factory=dict)  # type -> done
    trailing: Trailing = field(default_factory=Trailing)
    bonus_deals: int = 0
    name: str | None = None
    team_id: uuid.UUID | None = None


def percent(actual, target) -> Decimal | None:
    """actual / target x 100, rounded half-up to 0.01; null without a target (or a target of 0)."""
    if target is None or not Decimal(target):
        return None
    return (Decimal(actual) * 100 / Decimal(target)).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


def trailing_window(scope: Scope) -> tuple[date, date]:
    """The 90 days ending on the period's last day, or today if the period has not ended."""
    last = min(scope.today, scope.date_to)
    return last - timedelta(days=TRAILING_DAYS - 1), last


# a team plan comes with its team's members now (as team_members() lists them)
_PLANS_SQL = """
SELECT plan_id, manager_id, team_id, mode, revenue_won_amount, revenue_won_currency, revenue_paid_amount,
       revenue_paid_currency, deals_won, activities,
       CASE WHEN manager_id IS NULL AND team_id IS NOT NULL THEN
           ARRAY(SELECT u.user_id FROM users u WHERE u.team_id = p.team_id AND u.role IN ('manager', 'head_of_sales')
                 ORDER BY u.user_id) END
FROM sales_plans p WHERE deleted_at IS NULL AND period_start = %(first)s AND period_end = %(last)s"""


@dataclass
class Plan:
    plan_id: uuid.UUID
    manager_id: uuid.UUID | None
    team_id: uuid.UUID | None
    mode: str | None
    revenue_won_amount: Decimal | None
    revenue_won_currency: str | None
    revenue_paid_amount: Decimal | None
    revenue_paid_currency: str | None
    deals_won: int | None
    activities: dict  # type -> target
    members: list | None  # a team plan's: the team's managers and heads of sales now


def plans_of_period(session: Session, scope: Scope) -> list[Plan]:
    """The live plans whose period is exactly the question's (a month's plans for a month, a quarter's for a
    quarter)."""
    parsed: dict = {None: {}, "": {}}  # plans often set the same activity targets: each text parsed once
    plans = []
    for *row, activities, members in session.connection().exec_driver_sql(
            _PLANS_SQL, {"first": scope.date_from, "last": scope.date_to}).all():
        if activities not in parsed:
            parsed[activities] = json.loads(activities)
        plans.append(Plan(*row, parsed[activities], members))
    return plans


def activity_targets(plan: Plan) -> dict:
    """The plan's targets per activity type (not to be changed: plans may share it)."""
    return plan.activities


_MEMBERS_SQL = """
SELECT user_id, team_id FROM users WHERE team_id = ANY(%(teams)s) AND role IN ('manager', 'head_of_sales')
ORDER BY user_id"""


def team_members(session: Session, team_ids) -> dict:
    """{team: [its managers and heads of sales now]} (the identity projection's current teams)."""
    members: dict = {uuid.UUID(str(team_id)): [] for team_id in team_ids}
    if not members:
        return {}
    for user_id, team_id in session.connection().exec_driver_sql(_MEMBERS_SQL, {"teams": list(members)}).all():
        members[team_id].append(user_id)
    return members


def team_of(session: Session, user_id: uuid.UUID) -> uuid.UUID | None:
    return session.connection().exec_driver_sql("SELECT team_id FROM users WHERE user_id = %(user)s",
                                                {"user": user_id}).scalar()


def _pieces(side: str, first: date, last: date, months: list, ranges: list) -> None:
    """Adds what [first, last] sums up to: per calendar month it touches, the month's total when it lies inside, or
    all but a few days of it (those then taken away, each range with sign -1); otherwise the days themselves (a range
    with sign +1). A month total carries its own days too, read instead when a rate changes within the month."""
    month = first.replace(day=1)
    while month <= last:
        end = month_end(month)
        lo, hi = max(first, month), min(last, end)
        inside, length = (hi - lo).days + 1, (end - month).days + 1
        if inside == length:
            months.append((side, month, lo, hi))
        elif inside <= length - inside:
            ranges.append((side, lo, hi, 1, None))
        else:
            months.append((side, month, lo, hi))
            if lo > month:
                ranges.append((side, month, lo - ONE_DAY, -1, month))
            if hi < end:
                ranges.append((side, hi + ONE_DAY, end, -1, month))
        month = end + ONE_DAY


# The parts of the one statement of actuals(); %(...)s are bound parameters. The rate of each (currency, day) of the
# span is looked up once and joined by hash (the latest rate valid on the day; the base currency as it is; without a
# rate: left out and listed). A month total converts at its first day's rate: only months whose rate holds the whole
# month (no rate of the currency starts on its 2nd day or later) are read as totals.
_RATES = """
months (side, month, lo, hi) AS (
    SELECT * FROM unnest(%(m_side)s::text[], %(m_month)s::date[], %(m_lo)s::date[], %(m_hi)s::date[])),
ranges (side, lo, hi, sign, month) AS (
    SELECT * FROM unnest(%(r_side)s::text[], %(r_lo)s::date[], %(r_hi)s::date[], %(r_sign)s::int[],
                         %(r_month)s::date[])),
split AS MATERIALIZED (
    SELECT DISTINCT currency, valid_from - (extract(day FROM valid_from)::int - 1) AS month FROM fx_rates
    WHERE currency <> %(base)s AND extract(day FROM valid_from) > 1 AND valid_from BETWEEN %(first)s AND %(last)s),
rates AS MATERIALIZED (
    SELECT c.currency, d::date AS day,
           (SELECT f.rate_to_base FROM fx_rates f WHERE f.currency = c.currency AND f.valid_from <= d::date
            ORDER BY f.valid_from DESC LIMIT 1) AS rate
    FROM (SELECT DISTINCT currency FROM fx_rates WHERE currency <> %(base)s) c,
         generate_series(%(first)s::date, %(last)s::date, interval '1 day') d)"""

_CLOSED = """
closed AS (
    SELECT m.side, t.owner_id, t.currency, t.month AS day, 1 AS sign, t.won, t.lost, t.won_amount
    FROM months m JOIN closed_deals_by_owner_month t ON t.month = m.month
    WHERE t.owner_id = ANY(%(owners)s)
      AND NOT EXISTS (SELECT FROM split s WHERE s.currency = t.currency AND s.month = t.month)
    UNION ALL
    SELECT r.side, t.owner_id, t.currency, t.closed_on, r.sign, t.won, t.lost, t.won_amount
    FROM ranges r JOIN closed_deals_by_owner_day t ON t.closed_on BETWEEN r.lo AND r.hi
    WHERE t.owner_id = ANY(%(owners)s)
      AND (r.month IS NULL OR NOT EXISTS (SELECT FROM split s WHERE s.currency = t.currency AND s.month = r.month))
    UNION ALL
    SELECT m.side, t.owner_id, t.currency, t.closed_on, 1, t.won, t.lost, t.won_amount
    FROM split s JOIN months m ON m.month = s.month
         JOIN closed_deals_by_owner_day t ON t.closed_on BETWEEN m.lo AND m.hi AND t.currency = s.currency
    WHERE t.owner_id = ANY(%(owners)s)),
closed_currency AS (
    SELECT c.side, c.owner_id, c.currency, sum(c.sign * c.won) AS won, sum(c.sign * c.lost) AS lost,
           sum(c.sign * c.won_amount * x.rate) AS converted,
           sum(c.sign * c.won_amount) FILTER (WHERE x.rate IS NULL) AS missing,
           sum(c.sign * c.won) FILTER (WHERE x.rate IS NULL) AS missing_n
    FROM closed c LEFT JOIN rates r ON r.currency = c.currency AND r.day = c.day
         CROSS JOIN LATERAL (SELECT CASE WHEN c.currency = %(base)s THEN 1 ELSE r.rate END AS rate) x
    GROUP BY 1, 2, 3),
closed_owner AS (
    SELECT owner_id, sum(won) FILTER (WHERE side = 'p') AS won, sum(won) FILTER (WHERE side = 't') AS won_t,
           sum(lost) FILTER (WHERE side = 't') AS lost_t,
           round(coalesce(sum(converted) FILTER (WHERE side = 'p'), 0), 2) AS revenue_won,
           round(coalesce(sum(converted) FILTER (WHERE side = 't'), 0), 2) AS revenue_t,
           jsonb_agg(jsonb_build_object('currency', currency, 'amount', round(missing, 2)::text, 'deals', missing_n))
               FILTER (WHERE side = 'p' AND missing_n > 0) AS won_unconverted
    FROM closed_currency GROUP BY owner_id)"""

_PAID = """
paid_currency AS (
    SELECT i.owner_id, i.currency, sum(a.amount * x.rate) AS converted,
           sum(a.amount) FILTER (WHERE x.rate IS NULL) AS missing, count(*) FILTER (WHERE x.rate IS NULL) AS missing_n
    FROM payment_allocations a JOIN invoices i ON i.invoice_id = a.invoice_id
         LEFT JOIN rates r ON r.currency = i.currency AND r.day = a.paid_on
         CROSS JOIN LATERAL (SELECT CASE WHEN i.currency = %(base)s THEN 1 ELSE r.rate END AS rate) x
    WHERE a.paid_on >= %(p_first)s AND a.paid_on <= %(p_last)s AND a.reversed IS false
      AND i.owner_id = ANY(%(owners)s)
    GROUP BY 1, 2),
paid_owner AS (
    SELECT owner_id, round(coalesce(sum(converted), 0), 2) AS revenue_paid,
           jsonb_agg(jsonb_build_object('currency', currency, 'amount', round(missing, 2)::text,
                                        'payments', missing_n)) FILTER (WHERE missing_n > 0) AS paid_unconverted
    FROM paid_currency GROUP BY owner_id)"""

# a type without a name counts for no target (a plan's targets are named types)
_DONE = """
done AS (
    SELECT assignee_id AS owner_id, jsonb_object_agg(type, n) AS activities
    FROM (SELECT assignee_id, type, count(*) AS n FROM activities
          WHERE status = 'done' AND completed_at >= %(start)s AND completed_at < %(end)s
            AND assignee_id = ANY(%(owners)s) AND type IS NOT NULL
          GROUP BY 1, 2) a
    GROUP BY 1)"""

_BONUS = """
bonus AS (
    SELECT d.owner_id, count(*) AS bonus_deals
    FROM deals d JOIN unnest(%(b_owner)s::uuid[], %(b_minimum)s::numeric[]) b (owner_id, minimum)
         ON b.owner_id = d.owner_id
         LEFT JOIN rates r ON r.currency = d.currency AND r.day = (timezone('UTC', d.closed_at))::date
    WHERE d.status = 'won' AND d.closed_at >= %(start)s AND d.closed_at < %(end)s
      AND d.amount * CASE WHEN d.currency = %(base)s THEN 1 ELSE r.rate END >= b.minimum
    GROUP BY 1)"""


@lru_cache(maxsize=None)
def _statement(activities: bool, bonus: bool) -> str:
    """One row per owner: who they are, and their figures (the parts not asked for are nulls)."""
    parts = [_RATES, _CLOSED, _PAID, *([_DONE] if activities else []), *([_BONUS] if bonus else [])]
    return (f"WITH {','.join(parts)}\n"
            "SELECT o.owner_id, u.full_name, u.team_id, c.won, c.won_t, c.lost_t, c.revenue_won, c.revenue_t,\n"
            "       c.won_unconverted, p.revenue_paid, p.paid_unconverted, "
            f"{'d.activities' if activities else 'NULL'}, {'b.bonus_deals' if bonus else 'NULL'}\n"
            "FROM unnest(%(owners)s::uuid[]) o (owner_id) LEFT JOIN users u ON u.user_id = o.owner_id\n"
            "     LEFT JOIN closed_owner c ON c.owner_id = o.owner_id LEFT JOIN paid_owner p ON p.owner_id = o.owner_id"
            + ("\n     LEFT JOIN done d ON d.owner_id = o.owner_id" if activities else "")
            + ("\n     LEFT JOIN bonus b ON b.owner_id = o.owner_id" if bonus else ""))


def actuals(session: Session, scope: Scope, owners, with_trailing: bool = False, activities: bool = True,
            bonus_minimums: dict | None = None) -> dict[uuid.UUID, Actuals]:
    """{owner: Actuals} of the period for each of `owners` (those with nothing have zeros), with the trailing window's
    figures (trailing_window(scope)) when asked, the activities done unless told not to, and with
    `bonus_minimums` ({owner: the least amount in the base currency}) each such owner's deals won at least that."""
    owners = sorted(set(owners), key=str)
    if not owners:
        return {}
    base = scope.base_currency
    months: list = []
    ranges: list = []
    _pieces("p", scope.date_from, scope.date_to, months, ranges)
    first, last = scope.date_from, scope.date_to
    if with_trailing:
        t_first, t_last = trailing_window(scope)
        _pieces("t", t_first, t_last, months, ranges)
        first, last = min(first, t_first), max(last, t_last)
    minimums = bonus_minimums or {}
    params = {"base": base, "owners": owners, "first": first.replace(day=1), "last": month_end(last),
              "p_first": scope.date_from, "p_last": scope.date_to, "start": scope.start, "end": scope.end,
              **{name: [piece[i] for piece in months] for i, name in enumerate(("m_side", "m_month", "m_lo", "m_hi"))},
              **{name: [piece[i] for piece in ranges]
                 for i, name in enumerate(("r_side", "r_lo", "r_hi", "r_sign", "r_month"))},
              "b_owner": list(minimums), "b_minimum": list(minimums.values())}
    found = {}
    for (owner, name, team, won, won_t, lost_t, revenue_won, revenue_t, won_unconverted, revenue_paid,
         paid_unconverted, done, bonus_deals) in session.connection().exec_driver_sql(
            _statement(activities, bonus_minimums is not None), params).all():
        found[owner] = Actuals(
            money(revenue_won, base, won_unconverted), money(revenue_paid, base, paid_unconverted, "payments"),
            int(won or 0), done or {}, Trailing(int(won_t or 0), int(lost_t or 0), revenue_t or Decimal("0.00")),
            int(bonus_deals or 0), name, team)
    return found
