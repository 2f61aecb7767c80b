"""What the billing KPIs (/kpi/payments, /kpi/fulfilment, /kpi/products, /kpi/clients) share: which invoices and
payments a question is about, and the figures several of them give (money received, invoices issued). Dates are
days (UTC): a row is in the period when `from <= day <= to`. Whose an invoice, payment or document is: its owner
(the client's current owner, models.py). Money converts at the rate of the row's day (measures.py)."""
from __future__ import annotations

from sqlalchemy import and_, func, select, true
from sqlalchemy.orm import Session

from services.analytics.kpi.measures import Measures, aggregate
from services.analytics.kpi.scope import Scope, people, sql_date
from services.analytics.models import Invoice, Payment, PaymentAllocation

ISSUED = Invoice.status.in_(("issued", "partially_paid", "paid"))  # issued and not cancelled
OPEN = Invoice.status.in_(("issued", "partially_paid"))  # owes something now
RECORDED = Payment.status == "recorded"


def within(column, scope: Scope):
    return and_(column >= sql_date(scope.date_from), column <= sql_date(scope.date_to))


def month_of(column):
    return func.to_char(column, "YYYY-MM")


def months(scope: Scope) -> list[str]:
    first, last = scope.date_from, scope.date_to
    out, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def paid_in_full_in(scope: Scope):
    """Invoices paid in full now whose payments' latest paid_on is in the period."""
    return and_(Invoice.status == "paid", within(Invoice.last_paid_on, scope))


def allocated(until=None, on_time: bool = False):
    """A select of one row, `paid`: what the recorded payments allocated to the invoice row paid of it (those with
    paid_on up to `until`, or up to its due date). As a scalar subquery, or joined LATERAL when several figures use
    it (a scalar subquery would run once per use)."""
    conditions = [PaymentAllocation.invoice_id == Invoice.invoice_id, PaymentAllocation.reversed.is_(False)]
    if until is not None:
        conditions.append(PaymentAllocation.paid_on <= sql_date(until))
    if on_time:
        conditions.append(PaymentAllocation.paid_on <= Invoice.due_on)
    return select(func.coalesce(func.sum(PaymentAllocation.amount), 0).label("paid")).where(*conditions)


def received(session: Session, scope: Scope, keys: dict) -> list[dict]:
    """Per key: the payments recorded (not reversed) with paid_on in the period, their amount (`received`), and
    the amount of those reversed since (`reversed`), at the rate of paid_on."""
    return aggregate(session, Payment.__table__, keys, Payment.currency, Payment.paid_on, Measures(
        counts={"payments": RECORDED},
        money={"received": (Payment.amount, RECORDED), "reversed": (Payment.amount, Payment.status == "reversed")}),
        [within(Payment.paid_on, scope), *people(scope, Payment.owner_id)], scope.base_currency, unit="payments")


def invoiced(session: Session, scope: Scope) -> dict:
    """The invoices issued in the period and not cancelled: how many, and their totals at the rate of issued_on."""
    [row] = aggregate(session, Invoice.__table__, {}, Invoice.currency, Invoice.issued_on, Measures(
        counts={"invoices": true()}, money={"amount": (Invoice.total_amount, true())}),
        [ISSUED, within(Invoice.issued_on, scope), *people(scope, Invoice.owner_id)], scope.base_currency,
        unit="invoices")
    return row
