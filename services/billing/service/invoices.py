"""Use cases of invoices: drafts (by managers for their own clients, by accountants for anyone), issue with a gapless
number (the buyer and the seller frozen as printed), cancellation, the payment plan. Payments move an issued invoice
to partially_paid and paid (service/payments.py)."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, load
from glassbox.errors import Conflict, invalid
from glassbox.policy import require
from glassbox.settings import current_settings
from glassbox.web import sorted_page
from services.billing import events, requisites as checks
from services.billing.models import (OPEN_STATUSES, Allocation, Delivery, Invoice, InvoiceLine, Payment,
                                     PlannedPayment, Product, SellerRequisites)
from services.billing.service.amounts import line_figures, totals
from services.billing.service.deliveries import covered_quantities
from services.billing.service.numbering import next_number
from services.billing.service.policy import ACCOUNTANTS, DRAFTERS, READERS, VISIBILITY
from services.billing.service.records import deal_of, known_client, load_visible
from services.billing.service.requisites import printed

NOUN = "invoice"


def mark_overdue(invoices):
    today = clock.today()
    for invoice in invoices:
        invoice.overdue = invoice.status in OPEN_STATUSES and invoice.due_on < today
    return invoices


# -- reading ---------------------------------------------------------------------------------------------------

def list_invoices(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = VISIBILITY.narrow(select(Invoice), principal, Invoice.owner_id)
    for name in ("client_id", "deal_id", "owner_id", "status", "number"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Invoice, name) == args[name])
    if args.get("overdue") is not None:
        late = Invoice.status.in_(OPEN_STATUSES) & (Invoice.due_on < clock.today())
        stmt = stmt.where(late if args["overdue"] else ~late)
    with db.session() as session:
        page = sorted_page(session, stmt, Invoice, args)
    mark_overdue(page["items"])
    return page


def get_invoice(db: Database, principal: Principal, invoice_id: uuid.UUID) -> Invoice:
    require(principal, *READERS)
    with db.session() as session:
        invoice = load_visible(session, principal, Invoice, NOUN, invoice_id)
        invoice.payments = [
            {"payment_id": payment.id, "amount": amount, "paid_on": payment.paid_on, "status": payment.status}
            for amount, payment in session.execute(
                select(Allocation.amount, Payment).join(Payment, Payment.id == Allocation.payment_id)
                .where(Allocation.invoice_id == invoice.id).order_by(Payment.paid_on, Payment.id))]
        _with_shipped(session, [invoice])
    mark_overdue([invoice])
    return invoice


def _with_shipped(session: Session, invoices: list[Invoice]) -> None:
    """Each line's quantity covered by shipments or acts that are not cancelled."""
    for invoice in invoices:
        covered = covered_quantities(session, invoice.id)
        for line in invoice.lines:
            line.shipped_quantity = covered.get(line.id, Decimal("0"))


# -- drafts ----------------------------------------------------------------------------------------------------

def _line(session: Session, index: int, data: dict, currency: str) -> InvoiceLine:
    """One line from the request, the product filling what it leaves out; its figures computed."""
    values = {name: data[name] for name in ("description", "kind", "unit_name", "unit_code", "unit_price",
                                            "vat_rate") if name in data}
    if data.get("product_id") is not None:
        product = session.get(Product, data["product_id"])
        if product is None or not product.is_active:
            raise _line_error(index, "product_id", "no such active product")
        if "unit_price" not in data and product.price_currency != currency:
            raise _line_error(index, "unit_price", f"the product is priced in {product.price_currency}, the "
                                                    f"invoice is in {currency}: give the price")
        values = {"description": product.name, "kind": product.kind, "unit_name": product.unit_name,
                  "unit_code": product.unit_code, "unit_price": product.price_amount, "vat_rate": product.vat_rate,
                  **values}
    values.setdefault("kind", "goods")
    values.setdefault("unit_name", "шт")
    values.setdefault("unit_code", "796" if values["unit_name"] == "шт" else None)
    figures = line_figures(data["quantity"], values["unit_price"], data["discount_percent"], values["vat_rate"])
    if data.get("amount") is not None and data["amount"] != figures.amount:
        raise _line_error(index, "amount", f"the line comes to {figures.amount}, not {data['amount']} "
                                            "(quantity x price less the discount, VAT included)")
    return InvoiceLine(id=uuid.uuid4(), position=index + 1, product_id=data.get("product_id"),
                       quantity=data["quantity"], discount_percent=data["discount_percent"],
                       discount_amount=figures.discount_amount, net_amount=figures.net_amount,
                       vat_amount=figures.vat_amount, amount=figures.amount, **values)


