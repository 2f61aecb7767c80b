"""The printed forms (PDF) of invoices, shipments and service acts: the data a form shows, built from the record
(an issued document's frozen buyer and seller; a draft's current ones), rendered by services/billing/documents.

An issued document's form is stored, keyed by the digest of the data it shows: every later request serves the
stored bytes, identical each time, and only a change of what the form shows (a shipment delivered: its date) renders
it again. A draft is rendered on every request and never stored."""
from __future__ import annotations

import hashlib
import json
import uuid
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import lazyload

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database
from glassbox.errors import Conflict
from glassbox.events import to_jsonable
from glassbox.policy import require
from services.billing.models import Delivery, Invoice, PrintedForm, SellerRequisites
from services.billing.service.amounts import kopecks
from services.billing.service.deliveries import load_kind
from services.billing.service.policy import READERS
from services.billing.service.records import load_visible
from services.billing.service.requisites import printed

LINE_FIELDS = ("description", "unit_name", "unit_code", "unit_price", "vat_rate")


def _totals(lines: list[dict]) -> dict:
    by_rate: dict[str, Decimal] = {}
    for line in lines:
        by_rate[line["vat_rate"]] = by_rate.get(line["vat_rate"], Decimal("0.00")) + line["vat_amount"]
    return {"net_amount": sum((line["net_amount"] for line in lines), Decimal("0.00")),
            "vat_amount": sum((line["vat_amount"] for line in lines), Decimal("0.00")),
            "amount": sum((line["amount"] for line in lines), Decimal("0.00")),
            "vat_by_rate": [{"vat_rate": rate, "vat_amount": amount} for rate, amount in by_rate.items()]}


def _line(position: int, source, quantity: Decimal, net: Decimal, vat: Decimal, amount: Decimal) -> dict:
    return {"position": position, "description": source.description, "unit": source.unit_name,
            "okei": source.unit_code, "quantity": quantity, "unit_price": source.unit_price,
            # what the discount took off this quantity: the gross less what it comes to
            "discount": kopecks(quantity * source.unit_price) - amount, "vat_rate": source.vat_rate,
            "net_amount": net, "vat_amount": vat, "amount": amount}


def _parties(session, invoice: Invoice) -> tuple[dict, dict]:
    if invoice.seller is not None:
        return invoice.seller, invoice.buyer
    seller = printed(session.get(SellerRequisites, 1))
    if seller is None:
        raise Conflict("the seller's requisites are not set: an admin sets them with PUT /seller-requisites")
    client = invoice.client
    return seller, {"name": client.name if client else None, "inn": client.tax_id if client else None,
                    "kpp": None, "address": client.address if client else None}


def invoice_data(session, invoice: Invoice) -> dict:
    seller, buyer = _parties(session, invoice)
    lines = [_line(line.position, line, line.quantity, line.net_amount, line.vat_amount, line.amount)
             for line in invoice.lines]
    return {"kind": "invoice", "number": invoice.number, "date": invoice.issued_on or clock.today(),
            "due_on": invoice.due_on, "basis": None, "done_on": None, "currency": invoice.currency,
            "seller": seller, "buyer": buyer, "lines": lines, "totals": _totals(lines)}


def delivery_data(session, delivery: Delivery) -> dict:
    invoice = delivery.invoice
    seller, buyer = _parties(session, invoice)
    lines = [_line(line.position, line.invoice_line, line.quantity, line.net_amount, line.vat_amount, line.amount)
             for line in delivery.lines]
    return {"kind": delivery.kind, "number": delivery.number, "date": delivery.issued_on, "due_on": None,
            "basis": f"Счёт на оплату № {invoice.number} от {invoice.issued_on:%d.%m.%Y}",
            "done_on": delivery.done_on, "currency": delivery.currency, "seller": seller, "buyer": buyer,
            "lines": lines, "totals": _totals(lines)}


def _digest(data: dict) -> str:
    return hashlib.sha256(json.dumps(to_jsonable(data), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def render_pdf(data: dict) -> bytes:
    # Imported on first use: WeasyPrint takes a moment to load, and only the processes that print need it.
    from services.billing.documents import render_pdf as render

    return render(data)


def _stored_or_rendered(db: Database, kind: str, record_id: uuid.UUID, data: dict, store: bool) -> bytes:
    if not store:
        return render_pdf(data)
    digest = _digest(data)
    with db.session() as session:
        form = session.get(PrintedForm, (kind, record_id))
        if form is not None and form.sha256 == digest:
            return form.content
    content = render_pdf(data)  # outside any transaction: rendering takes a few hundred milliseconds
    values = {"sha256": digest, "content": content, "rendered_at": clock.now()}
    with db.unit_of_work() as uow:
        stmt = insert(PrintedForm).values(kind=kind, record_id=record_id, **values)
        uow.session.execute(stmt.on_conflict_do_update(index_elements=["kind", "record_id"], set_=values))
        uow.commit()
    return content


def invoice_pdf(db: Database, principal: Principal, invoice_id: uuid.UUID) -> tuple[bytes, str]:
    """The PDF and a file name."""
    require(principal, *READERS)
    with db.session() as session:
        # The lines, plan and client are loaded only if the form is to be rendered.
        invoice = load_visible(session, principal, Invoice, "invoice", invoice_id, options=[lazyload("*")])
        filename = f"{invoice.number or 'draft-' + str(invoice.id)[:8]}.pdf"
        if invoice.status != "draft":
            stored = session.scalar(select(PrintedForm.content).where(PrintedForm.kind == "invoice",
                                                                      PrintedForm.record_id == invoice.id))
            if stored is not None:
                return stored, filename
        data = invoice_data(session, invoice)
    return _stored_or_rendered(db, "invoice", invoice.id, data, store=invoice.status != "draft"), filename


def delivery_pdf(db: Database, principal: Principal, kind: str, delivery_id: uuid.UUID) -> tuple[bytes, str]:
    require(principal, *READERS)
    with db.session() as session:
        delivery = load_kind(session, kind, delivery_id, principal)
        data = delivery_data(session, delivery)
    return _stored_or_rendered(db, kind, delivery.id, data, store=True), f"{delivery.number}.pdf"
