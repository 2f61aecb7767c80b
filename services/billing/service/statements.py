"""Use cases of bank statements: import a 1CClientBankExchange file, read the statements and their lines, match by
hand what the import could not.

Importing (accountants). The file is read whole first (bank_exchange.parse): one that cannot be read is a 422
naming its line, and nothing is written. A statement of an account other than the seller's settlement account
is a 422. The same file again (its SHA-256) is the statement imported before, answered with `duplicate: true`;
nothing is recorded. Each document is known by its key, account|number|date|amount|payer account, kept on the
payment it records: a document recorded before (from an overlapping statement, or matched by hand) becomes a
line `known`, and an outgoing one (our own payment) a line `outgoing`; neither records anything.

Matching an incoming document (service/matching.py):
- the payer is the one live client of the clients projection whose tax_id is the payer's INN (none, only an
  archived one, or several: unmatched);
- the candidates are that client's open invoices (issued, partially_paid) in the service's default currency, the
  currency of the statement's account;
- when the purpose names invoice numbers (bank_exchange.invoice_numbers: СЧ-2026-000123, or a bare 000123 after
  a № sign, meaning any year: the client's one open invoice whose number ends in it), every one of them must be a
  candidate and the amount at most what they have outstanding together; it pays them in the order named. More
  than that is unmatched: where the excess goes (credit, another invoice) is an accountant's decision;
- when it names none, the one candidate with exactly the amount outstanding is paid.
Anything else is unmatched, with a note saying why. A matched document records a payment (bank_transfer, paid on
the day received, the payer's name and INN, the reference "п/п № N от dd.mm.yyyy: purpose"), allocated as decided
(payments.allocate), and its events. Documents are matched in file order, each seeing what the earlier ones
paid. The statement, its lines, payments, allocations and events are one transaction, the new rows written with
COPY (service/bulk.py): a statement of 10,000 payments takes seconds.

An unmatched line is matched by hand: an accountant names the client and, optionally, allocations; the rest of
the amount stays as the client's credit. It records the payment with the document's key, so a document is never
recorded twice (a second match is a 409).

Imports and matches by hand take turns (a transaction-scoped advisory lock), so the checks for a file imported
before and for a document recorded before are exact; statements come a few a day. Reading statements: policy's
STATEMENT_READERS."""
from __future__ import annotations

import hashlib
import re
import uuid
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.auth import Principal
from glassbox.db import Database, load
from glassbox.errors import Conflict, Invalid, NotFound
from glassbox.events import DomainEvent
from glassbox.outbox import write_events
from glassbox.policy import require
from glassbox.settings import current_settings
from glassbox.web import sorted_page
from services.billing import bank_exchange, events
from services.billing.bank_exchange import Statement, StatementDocument
from services.billing.models import BankStatement, Client, Payment, SellerRequisites, StatementLine
from services.billing.service import bulk
from services.billing.service.matching import Matcher, any_of
from services.billing.service.payments import allocate, announce_invoices, new_payment
from services.billing.service.policy import ACCOUNTANTS, STATEMENT_READERS
from services.billing.service.records import known_client

NOUN = "bank statement"
TAKE_TURNS = text("SELECT pg_advisory_xact_lock(hashtext('glassbox-billing-bank-statements'))")
ACCOUNT = re.compile(r"[0-9]{20}")
NOT_UNMATCHED = {"matched": "was matched on import", "manual": "was matched by hand already",
                 "known": "was recorded from another statement", "outgoing": "is an outgoing payment"}


# -- reading -----------------------------------------------------------------------------------------------------

def list_statements(db: Database, principal: Principal, args: dict) -> dict:
    require(principal, *STATEMENT_READERS)
    with db.session() as session:
        return sorted_page(session, select(BankStatement), BankStatement, args)


def get_statement(db: Database, principal: Principal, statement_id: uuid.UUID, status: str | None = None):
    require(principal, *STATEMENT_READERS)
    with db.session() as session:
        statement = load(session, BankStatement, NOUN, statement_id)
        statement.lines = _lines(session, statement.id, status)
        return statement


