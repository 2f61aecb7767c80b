"""Receivables: what clients owe on issued, not fully paid invoices, per client or per manager and currency, with
aging buckets counted from the due date on a given day, the clients' credit (payments not allocated yet), and,
for a period, what the payment plans expected against what was received.

However many invoices there are, a question reads only what PostgreSQL keeps summed (models.py, "receivables kept by
PostgreSQL"): the clients ranked by what they owe, the totals and managers' rows from the amounts per owner, currency
and due day, the instalments planned in a period from theirs. The figures of the clients on the page, and everything
about one client, come from their own open invoices and plans."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import and_, func, literal, null, select, union_all

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.policy import require
from services.billing.models import (OPEN_STATUSES, Client, Invoice, OpenReceivablesByClient, OpenReceivablesByDay,
                                     Payment, PlannedByDay, PlannedPayment, User)
from services.billing.service.amounts import kopecks
from services.billing.service.policy import READERS, VISIBILITY

BUCKETS = (("days_1_30", 1, 30), ("days_31_60", 31, 60), ("days_61_90", 61, 90), ("over_90", 91, None))
FIGURES = ("invoices", "outstanding", "overdue", "not_due", *(name for name, _, _ in BUCKETS))
ZERO = Decimal("0.00")


def _figures(on: date, invoices, owed, due_on):
    """The count, outstanding, overdue, not yet due and aging columns of rows that owe `owed` by `due_on`. Each row
    is added to the sums it falls in only (FILTER: a third of the additions of summing zeros elsewhere)."""
    late = literal(on) - due_on  # days past due (a date minus a date is an integer in PostgreSQL)

    def owed_if(condition, name: str):
        return func.coalesce(func.sum(owed).filter(condition), 0).label(name)

    columns = [invoices.label("invoices"), func.sum(owed).label("outstanding"), owed_if(late > 0, "overdue"),
               owed_if(late <= 0, "not_due")]
    for name, first, last in BUCKETS:
        columns.append(owed_if(late >= first if last is None else and_(late >= first, late <= last), name))
    return columns


def _of_invoices(on: date):
    return _figures(on, func.count(), Invoice.total_amount - Invoice.paid_amount, Invoice.due_on)


def _of_days(on: date):
    return _figures(on, func.sum(OpenReceivablesByDay.invoices), OpenReceivablesByDay.outstanding,
                    OpenReceivablesByDay.due_on)


def _row(row: dict, on_key: dict) -> dict:
    aging = {name: kopecks(row[name]) for name in ("not_due", *(name for name, _, _ in BUCKETS))}
    return {**on_key, "currency": row["currency"], "invoices": row["invoices"],
            "outstanding": kopecks(row["outstanding"]), "overdue": kopecks(row["overdue"]), "aging": aging}


def _narrowed(stmt, principal: Principal, model, args: dict, names=("owner_id", "client_id")):
    """The caller's own rows (a manager), and those of the owner or client asked for."""
    stmt = VISIBILITY.narrow(stmt, principal, model.owner_id)
    for name in names:
        if args.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == args[name])
    return stmt


