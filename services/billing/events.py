"""The events the billing service emits on crm.billing.events (schemas in contracts/events/, rules in
docs/events.md). Each carries the whole record after the change (the snapshot) with the names a subscriber needs
(the client's, the invoice numbers), so that nobody calls back: analytics builds the payment and fulfilment KPIs
from them, notifications its overdue alerts."""
from __future__ import annotations

from decimal import Decimal

from glassbox.events import DomainEvent, event_source
from glassbox.money import CENT
from services.billing import SPEC
from services.billing.models import Delivery, Invoice, Payment, PlannedPayment, Product

TOPIC = SPEC.topic
SOURCE = "/crm/billing"

PRODUCT_CREATED = "crm.product.created.v1"
PRODUCT_UPDATED = "crm.product.updated.v1"
INVOICE_CREATED = "crm.invoice.created.v1"
INVOICE_UPDATED = "crm.invoice.updated.v1"
INVOICE_ISSUED = "crm.invoice.issued.v1"
INVOICE_CANCELLED = "crm.invoice.cancelled.v1"
INVOICE_PAID = "crm.invoice.paid.v1"
INVOICE_OVERDUE = "crm.invoice.overdue.v1"
PAYMENT_RECORDED = "crm.payment.recorded.v1"
PAYMENT_REVERSED = "crm.payment.reversed.v1"
PAYMENT_PLAN_UPDATED = "crm.payment_plan.updated.v1"
PAYMENT_PLAN_MISSED = "crm.payment_plan.missed.v1"
SHIPMENT_DELIVERED = "crm.shipment.delivered.v1"
SERVICE_ACT_SIGNED = "crm.service_act.signed.v1"

ALL_TYPES = (PRODUCT_CREATED, PRODUCT_UPDATED, INVOICE_CREATED, INVOICE_UPDATED, INVOICE_ISSUED, INVOICE_CANCELLED,
             INVOICE_PAID, INVOICE_OVERDUE, PAYMENT_RECORDED, PAYMENT_REVERSED, PAYMENT_PLAN_UPDATED,
             PAYMENT_PLAN_MISSED, SHIPMENT_DELIVERED, SERVICE_ACT_SIGNED)

PRODUCT_FIELDS = ("sku", "name", "kind", "unit_name", "unit_code", "vat_rate", "is_active", "created_at",
                  "updated_at")
INVOICE_FIELDS = ("number", "status", "client_id", "deal_id", "owner_id", "currency", "issued_on", "due_on",
                  "created_at", "updated_at", "issued_at", "paid_at", "cancelled_at", "cancel_reason")
LINE_FIELDS = ("position", "product_id", "kind", "description", "unit_name", "unit_code", "quantity", "unit_price",
               "discount_percent", "vat_rate", "net_amount", "vat_amount", "amount")


def money(amount: Decimal, currency: str) -> dict:
    """The wire form of money: exactly two decimals ("12.50"), whatever the amount was given as ("12.5")."""
    return {"amount": amount.quantize(CENT), "currency": currency}


def product_snapshot(product: Product) -> dict:
    return {"product_id": product.id, **{name: getattr(product, name) for name in PRODUCT_FIELDS},
            "price": money(product.price_amount, product.price_currency)}


def invoice_snapshot(invoice: Invoice, client_name: str | None) -> dict:
    currency = invoice.currency
    return {
        "invoice_id": invoice.id, **{name: getattr(invoice, name) for name in INVOICE_FIELDS},
        "client_name": client_name,
        "net": money(invoice.net_amount, currency), "vat": money(invoice.vat_amount, currency),
        "total": money(invoice.total_amount, currency), "paid": money(invoice.paid_amount, currency),
        "outstanding": money(invoice.outstanding_amount, currency),
        "lines": [{"line_id": line.id, **{name: getattr(line, name) for name in LINE_FIELDS}}
                  for line in invoice.lines],
    }