def _line_error(index: int, field: str, problem: str):
    return invalid("lines", f"line {index + 1}: {field}: {problem}", f"line {index + 1}: {field}: {problem}")


def _set_lines(session: Session, invoice: Invoice, lines: list[dict], expected_total) -> None:
    if invoice.lines:
        invoice.lines.clear()
        session.flush()  # the old positions go before the new ones take them
    invoice.lines.extend(_line(session, index, data, invoice.currency) for index, data in enumerate(lines))
    invoice.net_amount, invoice.vat_amount, invoice.total_amount = totals(invoice.lines)
    if expected_total is not None and expected_total != invoice.total_amount:
        raise invalid("total", f"the lines add up to {invoice.total_amount}, not {expected_total}")


def create_invoice(db: Database, principal: Principal, data: dict) -> Invoice:
    require(principal, *DRAFTERS)
    now = clock.now()
    currency, due_on = data.get("currency"), data.get("due_on")
    if currency is None or due_on is None:  # the service's defaults (callers outside a request give both)
        settings = current_settings()
        currency = currency or settings.default_currency
        due_on = due_on or clock.today() + timedelta(days=settings.payment_term_days)
    with db.unit_of_work() as uow:
        client = known_client(uow.session, principal, data["client_id"])
        deal_of(uow.session, data.get("deal_id"), client)
        invoice = Invoice(
            id=uuid.uuid4(), status="draft", client_id=client.client_id, deal_id=data.get("deal_id"),
            owner_id=client.owner_id, currency=currency, due_on=due_on,
            comment=data.get("comment"), paid_amount=Decimal("0"), created_by=principal.id, created_at=now,
            updated_at=now, lines=[], plan=[])
        uow.session.add(invoice)
        _set_lines(uow.session, invoice, data["lines"], data.get("total"))
        uow.session.flush()
        invoice.client = client  # the answer names it
        uow.emit(events.invoice_event(events.INVOICE_CREATED, invoice, client.name, principal.user_id))
        uow.commit()
        return mark_overdue([invoice])[0]


def update_invoice(db: Database, principal: Principal, invoice_id: uuid.UUID, changes: dict) -> Invoice:
    """A draft's deal, currency, due date, comment or lines (all of them replaced)."""
    require(principal, *DRAFTERS)
    with db.unit_of_work() as uow:
        invoice = load_visible(uow.session, principal, Invoice, NOUN, invoice_id, for_update=True)
        if invoice.status != "draft":
            raise Conflict(f"the invoice is {invoice.status}: only a draft can be edited")
        if "deal_id" in changes:
            deal_of(uow.session, changes["deal_id"], invoice.client)
        changed = [name for name in ("deal_id", "currency", "due_on", "comment")
                   if name in changes and getattr(invoice, name) != changes[name]]
        for name in changed:
            setattr(invoice, name, changes[name])
        if "lines" in changes or "currency" in changed:
            lines = changes.get("lines")
            if lines is None:
                raise invalid("lines", "a new currency needs the lines in it")
            _set_lines(uow.session, invoice, lines, changes.get("total"))
            changed.append("lines")
        elif changes.get("total") is not None and changes["total"] != invoice.total_amount:
            raise invalid("total", f"the lines add up to {invoice.total_amount}, not {changes['total']}")
        if changed:
            invoice.updated_at = clock.now()
            uow.session.flush()
            uow.emit(events.invoice_event(events.INVOICE_UPDATED, invoice, invoice.client_name, principal.user_id,
                                          changed=changed))
            uow.commit()
        return mark_overdue([invoice])[0]


# -- issue and cancel ------------------------------------------------------------------------------------------

