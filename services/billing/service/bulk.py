"""Writing the records of one big change (a bank statement's thousands of payments) with COPY rather than the ORM's
INSERTs and UPDATEs, which would take most of its time. The records are made and changed as ORM objects by the
same code as a single payment's (payments.new_payment, payments.allocate) and then written here, in the
transaction of the session; new ones are never added to it."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from glassbox.db import copy_rows
from services.billing.models import Allocation, Invoice, Payment, StatementLine

PAYMENT_COLUMNS = tuple(column.key for column in Payment.__table__.columns)
ALLOCATION_COLUMNS = ("payment_id", "invoice_id", "amount", "created_at")  # the id: its identity default
LINE_COLUMNS = tuple(column.key for column in StatementLine.__table__.columns)
PAID_COLUMNS = ("id", "status", "paid_amount", "paid_at", "updated_at")  # what paying an invoice changes
NEXT_LINE_IDS = text("SELECT nextval(pg_get_serial_sequence('bank_statement_lines', 'id')) "
                     "FROM generate_series(1, :n)")
PAID_TABLE = text("CREATE TEMPORARY TABLE paid_invoices (id uuid PRIMARY KEY, status varchar(14), "
                  "paid_amount numeric(14, 2), paid_at timestamptz, updated_at timestamptz) ON COMMIT DROP")
UPDATE_PAID = text("UPDATE invoices i SET status = p.status, paid_amount = p.paid_amount, paid_at = p.paid_at, "
                   "updated_at = p.updated_at FROM paid_invoices p WHERE i.id = p.id")


def write_paid_invoices(session: Session, invoices: list[Invoice]) -> None:
    """What payments changed of these invoices (the session's, locked) in one UPDATE; they leave the session, so
    that it does not write them again."""
    for invoice in invoices:
        session.expunge(invoice)
    session.execute(PAID_TABLE)
    copy_rows(session, "paid_invoices", PAID_COLUMNS,
              ([getattr(invoice, name) for name in PAID_COLUMNS] for invoice in invoices))
    session.execute(UPDATE_PAID)


def write_payments(session: Session, payments: list[Payment]) -> None:
    copy_rows(session, Payment.__tablename__, PAYMENT_COLUMNS,
              ([getattr(payment, name) for name in PAYMENT_COLUMNS] for payment in payments))
    copy_rows(session, Allocation.__tablename__, ALLOCATION_COLUMNS,
              ((payment.id, allocation.invoice_id, allocation.amount, allocation.created_at)
               for payment in payments for allocation in payment.allocations))


def write_lines(session: Session, lines: list[StatementLine]) -> None:
    """The lines, with ids from their sequence taken in one query (the answer shows them)."""
    for line, line_id in zip(lines, session.scalars(NEXT_LINE_IDS, {"n": len(lines)})):
        line.id = line_id
    copy_rows(session, StatementLine.__tablename__, LINE_COLUMNS,
              ([getattr(line, name) for name in LINE_COLUMNS] for line in lines))


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for the duration of a big change: with tens of thousands of new ORM objects,
    its full passes over them took a third of a statement's import. Reference counting still frees what is not
    in a cycle; the collector resumes (if it ran before) at the end, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
