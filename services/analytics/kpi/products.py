"""/kpi/products: the revenue of the invoices paid in full in the period per product of their lines, and why the
deals lost in the period that had an invoice with a product were lost, per product."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from services.analytics.kpi.billing import paid_in_full_in
from services.analytics.kpi.conditions import DealConditions
from services.analytics.kpi.measures import Measures, add_money, aggregate, money
from services.analytics.kpi.scope import Scope, people, ratio
from services.analytics.kpi.segments import reason_names
from services.analytics.models import Deal, Invoice, InvoiceLine, Product

QUANTITY = 3  # decimal places of a quantity


def _revenue(session: Session, scope: Scope) -> list[dict]:
    """Per product (None: free-text lines): the paid invoices with such lines, their quantity, and their amount
    (VAT included) at the rate of the day the invoice was paid in full."""
    per_invoice = (select(InvoiceLine.product_id, Invoice.currency, Invoice.last_paid_on.label("day"),
                          func.sum(InvoiceLine.quantity).label("quantity"),
                          func.sum(InvoiceLine.amount).label("amount"))
                   .select_from(Invoice.__table__.join(InvoiceLine.__table__,
                                                       InvoiceLine.invoice_id == Invoice.invoice_id))
                   .where(paid_in_full_in(scope), *people(scope, Invoice.owner_id))
                   .group_by(Invoice.invoice_id, InvoiceLine.product_id).subquery("per_invoice"))
    rows = per_invoice.c
    return aggregate(session, per_invoice, {"product_id": rows.product_id}, rows.currency, rows.day, Measures(
        counts={"invoices": true()}, sums={"quantity": (rows.quantity, true())},
        money={"revenue": (rows.amount, true())}), [], scope.base_currency, unit="invoices")


def _lost(session: Session, scope: Scope) -> dict:
    """{product: {reason: deals}} over the deals lost in the period with an invoice (whatever its status) that
    has a line of the product; a deal counts once per product."""
    pairs = (select(InvoiceLine.product_id, Deal.deal_id, Deal.lost_reason_id).distinct()
             .select_from(Deal.__table__.join(Invoice.__table__, Invoice.deal_id == Deal.deal_id)
                          .join(InvoiceLine.__table__, InvoiceLine.invoice_id == Invoice.invoice_id))
             .where(DealConditions.lost_in(scope), InvoiceLine.product_id.is_not(None), *people(scope, Deal.owner_id))
             .subquery("lost_with_product"))
    out: dict = {}
    for product_id, reason_id, deals in session.execute(
            select(pairs.c.product_id, pairs.c.lost_reason_id, func.count())
            .group_by(pairs.c.product_id, pairs.c.lost_reason_id)):
        out.setdefault(product_id, {})[reason_id] = deals
    return out


def products(session: Session, scope: Scope) -> dict:
    revenue, lost = _revenue(session, scope), _lost(session, scope)
    ids = {row["product_id"] for row in revenue} | set(lost)
    known = {product.product_id: product for product in session.scalars(
        select(Product).where(Product.product_id.in_([product_id for product_id in ids if product_id is not None])))}
    reason_ids = list({reason for by in lost.values() for reason in by if reason is not None})
    reasons = reason_names(session, reason_ids) if reason_ids else {}

    def named(product_id) -> dict:
        product = known.get(product_id)
        return {"product_id": product_id, "sku": product.sku if product else None,
                "name": product.name if product else None}

    items = [{**named(row["product_id"]), "invoices": row["invoices"],
              "quantity": None if row["product_id"] is None else row["quantity"].quantize(Decimal(10) ** -QUANTITY),
              "revenue": row["revenue"]} for row in revenue]
    items.sort(key=lambda item: (-item["revenue"]["amount"], item["product_id"] is None, str(item["product_id"])))
    lost_items = []
    for product_id, by_reason in lost.items():
        total = sum(by_reason.values())
        lost_items.append({**named(product_id), "lost_deals": total, "reasons": sorted((
            {"reason_id": reason, "name": reasons.get(reason), "deals": deals, "share": ratio(deals, total)}
            for reason, deals in by_reason.items()), key=lambda item: (-item["deals"], str(item["reason_id"])))})
    lost_items.sort(key=lambda item: (-item["lost_deals"], str(item["product_id"])))
    return {"period": scope.period(), "base_currency": scope.base_currency,
            "revenue": add_money(money(None, scope.base_currency, None, "invoices"), *(i["revenue"] for i in items)),
            "items": items, "lost": lost_items}
