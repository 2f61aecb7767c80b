"""What analytics reads of crm.billing.events: products, invoices and their lines, payment plans, payments and their
allocations, delivered shipments and signed acts, projected into the billing read models of
services/analytics/models.py (the rules of services/analytics/consumers.py hold here too: tolerant readers, rows only
move forward in CloudEvent time, one bulk statement per table and shape).

Every event carries its whole record after the change; its children (an invoice's lines, a payment's allocations,
a plan's instalments, a document's lines) are replaced with the parent's row, only when the parent row takes the
event (projection.replace_children). What an invoice derives from other read models (the day it was paid in full,
what its documents cover) and whose it is (the client's current owner, when analytics knows the client) is computed
again, by the same statement, whenever a batch writes anything it depends on: so it depends only on the rows,
whatever the order the events came in."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import batched, serialized_by
from services.analytics import projection
from services.analytics.payloads import aggregate_id, as_date, as_text, as_uuid, carried, client_of

PRODUCT_TYPES = ("crm.product.created.v1", "crm.product.updated.v1")
INVOICE_TYPES = ("crm.invoice.created.v1", "crm.invoice.updated.v1", "crm.invoice.issued.v1",
                 "crm.invoice.cancelled.v1", "crm.invoice.paid.v1")
PAYMENT_TYPES = ("crm.payment.recorded.v1", "crm.payment.reversed.v1")
PLAN_UPDATED = "crm.payment_plan.updated.v1"
DELIVERY_TYPES = ("crm.shipment.delivered.v1", "crm.service_act.signed.v1")
# Announcements of what the KPIs derive themselves from the dates (overdue, a missed instalment).
NOT_NEEDED = ("crm.invoice.overdue.v1", "crm.payment_plan.missed.v1")

PRODUCT = {"sku": ("sku", as_text), "name": ("name", as_text), "kind": ("kind", as_text)}
INVOICE = {"number": ("number", as_text), "status": ("status", as_text), "client_id": ("client_id", as_uuid),
           "deal_id": ("deal_id", as_uuid), "owner_id": ("owner_id", as_uuid), "currency": ("currency", as_text),
           "issued_on": ("issued_on", as_date), "due_on": ("due_on", as_date)}
PAYMENT = {"client_id": ("client_id", as_uuid), "owner_id": ("owner_id", as_uuid), "paid_on": ("paid_on", as_date),
           "status": ("status", as_text)}
DELIVERY = {"kind": ("kind", as_text), "invoice_id": ("invoice_id", as_uuid), "client_id": ("client_id", as_uuid),
            "owner_id": ("owner_id", as_uuid), "done_on": ("done_on", as_date)}


def _amount(data: dict, name: str) -> Decimal | None:
    money = data.get(name)
    return None if money is None else Decimal(str(money["amount"]))


def _with_amounts(values: dict, data: dict, columns: dict) -> dict:
    """values + {column: the amount of the money field} for each `field -> column` the payload carries."""
    return {**values, **{column: _amount(data, name) for name, column in columns.items() if name in data}}


# -- derived columns ---------------------------------------------------------------------------------------

# An invoice's: the latest paid_on of the recorded payments allocated to it; the amount of its documents and whether
# they cover every line's quantity; whether it has a plan; the client's current owner (the snapshot's while the
# client is unknown).
_DERIVE_INVOICES = """
UPDATE invoices SET last_paid_on = d.last_paid_on, shipped_amount = d.shipped_amount,
                    fully_shipped = d.fully_shipped, has_plan = d.has_plan, owner_id = d.owner_id
FROM (SELECT i.invoice_id,
             (SELECT max(a.paid_on) FROM payment_allocations a
              WHERE a.invoice_id = i.invoice_id AND NOT a.reversed) AS last_paid_on,
             COALESCE((SELECT sum(s.total_amount) FROM deliveries s WHERE s.invoice_id = i.invoice_id), 0)
                 AS shipped_amount,
             NOT EXISTS (SELECT FROM invoice_lines l WHERE l.invoice_id = i.invoice_id AND l.quantity >
                         COALESCE((SELECT sum(dl.quantity) FROM delivery_lines dl
                                   WHERE dl.invoice_line_id = l.line_id), 0)) AS fully_shipped,
             EXISTS (SELECT FROM planned_payments p WHERE p.invoice_id = i.invoice_id) AS has_plan,
             COALESCE((SELECT c.owner_id FROM clients c WHERE c.client_id = i.client_id), i.owner_id) AS owner_id
      FROM invoices i WHERE i.invoice_id = ANY(%(ids)s)) AS d
WHERE invoices.invoice_id = d.invoice_id
  AND (invoices.last_paid_on, invoices.shipped_amount, invoices.fully_shipped, invoices.has_plan, invoices.owner_id)
      IS DISTINCT FROM (d.last_paid_on, d.shipped_amount, d.fully_shipped, d.has_plan, d.owner_id)"""

_OWNED = {"invoices": "invoice_id", "payments": "payment_id", "deliveries": "document_id"}


def _owner_from_clients(table: str, where: str) -> str:
    return (f"UPDATE {table} SET owner_id = c.owner_id FROM clients c WHERE {where} "
            f"AND c.client_id = {table}.client_id AND c.owner_id IS NOT NULL "
            f"AND {table}.owner_id IS DISTINCT FROM c.owner_id")


def derive_invoices(session: Session, invoice_ids) -> None:
    ids = list({uuid.UUID(str(invoice_id)) for invoice_id in invoice_ids if invoice_id is not None})
    if ids:
        session.connection().exec_driver_sql(_DERIVE_INVOICES, {"ids": ids})


def clients_owners_changed(session: Session, client_ids) -> None:
    """Clients whose owner an event told: their invoices, payments and documents are the new owner's now."""
    if not client_ids:
        return
    for table in _OWNED:
        # the ids on both sides of the join, so that each is read through its index (not a scan of the table)
        session.connection().exec_driver_sql(
            _owner_from_clients(table, f"c.client_id = ANY(%(ids)s) AND {table}.client_id = ANY(%(ids)s)"),
            {"ids": list(client_ids)})


