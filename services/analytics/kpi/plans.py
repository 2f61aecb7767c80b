"""/kpi/plans: per manager and team with a plan for the period, each measure's target, actual, attainment and run
rate, and the gap to the revenue target in money, deals and opportunities (docs/kpi.md, "Plans and commissions")."""
from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.analytics.kpi.measures import add_money, cents, money
from services.analytics.kpi.plan_actuals import (PERCENT_PLACES, Actuals, Trailing, activity_targets, actuals,
                                                 percent, plans_of_period, team_members, trailing_window)
from services.analytics.kpi.scope import Scope
from services.analytics.models import SalesPlan, User


def elapsed_days(scope: Scope) -> int:
    """Days of the period up to today (inclusive), capped at the period's length."""
    length = (scope.date_to - scope.date_from).days + 1
    return max(0, min(length, (scope.today - scope.date_from).days + 1))


class Targets:
    """A plan's targets (a team plan in `sum` mode: its members' plans added up)."""

    def __init__(self, plans: list[SalesPlan], base: str):
        def total(name):
            amounts = [getattr(plan, f"{name}_amount") for plan in plans if getattr(plan, f"{name}_amount") is not None]
            currencies = {getattr(plan, f"{name}_currency") for plan in plans} - {None}
            return None if not amounts else {"amount": cents(sum(amounts)), "currency": currencies.pop()
                                             if len(currencies) == 1 else base, "unconverted": []}
        self.revenue_won, self.revenue_paid = total("revenue_won"), total("revenue_paid")
        counts = [plan.deals_won for plan in plans if plan.deals_won is not None]
        self.deals_won = sum(counts) if counts else None
        self.activities: dict = {}
        for plan in plans:
            for kind, count in activity_targets(plan).items():
                self.activities[kind] = self.activities.get(kind, 0) + count


def _run_rate(actual: Decimal, scope: Scope, elapsed: int) -> Decimal | None:
    if not elapsed:
        return None
    return actual * ((scope.date_to - scope.date_from).days + 1) / elapsed


def _money_measure(target: dict | None, actual: dict, scope: Scope, elapsed: int, base: str) -> dict:
    comparable = target is not None and target["currency"] == base  # a target in another currency: no attainment
    rate = _run_rate(actual["amount"], scope, elapsed)
    return {"target": target, "actual": actual,
            "attainment_pct": percent(actual["amount"], target["amount"]) if comparable else None,
            "run_rate": None if rate is None else money(rate, base)}


def _count_measure(target: int | None, actual: int, scope: Scope, elapsed: int) -> dict:
    rate = _run_rate(Decimal(actual), scope, elapsed)
    return {"target": target, "actual": actual, "attainment_pct": percent(actual, target),
            "run_rate": None if rate is None else rate.quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)}


def _gap(target: dict | None, actual: dict, past: Trailing, base: str) -> dict:
    """What is missing of the revenue-won target, and in deals (at the trailing average won deal) and
    opportunities (those deals at the trailing win rate), each rounded up."""
    average = past.revenue_won / past.won if past.won else None
    win_rate = Decimal(past.won) / (past.won + past.lost) if past.won + past.lost else None
    missing = None
    if target is not None and target["currency"] == base:
        missing = max(target["amount"] - actual["amount"], Decimal(0))
    deals = math.ceil(missing / average) if missing is not None and average else None
    opportunities = math.ceil(Decimal(deals) / win_rate) if deals is not None and win_rate else None
    return {"amount": None if missing is None else money(missing, base), "deals": deals,
            "opportunities": opportunities, "avg_won_deal": None if average is None else money(average, base),
            "win_rate": None if win_rate is None else win_rate.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)}


def _figures(targets: Targets, done: Actuals, past: Trailing, scope: Scope, elapsed: int) -> dict:
    base = scope.base_currency
    return {
        "revenue_won": _money_measure(targets.revenue_won, done.revenue_won, scope, elapsed, base),
        "revenue_paid": _money_measure(targets.revenue_paid, done.revenue_paid, scope, elapsed, base),
        "deals_won": _count_measure(targets.deals_won, done.deals_won, scope, elapsed),
        "activities": {kind: _count_measure(target, done.activities.get(kind, 0), scope, elapsed)
                       for kind, target in sorted(targets.activities.items())},
        "gap": _gap(targets.revenue_won, done.revenue_won, past, base),
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
    return Trailing(sum(found[m].won for m in members), sum(found[m].lost for m in members),
                    sum((found[m].revenue_won for m in members), Decimal(0)))


def _in_scope(session: Session, scope: Scope, plans: list[SalesPlan]) -> tuple[list, list]:
    """The manager plans and team plans the question's people filters (and the caller's rights) let through: a
    manager's own plan and their team's; with team_id, that team and its members."""
    manager_plans = [plan for plan in plans if plan.manager_id is not None]
    team_plans = [plan for plan in plans if plan.manager_id is None and plan.team_id is not None]
    if scope.manager_id is not None:
        team = session.scalar(select(User.team_id).where(User.user_id == scope.manager_id))
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
    members = team_members(session, {plan.team_id for plan in team_plans})
    people = {plan.manager_id for plan in manager_plans} | {m for team in members.values() for m in team}
    done, past = actuals(session, scope, people, with_trailing=True)
    users = {row.user_id: row for row in session.execute(
        select(User.user_id, User.full_name, User.team_id).where(User.user_id.in_(list(people))))} if people else {}
    elapsed = elapsed_days(scope)
    rows = [{"plan_id": plan.plan_id, "manager_id": plan.manager_id,
             "name": users[plan.manager_id].full_name if plan.manager_id in users else None,
             "team_id": users[plan.manager_id].team_id if plan.manager_id in users else None,
             **_figures(Targets([plan], base), done[plan.manager_id], past[plan.manager_id], scope, elapsed)}
            for plan in manager_plans]
    by_manager = {plan.manager_id: plan for plan in every_plan if plan.manager_id is not None}
    teams = []
    for plan in team_plans:
        team = members[plan.team_id]
        sources = [by_manager[m] for m in team if m in by_manager] if plan.mode == "sum" else [plan]
        teams.append({"plan_id": plan.plan_id, "team_id": plan.team_id, "mode": plan.mode or "own",
                      "members": team, **_figures(Targets(sources, base), _sum_actuals(team, done, base),
                                                  _sum_trailing(team, past), scope, elapsed)})
    first, last = trailing_window(scope)
    return {"period": scope.period(), "base_currency": base, "elapsed_days": elapsed,
            "days": (scope.date_to - scope.date_from).days + 1, "trailing": {"from": first, "to": last},
            "managers": sorted(rows, key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"]))),
            "teams": sorted(teams, key=lambda row: str(row["team_id"]))}
