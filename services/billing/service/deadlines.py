"""The daily check of deadlines (run by `glassbox work billing`): an open invoice whose due date has passed is
announced once (crm.invoice.overdue.v1), and so is each planned payment the client has not covered by its date
(crm.payment_plan.missed.v1: what was paid is less than the plan's instalments due so far).

Each announcement is recorded on its row in the same transaction as its outbox event, and rows are claimed with
FOR UPDATE SKIP LOCKED: a restart, or two workers at once, never announce anything twice."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from glassbox import clock
from glassbox.db import Database
from services.billing import events
from services.billing.models import OPEN_STATUSES, Invoice, PlannedPayment

BATCH = 500
SYSTEM = "system"  # the actor of what the worker announces


def announce_overdue_invoices(db: Database) -> int:
    today, announced = clock.today(), 0
    while True:
        with db.unit_of_work() as uow:
            invoices = uow.session.scalars(
                select(Invoice).where(Invoice.status.in_(OPEN_STATUSES), Invoice.due_on < today,
                                      Invoice.overdue_announced_at.is_(None))
                .order_by(Invoice.due_on, Invoice.id).limit(BATCH).with_for_update(skip_locked=True)).all()
            if not invoices:
                return announced
            now = clock.now()
            for invoice in invoices:
                invoice.overdue_announced_at = now
                invoice.overdue = True
                uow.emit(events.invoice_event(events.INVOICE_OVERDUE, invoice, invoice.client_name, SYSTEM,
                                              days_overdue=(today - invoice.due_on).days))
            uow.commit()
            announced += len(invoices)


def announce_missed_instalments(db: Database) -> int:
    """Instalments whose date has passed are checked once: missed (announced) when the invoice is still open and
    less is paid than the plan expected by then; otherwise only marked as checked."""
    today, announced = clock.today(), 0
    while True:
        with db.unit_of_work() as uow:
            items = uow.session.scalars(
                select(PlannedPayment).where(PlannedPayment.due_on < today,
                                             PlannedPayment.missed_announced_at.is_(None))
                .order_by(PlannedPayment.due_on, PlannedPayment.id).limit(BATCH)
                .with_for_update(skip_locked=True)).all()
            if not items:
                return announced
            now = clock.now()
            for item in items:
                item.missed_announced_at = now
                invoice = uow.session.get(Invoice, item.invoice_id)
                planned = sum((i.amount for i in invoice.plan if i.due_on <= item.due_on), Decimal("0"))
                if invoice.status in OPEN_STATUSES and invoice.paid_amount < planned:
                    uow.emit(events.payment_plan_missed(invoice, item, invoice.client_name, planned,
                                                        invoice.paid_amount, SYSTEM))
                    announced += 1
            uow.commit()


def check_deadlines(db: Database) -> int:
    return announce_overdue_invoices(db) + announce_missed_instalments(db)