def issue_invoice(db: Database, principal: Principal, invoice_id: uuid.UUID) -> Invoice:
    """Number the draft (gapless per year), freeze the buyer and the seller as printed, and send it."""
    require(principal, *ACCOUNTANTS)
    today = clock.today()
    with db.unit_of_work() as uow:
        invoice = load(uow.session, Invoice, NOUN, invoice_id, for_update=True)
        if invoice.status != "draft":
            raise Conflict(f"the invoice is already {invoice.status}")
        seller = uow.session.get(SellerRequisites, 1)
        if seller is None:
            raise Conflict("the seller's requisites are not set: an admin sets them with PUT /seller-requisites")
        client = invoice.client
        if client is None or client.archived_at is not None:
            raise invalid("client_id", "the invoice's client is archived or unknown", "archived client")
        if problem := checks.check_inn(client.tax_id or ""):
            raise invalid("client_id", f"the client's INN {client.tax_id!r} is not valid ({problem}): correct it on "
                                       "the client card first", "the client's INN is not valid")
        if invoice.total_amount <= 0:
            raise invalid("lines", "an invoice for nothing cannot be issued")
        if invoice.due_on < today:
            raise invalid("due_on", "the due date has passed: move it to today or later first")
        invoice.number = next_number(uow.session, "invoice", today.year)
        invoice.status, invoice.issued_on, invoice.issued_at = "issued", today, clock.now()
        invoice.buyer = {"name": client.name, "inn": client.tax_id, "kpp": None, "address": client.address}
        invoice.seller = printed(seller)
        invoice.updated_at = invoice.issued_at
        uow.session.flush()
        uow.emit(events.invoice_event(events.INVOICE_ISSUED, invoice, client.name, principal.user_id))
        uow.commit()
        return mark_overdue([invoice])[0]


def cancel_invoice(db: Database, principal: Principal, invoice_id: uuid.UUID, reason: str) -> Invoice:
    """A draft, or an issued invoice nothing was paid or shipped against; its number is never given again."""
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        invoice = load(uow.session, Invoice, NOUN, invoice_id, for_update=True)
        if invoice.status not in ("draft", "issued"):
            raise Conflict(f"the invoice is {invoice.status}: reverse its payments first" if invoice.paid_amount
                           else f"the invoice is already {invoice.status}")
        shipped = uow.session.scalar(select(Delivery.number).where(
            Delivery.invoice_id == invoice.id, Delivery.status != "cancelled").limit(1))
        if shipped:
            raise Conflict(f"{shipped} was made against the invoice: cancel it first")
        now = clock.now()
        invoice.status, invoice.cancelled_at, invoice.cancel_reason, invoice.updated_at = "cancelled", now, reason, now
        uow.session.flush()
        uow.emit(events.invoice_event(events.INVOICE_CANCELLED, invoice, invoice.client_name, principal.user_id))
        uow.commit()
        return mark_overdue([invoice])[0]


# -- the payment plan ------------------------------------------------------------------------------------------

def put_payment_plan(db: Database, principal: Principal, invoice_id: uuid.UUID, items: list[dict]) -> Invoice:
    """Replace the plan: dated instalments summing to the invoice total ([] removes it)."""
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        invoice = load(uow.session, Invoice, NOUN, invoice_id, for_update=True)
        if invoice.status in ("paid", "cancelled"):
            raise Conflict(f"the invoice is {invoice.status}: its plan cannot change")
        dates = [item["due_on"] for item in items]
        if len(set(dates)) != len(dates):
            raise invalid("items", "two instalments fall on the same day")
        if any(item["amount"] <= 0 for item in items):
            raise invalid("items", "each instalment must be greater than 0")
        planned = sum((item["amount"] for item in items), Decimal("0"))
        if items and planned != invoice.total_amount:
            raise invalid("items", f"the plan adds up to {planned}, the invoice total is {invoice.total_amount}")
        if invoice.plan:
            invoice.plan.clear()
            uow.session.flush()
        invoice.plan.extend(PlannedPayment(id=uuid.uuid4(), due_on=item["due_on"], amount=item["amount"])
                            for item in sorted(items, key=lambda item: item["due_on"]))
        invoice.updated_at = clock.now()
        uow.session.flush()
        uow.emit(events.payment_plan_updated(invoice, principal.user_id))
        uow.commit()
        return mark_overdue([invoice])[0]
