"""Receivables: what clients owe on issued, not fully paid invoices, per client or per manager and currency, with
aging buckets counted from the due date on a given day, the clients' credit (payments not allocated yet), and,
for a period, what the payment plans expected against what was received. Read from the open invoices only (a
partial index), however many paid ones there are."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, literal, select

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from services.billing.models import OPEN_STATUSES, Client, Invoice, Payment, PlannedPayment, User
from services.billing.service.amounts import kopecks
from services.billing.service.policy import READERS, VISIBILITY

BUCKETS = (("days_1_30", 1, 30), ("days_31_60", 31, 60), ("days_61_90", 61, 90), ("over_90", 91, None))
ZERO = Decimal("0.00")


def _figures(on: date):
    outstanding = Invoice.total_amount - Invoice.paid_amount
    late = literal(on) - Invoice.due_on  # days past due (a date minus a date is an integer in PostgreSQL)
    columns = [func.count().label("invoices"), func.sum(outstanding).label("outstanding"),
               func.sum(case((late > 0, outstanding), else_=0)).label("overdue"),
               func.sum(case((late <= 0, outstanding), else_=0)).label("not_due")]
    for name, first, last in BUCKETS:
        within = late >= first if last is None else and_(late >= first, late <= last)
        columns.append(func.sum(case((within, outstanding), else_=0)).label(name))
    return columns


def _row(row, on_key: dict) -> dict:
    aging = {name: kopecks(getattr(row, name)) for name in ("not_due", *(name for name, _, _ in BUCKETS))}
    return {**on_key, "currency": row.currency, "invoices": row.invoices, "outstanding": kopecks(row.outstanding),
            "overdue": kopecks(row.overdue), "aging": aging}


def receivables(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    on = args.get("on") or clock.today()
    by_client = args["by"] == "client"
    key = Invoice.client_id if by_client else Invoice.owner_id
    scope = VISIBILITY.narrow(select(), principal, Invoice.owner_id).where(Invoice.status.in_(OPEN_STATUSES))
    for name in ("owner_id", "client_id"):
        if args.get(name) is not None:
            scope = scope.where(getattr(Invoice, name) == args[name])
    with db.session() as session:
        grouped = session.execute(scope.add_columns(key.label("key"), Invoice.currency, *_figures(on))
                                  .group_by(key, Invoice.currency)
                                  .order_by(func.sum(Invoice.total_amount - Invoice.paid_amount).desc(), key)
                                  .limit(args["limit"])).all()
        totals = session.execute(scope.add_columns(Invoice.currency, *_figures(on)).group_by(Invoice.currency)
                                 .order_by(Invoice.currency)).all()
        keys = {row.key for row in grouped if row.key is not None}
        rows = [_row(row, {"client_id" if by_client else "owner_id": row.key}) for row in grouped]
        if by_client:
            names = dict(session.execute(select(Client.client_id, Client.name).where(Client.client_id.in_(keys))).all())
            credit = _credits(session, principal, keys)
            for row in rows:
                row["client_name"] = names.get(row["client_id"])
                row["credit"] = credit.get((row["client_id"], row["currency"]), ZERO)
        else:
            names = dict(session.execute(select(User.user_id, User.full_name).where(User.user_id.in_(keys))).all())
            for row in rows:
                row["owner_name"] = names.get(row["owner_id"])
        answer = {"on": on, "by": args["by"], "rows": rows, "totals": [_row(row, {}) for row in totals]}
        if args.get("date_from"):
            answer["period"] = _planned_vs_received(session, principal, args)
        return answer


def _credits(session, principal: Principal, client_ids: set) -> dict:
    """(client, currency) -> what its recorded payments have not allocated yet."""
    if not client_ids:
        return {}
    stmt = (select(Payment.client_id, Payment.currency, func.sum(Payment.amount - Payment.allocated_amount))
            .where(Payment.status == "recorded", Payment.allocated_amount < Payment.amount,
                   Payment.client_id.in_(client_ids)).group_by(Payment.client_id, Payment.currency))
    stmt = VISIBILITY.narrow(stmt, principal, Payment.owner_id)
    return {(client_id, currency): amount for client_id, currency, amount in session.execute(stmt)}


def _planned_vs_received(session, principal: Principal, args: dict) -> list[dict]:
    first, last = args["date_from"], args["date_to"]
    planned = VISIBILITY.narrow(
        select(Invoice.currency, func.sum(PlannedPayment.amount))
        .join(Invoice, Invoice.id == PlannedPayment.invoice_id)
        .where(PlannedPayment.due_on.between(first, last), Invoice.status != "cancelled")
        .group_by(Invoice.currency), principal, Invoice.owner_id)
    received = VISIBILITY.narrow(
        select(Payment.currency, func.sum(Payment.amount))
        .where(Payment.paid_on.between(first, last), Payment.status == "recorded")
        .group_by(Payment.currency), principal, Payment.owner_id)
    for name in ("owner_id", "client_id"):
        if args.get(name) is not None:
            planned = planned.where(getattr(Invoice, name) == args[name])
            received = received.where(getattr(Payment, name) == args[name])
    plan, got = dict(session.execute(planned).all()), dict(session.execute(received).all())
    return [{"date_from": first, "date_to": last, "currency": currency, "planned": plan.get(currency, ZERO),
             "received": got.get(currency, ZERO)} for currency in sorted(set(plan) | set(got))]
