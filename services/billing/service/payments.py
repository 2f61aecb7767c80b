"""Use cases of payments: record money received from a client (by hand, or from a bank statement), allocate it to
the client's open invoices (moving them to partially_paid and paid), keep the rest as the client's credit, allocate
that credit later, reverse a payment (never delete one). Over-allocation, of a payment or of an invoice, is a 409."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, load
from glassbox.errors import Conflict, invalid
from glassbox.policy import require
from glassbox.settings import current_settings
from glassbox.web import sorted_page
from services.billing import events
from services.billing.models import Allocation, Client, Invoice, Payment
from services.billing.service.policy import ACCOUNTANTS, READERS, VISIBILITY
from services.billing.service.records import known_client, load_visible

NOUN = "payment"
UNPAYABLE = {"draft": "is a draft: issue it first", "paid": "is already paid",
             "cancelled": "is cancelled and cannot be paid"}


def list_payments(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *READERS)
    stmt = VISIBILITY.narrow(select(Payment), principal, Payment.owner_id)
    for name in ("client_id", "status"):
        if args.get(name) is not None:
            stmt = stmt.where(getattr(Payment, name) == args[name])
    if args.get("invoice_id") is not None:
        stmt = stmt.where(exists().where(Allocation.payment_id == Payment.id,
                                         Allocation.invoice_id == args["invoice_id"]))
    if args.get("unallocated") is not None:
        has_credit = (Payment.status == "recorded") & (Payment.allocated_amount < Payment.amount)
        stmt = stmt.where(has_credit if args["unallocated"] else ~has_credit)
    with db.session() as session:
        return sorted_page(session, stmt, Payment, args)


def get_payment(db: Database, principal: Principal, payment_id: uuid.UUID) -> Payment:
    require(principal, *READERS)
    with db.session() as session:
        return load_visible(session, principal, Payment, NOUN, payment_id)


def allocate(session: Session, payment: Payment, allocations: list[dict],
             locked: Mapping[uuid.UUID, Invoice] | None = None) -> list[Invoice]:
    """Apply `allocations` [{invoice_id, amount}] of the payment's unallocated amount to the client's open invoices
    (locked in id order, so two payments to the same invoices never deadlock). The invoices it changed. `locked`:
    invoices the caller has already locked in this transaction (a statement's, in one query), used as they are."""
    wanted = sum((a["amount"] for a in allocations), Decimal("0"))
    if wanted > payment.unallocated_amount:
        raise Conflict(f"the allocations add up to {wanted}, the payment has {payment.unallocated_amount} left",
                       {"allocations": ["more than the payment has left"]})
    changed = []
    for item in sorted(allocations, key=lambda a: str(a["invoice_id"])):
        invoice = (locked or {}).get(item["invoice_id"]) or session.get(Invoice, item["invoice_id"],
                                                                        with_for_update=True)
        if invoice is None or invoice.client_id != payment.client_id:
            raise invalid("allocations", f"invoice {item['invoice_id']} is not an invoice of the payer",
                          "not an invoice of the payer")
        if invoice.status in UNPAYABLE:
            raise Conflict(f"invoice {invoice.number or invoice.id} {UNPAYABLE[invoice.status]}",
                           {"allocations": [f"invoice {invoice.status}"]})
        if invoice.currency != payment.currency:
            raise invalid("allocations", f"invoice {invoice.number} is in {invoice.currency}, the payment in "
                                         f"{payment.currency}", "another currency")
        outstanding = invoice.total_amount - invoice.paid_amount
        if item["amount"] > outstanding:
            raise Conflict(f"invoice {invoice.number} has {outstanding} outstanding, not {item['amount']}",
                           {"allocations": ["more than the invoice has outstanding"]})
        existing = next((a for a in payment.allocations if a.invoice_id == invoice.id), None)
        if existing is not None:
            existing.amount += item["amount"]
        else:
            payment.allocations.append(Allocation(invoice_id=invoice.id, amount=item["amount"],
                                                  created_at=clock.now(), invoice=invoice))
        invoice.paid_amount += item["amount"]
        _settle(invoice)
        changed.append(invoice)
    payment.allocated_amount += wanted
    return changed


def _settle(invoice: Invoice) -> None:
    """The status that follows from what is paid."""
    now = clock.now()
    if invoice.paid_amount == invoice.total_amount:
        invoice.status, invoice.paid_at = "paid", now
    else:
        invoice.status, invoice.paid_at = ("partially_paid" if invoice.paid_amount else "issued"), None
    invoice.updated_at = now


def announce_invoices(uow, invoices: list[Invoice], actor_id: str) -> None:
    """crm.invoice.paid.v1 for those now paid, crm.invoice.updated.v1 for the others whose status moved."""
    for invoice in invoices:
        if invoice.status == "paid":
            uow.emit(events.invoice_event(events.INVOICE_PAID, invoice, invoice.client_name, actor_id))
        else:
            uow.emit(events.invoice_event(events.INVOICE_UPDATED, invoice, invoice.client_name, actor_id,
                                          changed=["paid_amount", "status"]))


def _client_name(session: Session, client_id: uuid.UUID) -> str | None:
    """The payer's name for the payment events, as the clients projection knows it."""
    return session.scalar(select(Client.name).where(Client.client_id == client_id))


def new_payment(client: Client, data: dict, principal: Principal, **extra) -> Payment:
    return Payment(
        id=uuid.uuid4(), client_id=client.client_id, owner_id=client.owner_id, amount=data["amount"],
        currency=data.get("currency") or current_settings().default_currency, paid_on=data["paid_on"],
        method=data.get("method", "bank_transfer"), payer_name=data.get("payer_name") or client.name,
        payer_inn=data.get("payer_inn"), reference=data.get("reference"), status="recorded",
        allocated_amount=Decimal("0"), created_by=principal.id, created_at=clock.now(), allocations=[], **extra)


def record_payment(db: Database, principal: Principal, data: dict) -> Payment:
    require(principal, *ACCOUNTANTS)
    if data["paid_on"] > clock.today():
        raise invalid("paid_on", "a payment cannot be received in the future")
    with db.unit_of_work() as uow:
        client = known_client(uow.session, principal, data["client_id"])
        payment = new_payment(client, data, principal)
        uow.session.add(payment)
        changed = allocate(uow.session, payment, data.get("allocations", []))
        uow.session.flush()
        uow.emit(events.payment_event(events.PAYMENT_RECORDED, payment, client.name, principal.user_id))
        announce_invoices(uow, changed, principal.user_id)
        uow.commit()
        return payment


def allocate_payment(db: Database, principal: Principal, payment_id: uuid.UUID, allocations: list[dict]) -> Payment:
    """Allocate what is left of a payment (the client's credit) to open invoices."""
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        payment = load(uow.session, Payment, NOUN, payment_id, for_update=True)
        if payment.status != "recorded":
            raise Conflict("the payment is reversed")
        changed = allocate(uow.session, payment, allocations)
        uow.session.flush()
        client_name = _client_name(uow.session, payment.client_id)
        uow.emit(events.payment_event(events.PAYMENT_RECORDED, payment, client_name, principal.user_id))
        announce_invoices(uow, changed, principal.user_id)
        uow.commit()
        return payment


def reverse_payment(db: Database, principal: Principal, payment_id: uuid.UUID, reason: str) -> Payment:
    """Undo a payment recorded in error: its allocations stop counting and the invoices return to what the rest
    of their payments make them. The payment stays, reversed, with the reason."""
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        payment = load(uow.session, Payment, NOUN, payment_id, for_update=True)
        if payment.status == "reversed":
            raise Conflict("the payment is already reversed")
        changed = []
        for allocation in sorted(payment.allocations, key=lambda a: str(a.invoice_id)):
            invoice = uow.session.get(Invoice, allocation.invoice_id, with_for_update=True)
            invoice.paid_amount -= allocation.amount
            _settle(invoice)
            changed.append(invoice)
        now = clock.now()
        payment.status, payment.reversed_at, payment.reversal_reason = "reversed", now, reason
        uow.session.flush()
        client_name = _client_name(uow.session, payment.client_id)
        uow.emit(events.payment_event(events.PAYMENT_REVERSED, payment, client_name, principal.user_id))
        announce_invoices(uow, changed, principal.user_id)
        uow.commit()
        return payment