def _lines(session: Session, statement_id: uuid.UUID, status: str | None = None) -> list[StatementLine]:
    stmt = select(StatementLine).where(StatementLine.statement_id == statement_id).order_by(StatementLine.id)
    return session.scalars(stmt if status is None else stmt.where(StatementLine.status == status)).all()


# -- importing -----------------------------------------------------------------------------------------------------

def import_statement(db: Database, principal: Principal, raw: bytes) -> BankStatement:
    require(principal, *ACCOUNTANTS)
    with bulk.cyclic_gc_paused():
        return _import(db, principal, raw)


def _import(db: Database, principal: Principal, raw: bytes) -> BankStatement:
    parsed = _read(raw)
    digest = hashlib.sha256(raw).hexdigest()
    with db.unit_of_work() as uow:
        session = uow.session
        session.execute(TAKE_TURNS)
        earlier = session.scalar(select(BankStatement).where(BankStatement.sha256 == digest))
        if earlier is not None:
            earlier.duplicate, earlier.lines = True, _lines(session, earlier.id)
            return earlier
        _check_account(session, parsed)
        statement = BankStatement(id=uuid.uuid4(), sha256=digest, account=parsed.account or None,
                                  date_from=parsed.date_from, date_to=parsed.date_to,
                                  documents=len(parsed.documents), matched=0, unmatched=0,
                                  created_by=principal.id, created_at=clock.now())
        session.add(statement)
        session.flush()  # before the payments that name it
        write_events(session, _record(session, statement, parsed, principal), uow.topic)
        uow.commit()
        return statement


def _read(raw: bytes) -> Statement:
    if not raw.strip():
        raise Invalid("the statement is empty: send the 1CClientBankExchange file as the body",
                      {"file": ["empty"]})
    try:
        parsed = bank_exchange.parse(raw)
    except bank_exchange.StatementFormatError as exc:
        raise Invalid(f"the statement cannot be read: {exc}", {"file": [str(exc)]}) from exc
    if parsed.account and not ACCOUNT.fullmatch(parsed.account):
        raise Invalid(f"the statement's account (РасчСчет) must be 20 digits, not {parsed.account[:40]!r}",
                      {"file": ["РасчСчет is not an account number"]})
    return parsed


def _check_account(session: Session, parsed: Statement) -> None:
    ours = session.scalar(select(SellerRequisites.settlement_account))
    if ours and parsed.account and parsed.account != ours:
        raise Invalid(f"the statement is of account {parsed.account}, not of the seller's settlement account {ours}",
                      {"file": [f"account {parsed.account} is not the seller's"]})


class _Events(list):
    """The events of an import, gathered to go into the outbox with one COPY (glassbox.outbox.write_events): for
    thousands of them several times faster than uow.emit's ORM rows."""

    def emit(self, event: DomainEvent) -> None:
        self.append(event)


def _record(session: Session, statement: BankStatement, parsed: Statement, principal: Principal) -> _Events:
    """A line per document, and a payment per matched one; the statement's counts; the events to emit."""
    incoming = {id(doc) for doc in parsed.incoming()}
    account = parsed.account
    keys = {id(doc): document_key(account or doc.payee_account, doc) for doc in parsed.documents}
    recorded = set(session.scalars(select(Payment.bank_document_key).where(
        any_of(Payment.bank_document_key, {keys[id(doc)] for doc in parsed.documents if id(doc) in incoming},
               "keys"))))
    fresh = [doc for doc in parsed.documents if id(doc) in incoming and keys[id(doc)] not in recorded]
    matcher = Matcher(session, fresh, current_settings().default_currency)
    emitted, lines, payments, paid = _Events(), [], [], {}
    for doc in parsed.documents:
        line = _line(statement, doc, keys[id(doc)])
        lines.append(line)
        if id(doc) not in incoming:
            line.status = "outgoing"
            continue
        if line.bank_document_key in recorded:  # before, or earlier in this same file
            line.status = "known"
            continue
        recorded.add(line.bank_document_key)
        match = matcher.match(doc)
        if match.client is None:
            line.status, line.note = "unmatched", match.note
            continue
        payment = _payment(line, match.client, principal, statement.id)
        payments.append(payment)
        changed = allocate(session, payment, match.allocations, matcher.locked)
        paid.update((invoice.id, invoice) for invoice in changed)
        line.status, line.payment_id = "matched", payment.id
        emitted.emit(events.payment_event(events.PAYMENT_RECORDED, payment, match.client.name, principal.user_id))
        announce_invoices(emitted, changed, principal.user_id)
    bulk.write_paid_invoices(session, list(paid.values()))
    bulk.write_payments(session, payments)  # before the lines that name them
    bulk.write_lines(session, lines)
    statement.matched = sum(line.status == "matched" for line in lines)
    statement.unmatched = sum(line.status == "unmatched" for line in lines)
    statement.lines = lines
    return emitted


