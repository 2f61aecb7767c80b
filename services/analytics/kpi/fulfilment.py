"""/kpi/fulfilment: invoiced against shipped against paid in the period, and, now, what was shipped and is not paid
and what was paid and is not shipped."""
from __future__ import annotations

from sqlalchemy import true
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import OPEN, invoiced, received, within
from services.analytics.kpi.measures import Measures, add_money, aggregate, money
from services.analytics.kpi.scope import Scope, people, sql_date
from services.analytics.models import Delivery, Invoice

KINDS = {"shipment": "shipments", "service_act": "service_acts"}


def _shipped(session: Session, scope: Scope) -> dict:
    """Shipments delivered and acts signed in the period (done_on), at the rate of that day."""
    rows = {row["kind"]: row for row in aggregate(
        session, Delivery.__table__, {"kind": Delivery.kind}, Delivery.currency, Delivery.done_on,
        Measures(counts={"documents": true()}, money={"amount": (Delivery.total_amount, true())}),
        [within(Delivery.done_on, scope), *people(scope, Delivery.owner_id)], scope.base_currency, unit="documents")}
    nothing = {"documents": 0, "amount": money(None, scope.base_currency, None, "documents")}
    kinds = {name: {key: rows.get(kind, nothing)[key] for key in ("documents", "amount")}
             for kind, name in KINDS.items()}
    return {"documents": sum(kind["documents"] for kind in kinds.values()),
            "amount": add_money(*(kind["amount"] for kind in kinds.values())), **kinds}


def _now(session: Session, scope: Scope, condition, figure: str, amount) -> dict:
    """The invoices matching `condition` now, and the sum of `amount` over them at today's rate."""
    [row] = aggregate(session, Invoice.__table__, {}, Invoice.currency, sql_date(scope.today), Measures(
        counts={"invoices": true()}, money={figure: (amount, true())}),
        [*condition, *people(scope, Invoice.owner_id)], scope.base_currency, unit="invoices")
    return row


def fulfilment(session: Session, scope: Scope) -> dict:
    [paid] = received(session, scope, {})
    return {
        "period": scope.period(), "base_currency": scope.base_currency, "as_of": scope.now,
        "invoiced": invoiced(session, scope),
        "shipped": _shipped(session, scope),
        "paid": {"payments": paid["payments"], "amount": paid["received"]},
        # open invoices something was delivered or signed against: what they still owe
        "shipped_unpaid": _now(session, scope, [OPEN, Invoice.shipped_amount > 0], "outstanding",
                               Invoice.total_amount - Invoice.paid_amount),
        # invoices paid in full whose lines the delivered and signed documents do not all cover: the rest of them
        "paid_not_shipped": _now(session, scope, [Invoice.status == "paid", ~Invoice.fully_shipped],
                                 "unshipped", Invoice.total_amount - Invoice.shipped_amount),
    }
