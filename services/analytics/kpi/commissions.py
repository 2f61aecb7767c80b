"""/kpi/commissions: per manager with a commission scheme, the version valid for the period, the base (the actual
of the scheme's base measure), the attainment of that measure's plan, the tier and rate, the commission, the deal
bonus and the total; with `details`, the deals and payments it came from (docs/kpi.md, "Plans and
commissions")."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import within
from services.analytics.kpi.conditions import DealConditions
from services.analytics.kpi.measures import cents, money
from services.analytics.kpi.plan_actuals import actuals, plans_of_period, team_members
from services.analytics.kpi.scope import Scope, utc_day
from services.analytics.models import Deal, FxRate, Invoice, PaymentAllocation

BASES = ("revenue_paid", "revenue_won")
DETAILS_LIMIT = 100  # deals and payments listed per manager with `details` (the totals count all)


def valid_version(versions: list[dict], period_start) -> dict | None:
    """The latest version with valid_from <= the period's first day (versions are never changed, so a closed
    period keeps its version)."""
    valid = [v for v in versions if v.get("valid_from") and str(v["valid_from"]) <= period_start.isoformat()]
    return max(valid, key=lambda v: (str(v["valid_from"]), int(v.get("version") or 0)), default=None)


class Tiers:
    """A version's tiers in order of from_pct, their bounds as numbers (read once per version, not per manager)."""

    def __init__(self, tiers: list[dict]):
        bounded = sorted(((Decimal(str(tier["from_pct"])), tier) for tier in tiers), key=lambda pair: pair[0])
        self.ordered = [(low, None if tier.get("to_pct") is None else Decimal(str(tier["to_pct"])), tier)
                        for low, tier in bounded]

    def of(self, attainment: Decimal | None) -> dict | None:
        """The tier whose [from_pct, to_pct) holds the attainment; no attainment: the lowest tier."""
        ordered = self.ordered
        if not ordered:
            return None
        if attainment is None:
            return ordered[0][2]
        for low, upper, tier in ordered:
            if low <= attainment and (upper is None or attainment < upper):
                return tier
        return ordered[0][2] if attainment < ordered[0][0] else ordered[-1][2]


@dataclass
class Scheme:
    scheme_id: uuid.UUID
    name: str | None


def assignments(session: Session, scope: Scope) -> dict:
    """{user: (scheme, version)} for the period: a user's direct scheme, else their team's."""
    direct, by_team = {}, {}
    for scheme_id, name, versions in session.connection().exec_driver_sql(
            "SELECT scheme_id, name, versions FROM commission_schemes ORDER BY scheme_id").all():
        version = valid_version(json.loads(versions or "[]"), scope.date_from)
        if version is None:
            continue
        scheme = Scheme(scheme_id, name)
        for manager in version.get("manager_ids") or []:
            direct.setdefault(str(manager), (scheme, version))
        for team in version.get("team_ids") or []:
            by_team.setdefault(str(team), (scheme, version))
    found = {}
    for team, members in team_members(session, [team for team in by_team]).items():
        for member in members:
            found[member] = by_team[str(team)]  # keyed by the text of the event's id
    if direct:
        for user_id, in session.connection().exec_driver_sql(
                "SELECT user_id FROM users WHERE user_id = ANY(%(users)s::uuid[])", {"users": list(direct)}).all():
            found[user_id] = direct[str(user_id)]
    return found


def _rate_to_base(scope: Scope):
    """SQL: the deal's rate to the base currency on its closing day (null: none recorded)."""
    latest = (select(FxRate.rate_to_base).where(FxRate.currency == Deal.currency,
                                                FxRate.valid_from <= utc_day(Deal.closed_at))
              .order_by(FxRate.valid_from.desc()).limit(1).scalar_subquery())
    return case((Deal.currency == scope.base_currency, literal(Decimal(1))), else_=latest)


def _won_deals(session: Session, scope: Scope, owner) -> tuple[list, int]:
    """The first DETAILS_LIMIT deals the owner won in the period by closing time (with the amount in the base
    currency, None without a rate), and how many there are."""
    conditions = [DealConditions.won_in(scope), Deal.owner_id == owner]
    rows = session.execute(select(Deal.deal_id, Deal.title, Deal.amount, Deal.currency, Deal.closed_at,
                                  (Deal.amount * _rate_to_base(scope)).label("in_base"))
                           .where(*conditions).order_by(Deal.closed_at, Deal.deal_id).limit(DETAILS_LIMIT)).all()
    return rows, session.scalar(select(func.count()).where(*conditions))


