"""What sales plans and commission schemes share: whom they may name (active managers or heads of sales, teams
the users projection knows), the company currency of their money, closed periods, and the caller's team."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from glassbox.auth import Principal
from glassbox.errors import Conflict, invalid
from glassbox.money import Money
from services.deals.models import User
from services.deals.periods import is_closed
from services.deals.service.policy import PLAN_SUBJECT_ROLES

PERIOD_CLOSED = "period_closed"


def ensure_managers(session: Session, field: str, manager_ids) -> None:
    """Each id is an active manager or head of sales in the users projection (a 422 on `field` naming the others)."""
    wanted = {uuid.UUID(str(i)) for i in manager_ids}
    if not wanted:
        return
    known = set(session.scalars(select(User.user_id).where(User.user_id.in_(wanted), User.is_active,
                                                           User.role.in_(PLAN_SUBJECT_ROLES))))
    unknown = sorted(str(i) for i in wanted - known)
    if unknown:
        raise invalid(field, f"{field}: not an active manager or head of sales: {', '.join(unknown)}",
                      f"not an active manager or head of sales: {', '.join(unknown)}")


def ensure_teams(session: Session, field: str, team_ids) -> None:
    """Each id is a team some user of the projection belongs to (the deals service knows teams only so)."""
    wanted = {uuid.UUID(str(i)) for i in team_ids}
    if not wanted:
        return
    known = set(session.scalars(select(User.team_id).where(User.team_id.in_(wanted)).distinct()))
    unknown = sorted(str(i) for i in wanted - known)
    if unknown:
        raise invalid(field, f"{field}: no such team: {', '.join(unknown)}", f"no such team: {', '.join(unknown)}")


def ensure_currency(money: Money | None, currency: str, field: str, positive: bool = True) -> None:
    """Money of a plan or a scheme is in the company currency (the one analytics reports in), and > 0 when asked."""
    if money is None:
        return
    if money.currency != currency:
        raise invalid(field, f"{field} must be in {currency}, the company currency", f"must be in {currency}")
    if positive and money.amount <= 0:
        raise invalid(field, f"{field} must be more than 0", "must be more than 0")


def ensure_open(field: str, label: str, period_end: date, today: date) -> None:
    """A 409 `period_closed` for what would change a period that ended before this month."""
    if is_closed(period_end, today):
        raise Conflict(f"{label} is closed: it ended before the current month, and its plans and commission no "
                       f"longer change", {"reason": PERIOD_CLOSED, field: [PERIOD_CLOSED]})


def team_of(session: Session, principal: Principal) -> uuid.UUID | None:
    """The caller's team as the users projection knows it (None: no team, or not heard of yet)."""
    return session.scalar(select(User.team_id).where(User.user_id == principal.id))