def document_key(account: str, doc: StatementDocument) -> str:
    """What a bank document is known by across statements: account|number|date|amount|payer account."""
    parts = (account, doc.number, doc.date.isoformat(), f"{doc.amount:.2f}", doc.payer_account)
    return "|".join(part.replace("|", "/")[:36] for part in parts)


def document_date(key: str) -> date:
    return date.fromisoformat(key.split("|")[2])


def _line(statement: BankStatement, doc: StatementDocument, key: str) -> StatementLine:
    return StatementLine(statement_id=statement.id, line=doc.line, number=doc.number[:20] or None,
                         paid_on=doc.received_on or doc.date, amount=doc.amount,
                         payer_name=doc.payer_name[:300] or None, payer_inn=doc.payer_inn[:12] or None,
                         payer_account=doc.payer_account[:20] or None, purpose=doc.purpose or None,
                         bank_document_key=key)


def _payment(line: StatementLine, client: Client, principal: Principal, statement_id: uuid.UUID) -> Payment:
    """The payment a line records: the document's key makes it the only one of that document."""
    reference = f"п/п № {line.number or '-'} от {document_date(line.bank_document_key):%d.%m.%Y}"
    if line.purpose:
        reference = f"{reference}: {line.purpose}"
    return new_payment(client, {"amount": line.amount, "paid_on": line.paid_on, "method": "bank_transfer",
                                "payer_name": line.payer_name, "payer_inn": line.payer_inn,
                                "reference": reference[:500]},
                       principal, statement_id=statement_id, bank_document_key=line.bank_document_key)


# -- matching by hand --------------------------------------------------------------------------------------------

def manual_match(db: Database, principal: Principal, statement_id: uuid.UUID, line_id: int, data: dict) -> Payment:
    """Record an unmatched line as a payment of the client named, allocated as given (the rest is credit)."""
    require(principal, *ACCOUNTANTS)
    with db.unit_of_work() as uow:
        session = uow.session
        session.execute(TAKE_TURNS)
        statement = load(session, BankStatement, NOUN, statement_id, for_update=True)
        line = session.get(StatementLine, line_id, with_for_update=True)
        if line is None or line.statement_id != statement.id:
            raise NotFound(f"line {line_id} of bank statement {statement_id} not found")
        if line.status != "unmatched":
            payment = f" (payment {line.payment_id})" if line.payment_id else ""
            raise Conflict(f"the line {NOT_UNMATCHED[line.status]}{payment}: nothing to match")
        recorded = session.scalar(select(Payment.id).where(Payment.bank_document_key == line.bank_document_key))
        if recorded is not None:
            raise Conflict(f"the document was recorded from another statement already (payment {recorded})")
        client = known_client(session, principal, data["client_id"])
        payment = _payment(line, client, principal, statement.id)
        session.add(payment)
        changed = allocate(session, payment, data.get("allocations", []))
        session.flush()  # the payment before the line that names it
        line.status, line.payment_id = "manual", payment.id
        statement.matched, statement.unmatched = statement.matched + 1, statement.unmatched - 1
        session.flush()
        uow.emit(events.payment_event(events.PAYMENT_RECORDED, payment, client.name, principal.user_id))
        announce_invoices(uow, changed, principal.user_id)
        uow.commit()
        return payment