def _owned_by_clients(session: Session, table: str, ids: list) -> None:
    if ids:
        session.connection().exec_driver_sql(_owner_from_clients(table, f"{table}.{_OWNED[table]} = ANY(%(ids)s)"),
                                             {"ids": ids})


# -- handlers ----------------------------------------------------------------------------------------------

@batched
def products_changed(session: Session, events: list[DomainEvent]) -> None:
    projection.upsert_newer(session, "products", ("product_id",), [
        ((aggregate_id(event, "product_id"),), event.time, carried(event.data, PRODUCT)) for event in events])


def _line(invoice_id, line: dict) -> dict:
    return {"line_id": as_uuid(line["line_id"]), "invoice_id": invoice_id,
            "product_id": as_uuid(line.get("product_id")), "quantity": Decimal(str(line["quantity"])),
            "amount": Decimal(str(line["amount"]))}


@batched
@serialized_by(client_of)
def invoices_changed(session: Session, events: list[DomainEvent]) -> None:
    """The invoice row and its lines from the snapshot; then what it derives."""
    rows, lines = [], []
    for event in events:
        invoice_id = aggregate_id(event, "invoice_id")
        values = _with_amounts(carried(event.data, INVOICE), event.data,
                               {"total": "total_amount", "paid": "paid_amount"})
        rows.append(((invoice_id,), event.time, values))
        if "lines" in event.data:
            lines.append((invoice_id, event.time, [_line(invoice_id, line) for line in event.data["lines"] or []]))
    projection.upsert_newer(session, "invoices", ("invoice_id",), rows)
    projection.replace_children(session, "invoices", "invoice_id", "invoice_lines", lines)
    derive_invoices(session, [key[0] for key, _, _ in rows])


@batched
@serialized_by(client_of)
def plans_changed(session: Session, events: list[DomainEvent]) -> None:
    """The plan's instalments, replaced whole (an empty list: no plan)."""
    plans, items = [], []
    for event in events:
        invoice_id = aggregate_id(event, "invoice_id")
        plans.append(((invoice_id,), event.time, {}))
        items.append((invoice_id, event.time, [
            {"invoice_id": invoice_id, "due_on": as_date(item["due_on"]), "amount": _amount(item, "amount")}
            for item in event.data.get("items") or []]))
    projection.upsert_newer(session, "payment_plans", ("invoice_id",), plans)
    projection.replace_children(session, "payment_plans", "invoice_id", "planned_payments", items)
    derive_invoices(session, [key[0] for key, _, _ in plans])


@batched
@serialized_by(client_of)
def payments_changed(session: Session, events: list[DomainEvent]) -> None:
    """The payment row and its allocations (each with the payment's day and whether it is reversed); then what
    the invoices they name, before and after, derive from them."""
    rows, allocations, named = [], [], set()
    for event in events:
        data, payment_id = event.data, aggregate_id(event, "payment_id")
        values = carried(data, PAYMENT)
        if "amount" in data:
            values.update(amount=_amount(data, "amount"), currency=str(data["amount"]["currency"]))
        rows.append(((payment_id,), event.time, values))
        if "allocations" in data:
            shares = [{"payment_id": payment_id, "invoice_id": as_uuid(share["invoice_id"]),
                       "amount": _amount(share, "amount"), "paid_on": values.get("paid_on"),
                       "reversed": values.get("status") == "reversed"} for share in data["allocations"] or []]
            allocations.append((payment_id, event.time, shares))
            named.update(share["invoice_id"] for share in shares)
    projection.upsert_newer(session, "payments", ("payment_id",), rows)
    _owned_by_clients(session, "payments", [key[0] for key, _, _ in rows])
    gone = projection.replace_children(session, "payments", "payment_id", "payment_allocations", allocations,
                                       returning="invoice_id")
    derive_invoices(session, {*named, *gone})


@batched
@serialized_by(client_of)
def deliveries_changed(session: Session, events: list[DomainEvent]) -> None:
    """A delivered shipment or signed act and its lines; then what its invoice derives from them."""
    rows, lines = [], []
    for event in events:
        data, document_id = event.data, aggregate_id(event, "document_id")
        values = _with_amounts(carried(data, DELIVERY), data, {"total": "total_amount"})
        if "total" in data:
            values["currency"] = str(data["total"]["currency"])
        rows.append(((document_id,), event.time, values))
        if "lines" in data:
            lines.append((document_id, event.time, [
                {"document_id": document_id, "n": n, "invoice_line_id": as_uuid(line["invoice_line_id"]),
                 "quantity": Decimal(str(line["quantity"])), "amount": _amount(line, "amount")}
                for n, line in enumerate(data["lines"] or [], start=1)]))
    projection.upsert_newer(session, "deliveries", ("document_id",), rows)
    _owned_by_clients(session, "deliveries", [key[0] for key, _, _ in rows])
    projection.replace_children(session, "deliveries", "document_id", "delivery_lines", lines)
    derive_invoices(session, [values.get("invoice_id") for _, _, values in rows])


HANDLERS = {
    **dict.fromkeys(PRODUCT_TYPES, products_changed),
    **dict.fromkeys(INVOICE_TYPES, invoices_changed),
    PLAN_UPDATED: plans_changed,
    **dict.fromkeys(PAYMENT_TYPES, payments_changed),
    **dict.fromkeys(DELIVERY_TYPES, deliveries_changed),
}