def payment_snapshot(payment: Payment, client_name: str | None) -> dict:
    currency = payment.currency
    return {
        "payment_id": payment.id, "client_id": payment.client_id, "client_name": client_name,
        "owner_id": payment.owner_id, "amount": money(payment.amount, currency), "paid_on": payment.paid_on,
        "method": payment.method, "reference": payment.reference, "payer_inn": payment.payer_inn,
        "status": payment.status, "statement_id": payment.statement_id,
        "allocated": money(payment.allocated_amount, currency),
        "unallocated": money(payment.unallocated_amount, currency),
        "allocations": [{"invoice_id": a.invoice_id, "invoice_number": a.invoice.number,
                         "amount": money(a.amount, currency), "invoice_status": a.invoice.status,
                         "invoice_due_on": a.invoice.due_on, "invoice_owner_id": a.invoice.owner_id}
                        for a in payment.allocations],
        "created_at": payment.created_at, "reversed_at": payment.reversed_at,
        "reversal_reason": payment.reversal_reason,
    }


def delivery_snapshot(delivery: Delivery) -> dict:
    currency = delivery.currency
    return {
        "document_id": delivery.id, "kind": delivery.kind, "number": delivery.number,
        "invoice_id": delivery.invoice_id, "invoice_number": delivery.invoice.number,
        "client_id": delivery.client_id, "owner_id": delivery.owner_id, "status": delivery.status,
        "issued_on": delivery.issued_on, "done_on": delivery.done_on,
        "net": money(delivery.net_amount, currency), "vat": money(delivery.vat_amount, currency),
        "total": money(delivery.total_amount, currency),
        "lines": [{"invoice_line_id": line.invoice_line_id, "product_id": line.invoice_line.product_id,
                   "description": line.invoice_line.description, "quantity": line.quantity,
                   "amount": money(line.amount, currency)} for line in delivery.lines],
    }


def plan_snapshot(invoice: Invoice) -> dict:
    return {"invoice_id": invoice.id, "number": invoice.number, "client_id": invoice.client_id,
            "owner_id": invoice.owner_id, "currency": invoice.currency,
            "total": money(invoice.total_amount, invoice.currency),
            "items": [{"due_on": item.due_on, "amount": money(item.amount, invoice.currency)}
                      for item in invoice.plan]}


_event = event_source(SOURCE)


def product_created(product: Product, actor_id: str) -> DomainEvent:
    return _event(PRODUCT_CREATED, product.id, product_snapshot(product), actor_id)


def product_updated(product: Product, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(PRODUCT_UPDATED, product.id, {**product_snapshot(product), "changed": changed}, actor_id)


# Invoice events (and its plan's) are keyed by the invoice id: the events of one invoice stay in order.
def invoice_event(type_: str, invoice: Invoice, client_name: str | None, actor_id: str, **extra) -> DomainEvent:
    return _event(type_, invoice.id, {**invoice_snapshot(invoice, client_name), **extra}, actor_id)


def payment_event(type_: str, payment: Payment, client_name: str | None, actor_id: str) -> DomainEvent:
    return _event(type_, payment.id, payment_snapshot(payment, client_name), actor_id)


def payment_plan_updated(invoice: Invoice, actor_id: str) -> DomainEvent:
    return _event(PAYMENT_PLAN_UPDATED, invoice.id, plan_snapshot(invoice), actor_id)


def payment_plan_missed(invoice: Invoice, item: PlannedPayment, client_name: str | None, planned_by_then: Decimal,
                        paid: Decimal, actor_id: str) -> DomainEvent:
    currency = invoice.currency
    return _event(PAYMENT_PLAN_MISSED, invoice.id, {
        **plan_snapshot(invoice), "client_name": client_name, "due_on": item.due_on,
        "planned": money(item.amount, currency), "planned_by_then": money(planned_by_then, currency),
        "paid": money(paid, currency), "shortfall": money(planned_by_then - paid, currency)}, actor_id)


def delivery_done(delivery: Delivery, actor_id: str) -> DomainEvent:
    type_ = SHIPMENT_DELIVERED if delivery.kind == "shipment" else SERVICE_ACT_SIGNED
    return _event(type_, delivery.id, delivery_snapshot(delivery), actor_id)