def receivables(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    on = args.get("on") or clock.today()
    by_client = args["by"] == "client"
    with db.session() as session:
        if args.get("client_id") is not None:  # one client's few open invoices, summed as they are
            open_invoices = _narrowed(select(), principal, Invoice, args).where(Invoice.status.in_(OPEN_STATUSES))
            key = Invoice.client_id if by_client else Invoice.owner_id
            grouped = _dicts(session.execute(
                open_invoices.add_columns(key.label("key"), Invoice.currency, *_of_invoices(on))
                .group_by(key, Invoice.currency)
                .order_by(func.sum(Invoice.total_amount - Invoice.paid_amount).desc(), key).limit(args["limit"])))
            totals = _dicts(session.execute(open_invoices.add_columns(Invoice.currency, *_of_invoices(on))
                                            .group_by(Invoice.currency).order_by(Invoice.currency)))
        else:
            days = _narrowed(select(), principal, OpenReceivablesByDay, args, ("owner_id",))
            if by_client:
                grouped = _clients_page(session, principal, args, on)
                totals = _dicts(session.execute(days.add_columns(OpenReceivablesByDay.currency, *_of_days(on))
                                                .group_by(OpenReceivablesByDay.currency)
                                                .order_by(OpenReceivablesByDay.currency)))
            else:
                grouped, totals = _managers(session, days, on, args["limit"])
        keys = {row["key"] for row in grouped if row["key"] is not None}
        rows = [_row(row, {"client_id" if by_client else "owner_id": row["key"]}) for row in grouped]
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


def _dicts(result) -> list[dict]:
    return [dict(row._mapping) for row in result]


def _managers(session, days, on: date, limit: int) -> tuple[list[dict], list[dict]]:
    """The owners (and currencies) that are owed the most, largest first, and the totals per currency, in one pass
    over the kept totals: both are sums of the same per-owner figures."""
    owners = (days.add_columns(OpenReceivablesByDay.owner_id.label("key"), OpenReceivablesByDay.currency,
                               *_of_days(on))
              .group_by(OpenReceivablesByDay.owner_id, OpenReceivablesByDay.currency).cte("owners"))
    page = (select(literal(False).label("total"), owners).order_by(owners.c.outstanding.desc(), owners.c.key)
            .limit(limit).subquery())
    sums = (select(literal(True).label("total"), null().label("key"), owners.c.currency,
                   *(func.sum(owners.c[name]).label(name) for name in FIGURES)).group_by(owners.c.currency))
    rows = _dicts(session.execute(union_all(select(page), sums)))
    for row in rows:
        row["invoices"] = int(row["invoices"])  # a sum of counts comes back as numeric
    grouped = sorted((row for row in rows if not row["total"]),
                     key=lambda row: (-row["outstanding"], row["key"] is None, str(row["key"])))
    return grouped, sorted((row for row in rows if row["total"]), key=lambda row: row["currency"])


def _clients_page(session, principal: Principal, args: dict, on: date) -> list:
    """The clients (and currencies) that owe the most, ranked by their kept totals, with their figures summed from
    their own open invoices, largest first. A client's open invoices all have its owner (a reassignment moves them
    together); should two owners' be open at once, the client ranks by the larger part and shows the whole."""
    ranked = session.execute(
        _narrowed(select(OpenReceivablesByClient.client_id, OpenReceivablesByClient.currency), principal,
                  OpenReceivablesByClient, args, ("owner_id",))
        .order_by(OpenReceivablesByClient.outstanding.desc(), OpenReceivablesByClient.client_id)
        .limit(args["limit"])).all()
    if not ranked:
        return []
    pairs = {tuple(pair) for pair in ranked}
    figures = _dicts(session.execute(
        _narrowed(select(Invoice.client_id.label("key"), Invoice.currency, *_of_invoices(on)), principal, Invoice,
                  args, ("owner_id",))
        .where(Invoice.status.in_(OPEN_STATUSES), Invoice.client_id.in_({client for client, _ in pairs}))
        .group_by(Invoice.client_id, Invoice.currency)))
    page = [row for row in figures if (row["key"], row["currency"]) in pairs]
    return sorted(page, key=lambda row: (-row["outstanding"], str(row["key"])))


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
    """The instalments due in the period (of invoices not cancelled) and the payments received in it, per currency.
    The instalments come from their kept totals, or for one client from its invoices' plans."""
    first, last = args["date_from"], args["date_to"]
    if args.get("client_id") is None:
        planned = _narrowed(select(PlannedByDay.currency, func.sum(PlannedByDay.amount))
                            .where(PlannedByDay.due_on.between(first, last)).group_by(PlannedByDay.currency),
                            principal, PlannedByDay, args, ("owner_id",))
    else:
        planned = _narrowed(select(Invoice.currency, func.sum(PlannedPayment.amount))
                            .join(Invoice, Invoice.id == PlannedPayment.invoice_id)
                            .where(PlannedPayment.due_on.between(first, last), Invoice.status != "cancelled")
                            .group_by(Invoice.currency), principal, Invoice, args)
    received = _narrowed(select(Payment.currency, func.sum(Payment.amount))
                         .where(Payment.paid_on.between(first, last), Payment.status == "recorded")
                         .group_by(Payment.currency), principal, Payment, args)
    plan, got = dict(session.execute(planned).all()), dict(session.execute(received).all())
    return [{"date_from": first, "date_to": last, "currency": currency, "planned": plan.get(currency, ZERO),
             "received": got.get(currency, ZERO)} for currency in sorted(set(plan) | set(got))]
