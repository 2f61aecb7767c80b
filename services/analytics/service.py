"""Use cases of the analytics service: who may ask which KPI about whom (the scope of a question), and the
exchange rates (the only thing written through the API).

Access: the head of sales, admins and marketers see everyone's numbers; a manager sees only their own (their
manager_id is forced to themselves, and naming another manager is a 404, as another manager's record is
everywhere); accountants and the after-sales role have no KPIs (403). Admins record exchange rates;
everyone who may read KPIs reads them."""
from __future__ import annotations

import os
import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from glassbox.auth import Principal
from glassbox.config import ConfigError
from glassbox.db import Database
from glassbox.errors import Conflict, Forbidden, Invalid, NotFound
from glassbox.web import keyset_page
from services.analytics import clock, kpi
from services.analytics.models import FxRate

KPI_READERS = ("admin", "head_of_sales", "manager", "marketer")
RATE_WRITERS = ("admin",)
DEFAULT_BASE_CURRENCY = "RUB"


def base_currency() -> str:
    """BASE_CURRENCY from the environment (default RUB); a malformed one stops the process at start."""
    value = os.environ.get("BASE_CURRENCY") or DEFAULT_BASE_CURRENCY
    if len(value) != 3 or not value.isalpha() or not value.isupper():
        raise ConfigError(f"BASE_CURRENCY must be an ISO 4217 code such as RUB, not {value!r}")
    return value


def _require(principal: Principal, roles: tuple[str, ...]) -> None:
    if not principal.has_role(*roles):
        raise Forbidden(f"the {principal.role} role may not do this")


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    return day.replace(year=day.year + month // 12, month=month % 12 + 1, day=1)


def scope(principal: Principal, args: dict, base: str, months: int = 1) -> kpi.Scope:
    """The question's scope: the caller's rights applied to the filters, the period defaulted to `months`
    calendar months from the first of the current one (UTC), and the time of the question from the clock."""
    _require(principal, KPI_READERS)
    now = clock.now()
    today = kpi.Scope(now=now, base_currency=base).today
    manager_id = args.get("manager_id")
    if principal.role == "manager":
        me = uuid.UUID(principal.user_id)
        if manager_id is not None and manager_id != me:
            raise NotFound("no such manager among yours: a manager sees only their own numbers")
        manager_id = me
    # Missing ends: the current month(s); "since X" runs to the end of the current month(s), "until Y" starts
    # on the first of the current month (or of Y's month, if Y is earlier).
    date_from, date_to = args.get("date_from"), args.get("date_to")
    if date_from is None:
        date_from = _month_start(min(today, date_to) if date_to else today)
    if date_to is None:
        date_to = kpi.month_end(_months_later(_month_start(max(today, date_from)), months - 1))
    if date_from > date_to:
        raise Invalid("the period is empty", {"query": {"from": ["must not be after `to`"]}})
    return kpi.Scope(now=now, base_currency=base, date_from=date_from, date_to=date_to, manager_id=manager_id,
                     team_id=args.get("team_id"), pipeline_id=args.get("pipeline_id"), industry=args.get("industry"),
                     region=args.get("region"))


def ask(db: Database, question, kpi_scope: kpi.Scope, *args) -> dict:
    """Run one KPI query in one read transaction (REPEATABLE READ: its few statements see one snapshot)."""
    with db.session() as session:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return question(session, kpi_scope, *args)


# -- exchange rates --------------------------------------------------------------------------------------

def record_rate(db: Database, principal: Principal, data: dict, base: str) -> FxRate:
    _require(principal, RATE_WRITERS)
    if data["currency"] == base:
        raise Invalid("the base currency needs no rate", {"json": {"currency": [f"{base} is the base currency"]}})
    with db.unit_of_work() as uow:
        rate = FxRate(id=uuid.uuid4(), created_by=uuid.UUID(principal.user_id), created_at=clock.now(), **data)
        uow.session.add(rate)
        try:
            uow.session.flush()
        except IntegrityError:
            raise Conflict(f"a {data['currency']} rate valid from {data['valid_from']} is already recorded: "
                           "delete it first to correct it")
        uow.commit()
        return rate


def delete_rate(db: Database, principal: Principal, rate_id: uuid.UUID) -> None:
    _require(principal, RATE_WRITERS)
    with db.unit_of_work() as uow:
        rate = uow.session.get(FxRate, rate_id)
        if rate is None:
            raise NotFound("no such exchange rate")
        uow.session.delete(rate)
        uow.commit()


def list_rates(db: Database, principal: Principal, args: dict) -> dict:
    _require(principal, KPI_READERS)
    stmt = select(FxRate)
    if args.get("currency"):
        stmt = stmt.where(FxRate.currency == args["currency"])
    with db.session() as session:
        return keyset_page(session, stmt, FxRate.created_at, FxRate.id, descending=True, limit=args["limit"],
                           cursor=args.get("cursor"))


def get_rate(db: Database, principal: Principal, rate_id: uuid.UUID) -> FxRate:
    _require(principal, KPI_READERS)
    with db.session() as session:
        rate = session.get(FxRate, rate_id)
        if rate is None:
            raise NotFound("no such exchange rate")
        return rate

