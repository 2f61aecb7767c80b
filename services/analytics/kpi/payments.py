"""/kpi/payments: money planned against money received (in total, per month and per manager), how much of the
invoices paid in full was paid on time, what is owed on the last day of the period by how late it is, and DSO."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import and_, or_, select, true, union_all
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import (ISSUED, OPEN, allocated, invoiced, month_of, months, paid_in_full_in,
                                            received, within)
from services.analytics.kpi.measures import Measures, aggregate, cents, money
from services.analytics.kpi.scope import Scope, people, ratio, sql_date
from services.analytics.models import Invoice, Payment, PlannedPayment, User

# (name, first day late, last day late): the aging buckets of what is owed, by days past the due date
BUCKETS = (("not_due", None, 0), ("days_1_30", 1, 30), ("days_31_60", 31, 60), ("days_61_90", 61, 90),
           ("over_90", 91, None))


def _planned_rows(scope: Scope):
    """The instalments of the plans of issued invoices due in the period, and the due dates (with the whole total)
    of issued invoices without a plan."""
    filters = [ISSUED, *people(scope, Invoice.owner_id)]
    instalments = (select(Invoice.owner_id, PlannedPayment.due_on.label("day"), Invoice.currency,
                          PlannedPayment.amount)
                   .select_from(PlannedPayment.__table__.join(Invoice.__table__,
                                                              Invoice.invoice_id == PlannedPayment.invoice_id))
                   .where(within(PlannedPayment.due_on, scope), *filters))
    unplanned = (select(Invoice.owner_id, Invoice.due_on, Invoice.currency, Invoice.total_amount)
                 .where(within(Invoice.due_on, scope), *filters, ~Invoice.has_plan))
    return union_all(instalments, unplanned).subquery("planned")


def _planned(session: Session, scope: Scope, keys) -> list[dict]:
    """Per key (`keys(rows)`): the instalments planned in the period and their amount at the rate of their day."""
    source = _planned_rows(scope)
    rows = source.c
    return aggregate(session, source, keys(rows), rows.currency, rows.day, Measures(
        counts={"instalments": true()}, money={"planned": (rows.amount, true())}), [], scope.base_currency,
        unit="instalments")


def _by(session: Session, scope: Scope, name: str, planned_key, received_key) -> dict:
    """{key: {"planned", "received"}} over the keys either side has."""
    planned = {row[name]: row["planned"] for row in _planned(session, scope, lambda rows: {name: planned_key(rows)})}
    got = {row[name]: row["received"] for row in received(session, scope, {name: received_key})}
    return {key: {"planned": planned.get(key) or money(None, scope.base_currency, None, "instalments"),
                  "received": got.get(key) or money(None, scope.base_currency, None, "payments")}
            for key in set(planned) | set(got)}


def _on_time(session: Session, scope: Scope) -> dict:
    """The invoices paid in full in the period: how many were paid in full by their due date, and how much of
    their amount was paid on or before it (at the rate of the day they were paid in full)."""
    [row] = aggregate(session, Invoice.__table__, {}, Invoice.currency, Invoice.last_paid_on, Measures(
        counts={"invoices": true(), "on_time_invoices": Invoice.last_paid_on <= Invoice.due_on},
        money={"amount": (Invoice.total_amount, true()),
               "paid_on_time": (allocated(on_time=True).scalar_subquery(), true())}),
        [paid_in_full_in(scope), *people(scope, Invoice.owner_id)], scope.base_currency, unit="invoices")
    return {**row, "share": ratio(row["paid_on_time"]["amount"], row["amount"]["amount"])}


def receivables_owed(session: Session, scope: Scope) -> dict:
    """What the invoices issued by `to` still owed at the end of that day (their total less the recorded payments
    with paid_on up to it), by days past the due date, at the rate of `to`."""
    end = scope.date_to
    paid = allocated(until=end).lateral("paid_by_then")
    # only invoices open now or paid in full after `to` can have owed something then (two partial indexes)
    source = (select(Invoice.currency, Invoice.due_on, (Invoice.total_amount - paid.c.paid).label("owed"))
              .select_from(Invoice.__table__.join(paid, true()))
              .where(Invoice.issued_on <= sql_date(end),
                     or_(OPEN, and_(Invoice.status == "paid", Invoice.last_paid_on > sql_date(end))),
                     *people(scope, Invoice.owner_id)).subquery("owing"))
    rows = source.c
    late = sql_date(end) - rows.due_on
    buckets = {name: (rows.owed, late <= last if first is None else late >= first if last is None
                      else and_(late >= first, late <= last)) for name, first, last in BUCKETS}
    [row] = aggregate(session, source, {}, rows.currency, sql_date(end), Measures(
        counts={"invoices": true(), "overdue_invoices": late > 0},
        money={"total": (rows.owed, true()), "overdue": (rows.owed, late > 0), **buckets}),
        [rows.owed > 0], scope.base_currency, unit="invoices")
    return {"as_of": end, "invoices": row["invoices"], "overdue_invoices": row["overdue_invoices"],
            "total": row["total"], "overdue": row["overdue"], "aging": {name: row[name] for name, _, _ in BUCKETS}}


def _dso(receivables: dict, issued: dict, scope: Scope) -> Decimal | None:
    """receivables at the end / invoiced in the period x days in the period, over the amounts in the base currency
    (their unconverted parts are listed beside them); null when nothing (convertible) was invoiced."""
    base = issued["amount"]["amount"]
    if not base:
        return None
    return cents(receivables["total"]["amount"] / base * ((scope.date_to - scope.date_from).days + 1))


def payments(session: Session, scope: Scope) -> dict:
    [total_planned] = _planned(session, scope, lambda rows: {})
    [total_received] = received(session, scope, {})
    per_month = _by(session, scope, "month", lambda rows: month_of(rows.day), month_of(Payment.paid_on))
    per_manager = _by(session, scope, "owner_id", lambda rows: rows.owner_id, Payment.owner_id)
    names = dict(session.execute(select(User.user_id, User.full_name)
                                 .where(User.user_id.in_([key for key in per_manager if key is not None]))).all())
    nothing = {"planned": money(None, scope.base_currency, None, "instalments"),
               "received": money(None, scope.base_currency, None, "payments")}
    receivables, issued = receivables_owed(session, scope), invoiced(session, scope)
    return {
        "period": scope.period(), "base_currency": scope.base_currency,
        "planned": total_planned["planned"], "received": total_received["received"],
        "reversed": total_received["reversed"],
        "by_month": [{"month": month, **per_month.get(month, nothing)} for month in months(scope)],
        "by_manager": sorted(({"manager_id": owner, "name": names.get(owner), **figures}
                              for owner, figures in per_manager.items()),
                             key=lambda row: (row["name"] is None, row["name"] or "", str(row["manager_id"]))),
        "on_time": _on_time(session, scope), "receivables": receivables, "invoiced": issued,
        "dso": _dso(receivables, issued, scope),
    }
