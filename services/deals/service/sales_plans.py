"""Use cases of sales plans: the targets of a manager or a team for a month or a quarter. The head of sales and
admins set them; a manager reads their own and their team's. A subject's plans never overlap in time, and the
plans of a closed period (ended before this month) never change."""
from __future__ import annotations

import uuid

from sqlalchemy import false, func, or_, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict, NotFound, invalid
from glassbox.policy import require
from glassbox.web import sorted_page
from services.deals import events
from services.deals.models import SalesPlan
from services.deals.periods import Period
from services.deals.plan_schemas import has_targets
from services.deals.service.deals import PreconditionFailed
from services.deals.service.policy import PLAN_EDITORS, PLAN_READERS, VISIBILITY
from services.deals.service.targets import ensure_currency, ensure_managers, ensure_open, ensure_teams, team_of

PLAN_OVERLAPS = "plan_overlaps"
MONEY_TARGETS = {"revenue_won": "revenue_won_amount", "revenue_paid": "revenue_paid_amount"}


def _visible(session: Session, principal: Principal, stmt):
    """A manager sees their own plans and their team's; the other readers every plan."""
    if VISIBILITY.sees_all(principal):
        return stmt
    team = team_of(session, principal)
    return stmt.where(or_(SalesPlan.manager_id == principal.id,
                          SalesPlan.team_id == team if team is not None else false()))


def _load(session: Session, principal: Principal, plan_id: uuid.UUID, expected_version=None,
          for_update: bool = False) -> SalesPlan:
    stmt = _visible(session, principal, select(SalesPlan).where(SalesPlan.id == plan_id))
    plan = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if plan is None:
        raise NotFound(f"sales plan {plan_id} not found")
    if expected_version is not None and plan.version not in expected_version:
        raise PreconditionFailed(f"the plan changed meanwhile (now version {plan.version}); reload it and retry",
                                 {"version": plan.version})
    return plan


def _set_targets(plan: SalesPlan, targets: dict, currency: str) -> None:
    """Put the targets given on the plan (a null removes one); money in the company currency."""
    for name, column in MONEY_TARGETS.items():
        if name in targets:
            ensure_currency(targets[name], currency, f"targets.{name}")
            setattr(plan, column, targets[name].amount if targets[name] is not None else None)
    if "deals_won" in targets:
        plan.deals_won = targets["deals_won"]
    if "activities" in targets:
        plan.activities = dict(targets["activities"] or {})


def _ensure_no_overlap(session: Session, plan: SalesPlan) -> None:
    """No other plan of the same manager (or team) shares a day with this one. Plans of one subject are written one
    at a time (a transaction-scoped advisory lock on the subject), so two concurrent creates cannot both pass."""
    subject_column = SalesPlan.manager_id if plan.manager_id is not None else SalesPlan.team_id
    subject = plan.manager_id or plan.team_id
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"sales_plan:{subject}"))))
    other = session.scalars(select(SalesPlan).where(
        subject_column == subject, SalesPlan.id != plan.id, SalesPlan.period_start <= plan.period_end,
        SalesPlan.period_end >= plan.period_start).limit(1)).first()
    if other is not None:
        whose = "manager" if plan.manager_id is not None else "team"
        raise Conflict(f"the {whose} already has plan {other.id} for {other.period.label}, which overlaps "
                       f"{plan.period.label}", {"reason": PLAN_OVERLAPS, "plan_id": str(other.id),
                                                "period": [f"overlaps {other.period.label}"]})


def list_sales_plans(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *PLAN_READERS)
    with db.session() as session:
        stmt = _visible(session, principal, select(SalesPlan))
        for name in ("manager_id", "team_id"):
            if args.get(name) is not None:
                stmt = stmt.where(getattr(SalesPlan, name) == args[name])
        if args.get("period") is not None:
            period: Period = args["period"]
            stmt = stmt.where(SalesPlan.period_start <= period.end, SalesPlan.period_end >= period.start)
        return sorted_page(session, stmt, SalesPlan, args)


def get_sales_plan(db: Database, principal: Principal, plan_id: uuid.UUID) -> SalesPlan:
    require(principal, *PLAN_READERS)
    with db.session() as session:
        return _load(session, principal, plan_id)


def create_sales_plan(db: Database, principal: Principal, data: dict, currency: str) -> SalesPlan:
    """A plan of one manager or one team for a month or a quarter not yet closed."""
    require(principal, *PLAN_EDITORS)
    period: Period = data["period"]
    now = clock.now()
    ensure_open("period", f"the period {period.label}", period.end, now.date())
    with db.unit_of_work() as uow:
        session = uow.session
        if data.get("manager_id") is not None:
            ensure_managers(session, "manager_id", [data["manager_id"]])
        else:
            ensure_teams(session, "team_id", [data["team_id"]])
        # Only internal callers (the demo seed) choose ids; the API schemas have no `id` field.
        plan = SalesPlan(id=data.get("id") or uuid.uuid4(), manager_id=data.get("manager_id"),
                         team_id=data.get("team_id"), mode=data.get("mode", "own"), period_kind=period.kind,
                         period_start=period.start, period_end=period.end, currency=currency, activities={},
                         created_at=now, updated_at=now, version=1)
        _set_targets(plan, data.get("targets") or {}, currency)
        _ensure_no_overlap(session, plan)
        session.add(plan)
        session.flush()
        uow.emit(events.sales_plan_created(plan, principal.user_id))
        uow.commit()
        return plan


def update_sales_plan(db: Database, principal: Principal, plan_id: uuid.UUID, changes: dict, currency: str,
                      expected_version: frozenset[int] | None = None) -> SalesPlan:
    """Change the targets (the measures given) or a team plan's mode; sum mode drops the targets."""
    require(principal, *PLAN_EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        plan = _load(uow.session, principal, plan_id, expected_version, for_update=True)
        ensure_open("period", f"the period {plan.period.label}", plan.period_end, now.date())
        before = (plan.mode, plan.revenue_won_amount, plan.revenue_paid_amount, plan.deals_won, plan.activities)
        mode, targets = changes.get("mode", plan.mode), changes.get("targets") or {}
        if plan.manager_id is not None and mode != "own":
            raise invalid("mode", "a manager's plan is always own", "a manager's plan is always own")
        if mode == "sum":
            if has_targets(targets):
                raise invalid("targets", "a plan in sum mode has no targets of its own", "not in sum mode")
            targets = {"revenue_won": None, "revenue_paid": None, "deals_won": None, "activities": {}}
        plan.mode = mode
        _set_targets(plan, targets, currency)
        if mode == "own" and not has_targets(plan.targets):
            raise invalid("targets", "a plan keeps at least one target", "give at least one target")
        if (plan.mode, plan.revenue_won_amount, plan.revenue_paid_amount, plan.deals_won, plan.activities) == before:
            return plan
        plan.updated_at, plan.version = now, plan.version + 1
        uow.session.flush()
        uow.emit(events.sales_plan_updated(plan, principal.user_id))
        uow.commit()
        return plan


def delete_sales_plan(db: Database, principal: Principal, plan_id: uuid.UUID,
                      expected_version: frozenset[int] | None = None) -> None:
    require(principal, *PLAN_EDITORS)
    now = clock.now()
    with db.unit_of_work() as uow:
        plan = _load(uow.session, principal, plan_id, expected_version, for_update=True)
        ensure_open("period", f"the period {plan.period.label}", plan.period_end, now.date())
        uow.emit(events.sales_plan_deleted(plan, now, principal.user_id))
        uow.session.delete(plan)
        uow.commit()
