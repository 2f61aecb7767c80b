"""/kpi/plans: per manager and team with a plan for the period, each measure's target, actual, attainment and run
rate, and the gap to the revenue target in money, deals and opportunities (docs/kpi.md, "Plans and commissions")."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from services.analytics.kpi.measures import add_money, cents, money
from services.analytics.kpi.plan_actuals import (PERCENT_PLACES, Actuals, Plan, Trailing, activity_targets, actuals,
                                                 percent, plans_of_period, team_members, team_of, trailing_window)
from services.analytics.kpi.scope import Scope

RATIO_PLACES = Decimal("0.0001")


def elapsed_days(scope: Scope) -> int:
    """Days of the period up to today (inclusive), capped at the period's length."""
    length = (scope.date_to - scope.date_from).days + 1
    return max(0, min(length, (scope.today - scope.date_from).days + 1))


class Targets:
    """A plan's targets (a team plan in `sum` mode: its members' plans added up)."""

    __slots__ = ("revenue_won", "revenue_paid", "deals_won", "activities")

    def __init__(self, plans: list[Plan], base: str):
        self.revenue_won = _money_target([(p.revenue_won_amount, p.revenue_won_currency) for p in plans], base)
        self.revenue_paid = _money_target([(p.revenue_paid_amount, p.revenue_paid_currency) for p in plans], base)
        counts = [plan.deals_won for plan in plans if plan.deals_won is not None]
        self.deals_won = sum(counts) if counts else None
        if len(plans) == 1:  # a manager's plan: its own targets (read only)
            self.activities = activity_targets(plans[0])
            return
        self.activities = {}
        for plan in plans:
            for kind, count in activity_targets(plan).items():
                self.activities[kind] = self.activities.get(kind, 0) + count


def _money_target(targets: list[tuple], base: str) -> dict | None:
    """The plans' targets added up (null when none sets one), in their currency when they name one only."""
    amounts = [amount for amount, _ in targets if amount is not None]
    if not amounts:
        return None
    currencies = {currency for _, currency in targets} - {None}
    return {"amount": cents(sum(amounts)), "currency": currencies.pop() if len(currencies) == 1 else base,
            "unconverted": []}


class _Figures:
    """The measures of one period: its length and elapsed days and base currency are the same for every row."""

    def __init__(self, scope: Scope, elapsed: int):
        self.base, self.elapsed = scope.base_currency, elapsed
        self.length = (scope.date_to - scope.date_from).days + 1

    def money_measure(self, target: dict | None, actual: dict) -> dict:
        base = self.base
        # a target in another currency: no attainment
        comparable = target is not None and target["currency"] == base
        return {"target": target, "actual": actual,
                "attainment_pct": percent(actual["amount"], target["amount"]) if comparable else None,
                "run_rate": {"amount": cents(actual["amount"] * self.length / self.elapsed), "currency": base,
                             "unconverted": []} if self.elapsed else None}

    def count_measure(self, target: int | None, actual: int) -> dict:
        return {"target": target, "actual": actual, "attainment_pct": percent(actual, target),
                "run_rate": (Decimal(actual) * self.length / self.elapsed).quantize(PERCENT_PLACES,
                                                                                  rounding=ROUND_HALF_UP)
                if self.elapsed else None}

    def gap(self, target: dict | None, actual: dict, past: Trailing) -> dict:
        """What is missing of the revenue-won target, and in deals (at the trailing average won deal) and
        opportunities (those deals at the trailing win rate), each rounded up."""
        base = self.base
        average = past.revenue_won / past.won if past.won else None
        win_rate = Decimal(past.won) / (past.won + past.lost) if past.won + past.lost else None
        missing = None
        if target is not None and target["currency"] == base:
            missing = max(target["amount"] - actual["amount"], Decimal(0))
        deals = math.ceil(missing / average) if missing is not None and average else None
        opportunities = math.ceil(Decimal(deals) / win_rate) if deals is not None and win_rate else None
        return {"amount": None if missing is None else money(missing, base), "deals": deals,
                "opportunities": opportunities, "avg_won_deal": None if average is None else money(average, base),
                "win_rate": None if win_rate is None else win_rate.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)}

    def of(self, targets: Targets, done: Actuals, past: Trailing) -> dict:
        count = self.count_measure
        return {
            "revenue_won": self.money_measure(targets.revenue_won, done.revenue_won),
            "revenue_paid": self.money_measure(targets.revenue_paid, done.revenue_paid),
            "deals_won": count(targets.deals_won, done.deals_won),
            "activities": {kind: count(target, done.activities.get(kind, 0))
                           for kind, target in sorted(targets.activities.items())},
            "gap": self.gap(targets.revenue_won, done.revenue_won, past),
        }


