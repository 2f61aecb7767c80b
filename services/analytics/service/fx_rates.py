"""Exchange rates to the base currency: admins record and delete them, everyone who reads KPIs reads them."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from glassbox.auth import Principal
from glassbox.db import Database
from glassbox import clock
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.policy import require
from glassbox.web import keyset_page
from services.analytics.models import FxRate
from services.analytics.service.policy import KPI_READERS, RATE_WRITERS


def record_rate(db: Database, principal: Principal, data: dict, base: str) -> FxRate:
    require(principal, *RATE_WRITERS)
    if data["currency"] == base:
        raise Invalid("the base currency needs no rate", {"json": {"currency": [f"{base} is the base currency"]}})
    with db.unit_of_work() as uow:
        rate = FxRate(id=uuid.uuid4(), created_by=principal.id, created_at=clock.now(), **data)
        uow.session.add(rate)
        try:
            uow.session.flush()
        except IntegrityError:
            raise Conflict(f"a {data['currency']} rate valid from {data['valid_from']} is already recorded: "
                           "delete it first to correct it")
        uow.commit()
        return rate


def _rate(session, rate_id: uuid.UUID) -> FxRate:
    rate = session.get(FxRate, rate_id)
    if rate is None:
        raise NotFound("no such exchange rate")
    return rate


def delete_rate(db: Database, principal: Principal, rate_id: uuid.UUID) -> None:
    require(principal, *RATE_WRITERS)
    with db.unit_of_work() as uow:
        uow.session.delete(_rate(uow.session, rate_id))
        uow.commit()


def list_rates(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *KPI_READERS)
    stmt = select(FxRate)
    if args.get("currency"):
        stmt = stmt.where(FxRate.currency == args["currency"])
    with db.session() as session:
        return keyset_page(session, stmt, FxRate.created_at, FxRate.id, descending=True, limit=args["limit"],
                           cursor=args.get("cursor"))


def get_rate(db: Database, principal: Principal, rate_id: uuid.UUID) -> FxRate:
    require(principal, *KPI_READERS)
    with db.session() as session:
        return _rate(session, rate_id)