def _payments(session: Session, scope: Scope, owner) -> tuple[list[dict], int]:
    conditions = and_(within(PaymentAllocation.paid_on, scope), PaymentAllocation.reversed.is_(False),
                      Invoice.owner_id == owner)
    source = PaymentAllocation.__table__.join(Invoice.__table__, Invoice.invoice_id == PaymentAllocation.invoice_id)
    rows = session.execute(select(PaymentAllocation.payment_id, PaymentAllocation.invoice_id, Invoice.number,
                                  PaymentAllocation.paid_on, PaymentAllocation.amount, Invoice.currency)
                           .select_from(source).where(conditions)
                           .order_by(PaymentAllocation.paid_on, PaymentAllocation.payment_id,
                                     PaymentAllocation.invoice_id).limit(DETAILS_LIMIT)).all()
    total = session.scalar(select(func.count()).select_from(source).where(conditions))
    return [{"payment_id": row.payment_id, "invoice_id": row.invoice_id, "invoice_number": row.number,
             "paid_on": row.paid_on, "amount": {"amount": row.amount, "currency": row.currency}} for row in rows], total


def _bonus(version: dict) -> tuple[Decimal, Decimal] | None:
    bonus = version.get("deal_bonus")
    if not bonus:
        return None
    return Decimal(str(bonus["amount"]["amount"])), Decimal(str(bonus["min_deal_amount"]["amount"]))


def commissions(session: Session, scope: Scope, details: bool = False) -> dict:
    base = scope.base_currency
    assigned = assignments(session, scope)
    if scope.manager_id is not None:
        assigned = {user: scheme for user, scheme in assigned.items() if user == scope.manager_id}
    if scope.team_id is not None:
        members = set(team_members(session, [scope.team_id])[scope.team_id])
        assigned = {user: scheme for user, scheme in assigned.items() if user in members}
    owners = sorted(assigned, key=str)
    bonuses = {owner: _bonus(version) for owner, (_, version) in assigned.items()}
    done = actuals(session, scope, owners, activities=False,
                   bonus_minimums={owner: bonus[1] for owner, bonus in bonuses.items() if bonus})
    plans = {plan.manager_id: plan for plan in plans_of_period(session, scope) if plan.manager_id is not None}
    tiers: dict = {}  # id of a version -> its Tiers (a scheme's version is shared by its managers)
    rows = []
    for owner in owners:
        scheme, version = assigned[owner]
        measure = version.get("base") if version.get("base") in BASES else "revenue_paid"
        actual = getattr(done[owner], measure)
        plan = plans.get(owner)
        target = getattr(plan, f"{measure}_amount") if plan is not None else None
        exact = actual["amount"] * 100 / target if target else None  # the tier is picked by the exact ratio
        if id(version) not in tiers:
            tiers[id(version)] = Tiers(version.get("tiers") or [])
        tier = tiers[id(version)].of(exact)
        rate = Decimal(str(tier["rate_pct"])) if tier else Decimal(0)
        commission = cents(actual["amount"] * rate / 100)
        bonus = bonuses[owner]
        bonus_count = done[owner].bonus_deals if bonus else 0
        bonus_amount = cents(bonus[0] * bonus_count) if bonus else cents(0)
        row = {"manager_id": owner, "name": done[owner].name, "team_id": done[owner].team_id,
               "scheme_id": scheme.scheme_id,
               "scheme_name": scheme.name, "version": version.get("version"), "valid_from": version.get("valid_from"),
               "base_measure": measure, "base": actual,
               "target": None if target is None else money(target, base),
               "attainment_pct": None if exact is None else cents(exact),
               "tier": tier, "rate_pct": rate, "commission": money(commission, base),
               "bonus_deals": bonus_count, "bonus_amount": money(bonus_amount, base),
               "total": money(commission + bonus_amount, base)}
        if details:
            row["details"] = _details(session, scope, owner, bonus)
        rows.append(row)
    return {"period": scope.period(), "base_currency": base,
            "managers": sorted(rows, key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"])))}


def _details(session: Session, scope: Scope, owner, bonus) -> dict:
    won, deals_total = _won_deals(session, scope, owner)
    payments, payments_total = _payments(session, scope, owner)
    return {"deals": [{"deal_id": deal.deal_id, "title": deal.title,
                       "amount": {"amount": deal.amount, "currency": deal.currency}, "closed_at": deal.closed_at,
                       "bonus": bool(bonus and deal.in_base is not None and deal.in_base >= bonus[1])}
                      for deal in won],
            "deals_total": deals_total, "payments": payments, "payments_total": payments_total}