def _sum_actuals(members: list, found: dict, base: str) -> Actuals:
    total = Actuals(add_money(money(None, base), *(found[m].revenue_won for m in members)),
                    add_money(money(None, base, None, "payments"), *(found[m].revenue_paid for m in members)),
                    sum(found[m].deals_won for m in members))
    for member in members:
        for kind, done in found[member].activities.items():
            total.activities[kind] = total.activities.get(kind, 0) + done
    return total


def _sum_trailing(members: list, found: dict) -> Trailing:
    past = [found[m].trailing for m in members]
    return Trailing(sum(p.won for p in past), sum(p.lost for p in past), sum((p.revenue_won for p in past), Decimal(0)))


def _in_scope(session: Session, scope: Scope, plans: list[Plan]) -> tuple[list, list]:
    """The manager plans and team plans the question's people filters (and the caller's rights) let through: a
    manager's own plan and their team's; with team_id, that team and its members."""
    manager_plans = [plan for plan in plans if plan.manager_id is not None]
    team_plans = [plan for plan in plans if plan.manager_id is None and plan.team_id is not None]
    if scope.manager_id is not None:
        team = team_of(session, scope.manager_id)
        manager_plans = [plan for plan in manager_plans if plan.manager_id == scope.manager_id]
        team_plans = [plan for plan in team_plans if team is not None and plan.team_id == team]
    if scope.team_id is not None:
        members = set(team_members(session, [scope.team_id])[scope.team_id])
        manager_plans = [plan for plan in manager_plans if plan.manager_id in members]
        team_plans = [plan for plan in team_plans if plan.team_id == scope.team_id]
    return manager_plans, team_plans


def plans(session: Session, scope: Scope) -> dict:
    base = scope.base_currency
    every_plan = plans_of_period(session, scope)
    manager_plans, team_plans = _in_scope(session, scope, every_plan)
    people = {plan.manager_id for plan in manager_plans} | {m for plan in team_plans for m in plan.members}
    done = actuals(session, scope, people, with_trailing=True)
    elapsed = elapsed_days(scope)
    figures = _Figures(scope, elapsed)
    rows = []
    for plan in manager_plans:
        mine = done[plan.manager_id]
        rows.append({"plan_id": plan.plan_id, "manager_id": plan.manager_id, "name": mine.name, "team_id": mine.team_id,
                     **figures.of(Targets([plan], base), mine, mine.trailing)})
    by_manager = {plan.manager_id: plan for plan in every_plan if plan.manager_id is not None}
    teams = []
    for plan in team_plans:
        team = plan.members
        sources = [by_manager[m] for m in team if m in by_manager] if plan.mode == "sum" else [plan]
        teams.append({"plan_id": plan.plan_id, "team_id": plan.team_id, "mode": plan.mode or "own",
                      "members": team, **figures.of(Targets(sources, base), _sum_actuals(team, done, base),
                                                    _sum_trailing(team, done))})
    first, last = trailing_window(scope)
    return {"period": scope.period(), "base_currency": base, "elapsed_days": elapsed,
            "days": (scope.date_to - scope.date_from).days + 1, "trailing": {"from": first, "to": last},
            "managers": sorted(rows, key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"]))),
            "teams": sorted(teams, key=lambda row: str(row["team_id"]))}
