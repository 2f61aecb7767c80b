"""The matching rule of bank statements (service/statements.py says it in words), applied to one statement's incoming
documents in turn: the candidates are loaded once, in a few queries, and what one document pays is no longer
outstanding for the next one."""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, defer, lazyload

from services.billing.bank_exchange import StatementDocument, invoice_numbers
from services.billing.models import OPEN_STATUSES, Client, Invoice

FULL_NUMBER_PREFIX = "СЧ-"
# What paying an invoice and its events do not read, not loaded for thousands of them; the client comes from the
# identity map (loaded just before), the lines are in the events.
NOT_NEEDED = (lazyload(Invoice.plan), lazyload(Invoice.client), defer(Invoice.buyer), defer(Invoice.seller),
              defer(Invoice.comment))


def any_of(column, values, name: str):
    """`column = ANY(:name)` with the values as one array parameter: one bind however many there are."""
    return column == any_(bindparam(name, list(values), type_=ARRAY(column.type)))


@dataclass
class Match:
    """What the rule decided for one document: the client and the allocations, or why not (`note`)."""
    client: Client | None = None
    allocations: list[dict] = field(default_factory=list)
    note: str | None = None


def unmatched(note: str) -> Match:
    return Match(note=note)


class Matcher:
    """The clients of the statement's payer INNs, their open invoices in `currency` (locked, in id order) and the
    other invoices the purposes name (for the reason why they are not candidates)."""

    def __init__(self, session: Session, documents: list[StatementDocument], currency: str):
        self.numbers = {id(doc): invoice_numbers(doc.purpose) for doc in documents}
        inns = {doc.payer_inn for doc in documents if doc.payer_inn}
        self.clients: dict[str, list[Client]] = defaultdict(list)
        # Share-locked, as records.known_client reads a client: a payment takes its client's owner.
        for client in session.scalars(select(Client).where(any_of(Client.tax_id, inns, "inns"))
                                      .order_by(Client.client_id).with_for_update(read=True)):
            self.clients[client.tax_id].append(client)
        payers = [live[0].client_id for live in map(_live, self.clients.values()) if len(live) == 1]
        invoices = session.scalars(
            select(Invoice).where(any_of(Invoice.client_id, payers, "payers"), Invoice.status.in_(OPEN_STATUSES),
                                  Invoice.currency == currency)
            .options(*NOT_NEEDED).order_by(Invoice.id).with_for_update(of=Invoice)).all()
        self.locked: dict[uuid.UUID, Invoice] = {invoice.id: invoice for invoice in invoices}
        self.open: dict[uuid.UUID, list[Invoice]] = defaultdict(list)
        self.by_number: dict[str, Invoice] = {}
        for invoice in invoices:
            self.open[invoice.client_id].append(invoice)
            self.by_number[invoice.number] = invoice
        named = {number for numbers in self.numbers.values() for number in numbers
                 if number.startswith(FULL_NUMBER_PREFIX) and number not in self.by_number}
        self.elsewhere = {row.number: row for row in session.execute(
            select(Invoice.number, Invoice.status, Invoice.client_id, Invoice.currency)
            .where(any_of(Invoice.number, named, "numbers")))} if named else {}

    def match(self, doc: StatementDocument) -> Match:
        inn = doc.payer_inn
        if not inn:
            return unmatched("the statement gives no INN of the payer")
        clients = self.clients.get(inn, [])
        live = _live(clients)
        if not clients:
            return unmatched(f"no client has INN {inn}")
        if not live:
            return unmatched(f"the client with INN {inn} is archived")
        if len(live) > 1:
            return unmatched(f"{len(live)} clients have INN {inn}: choose the payer by hand")
        client = live[0]
        numbers = self.numbers[id(doc)]
        found = self._by_numbers(client, numbers, doc.amount) if numbers else self._by_amount(client, doc.amount)
        if isinstance(found, str):
            return unmatched(found)
        return Match(client=client, allocations=found)

    def _by_numbers(self, client: Client, numbers: list[str], amount: Decimal) -> list[dict] | str:
        """The named invoices, each once, in the order named, paid in that order; or why not."""
        named: list[Invoice] = []
        for number in numbers:
            invoice = self._named(client, number)
            if isinstance(invoice, str):
                return invoice
            if invoice not in named:
                named.append(invoice)
        return _spread(named, amount, ", ".join(invoice.number for invoice in named))

    def _named(self, client: Client, number: str) -> Invoice | str:
        if not number.startswith(FULL_NUMBER_PREFIX):  # a bare sequence: any year, the tail of the number
            tails = [invoice for invoice in self.open[client.client_id]
                     if invoice.status in OPEN_STATUSES and invoice.number.endswith(f"-{number}")]
            if len(tails) == 1:
                return tails[0]
            return (f"no open invoice of the client has the number {number}" if not tails else
                    f"{len(tails)} open invoices of the client have the number {number}: choose by hand")
        invoice = self.by_number.get(number)
        if invoice is not None and invoice.client_id == client.client_id:
            return invoice if invoice.status in OPEN_STATUSES else f"invoice {number} is {invoice.status}"
        other = invoice or self.elsewhere.get(number)
        if other is None:
            return f"there is no invoice {number}"
        if other.client_id != client.client_id:
            return f"invoice {number} is another client's"
        if other.status not in OPEN_STATUSES:
            return f"invoice {number} is {other.status}"
        return f"invoice {number} is in {other.currency}"

    def _by_amount(self, client: Client, amount: Decimal) -> list[dict] | str:
        exact = [invoice for invoice in self.open[client.client_id]
                 if invoice.status in OPEN_STATUSES and invoice.total_amount - invoice.paid_amount == amount]
        if len(exact) == 1:
            return [{"invoice_id": exact[0].id, "amount": amount}]
        if not exact:
            return f"no invoice number in the purpose, and no open invoice of the client has {amount} outstanding"
        return f"no invoice number in the purpose, and {len(exact)} open invoices of the client have {amount} " \
               "outstanding: choose by hand"


def _live(clients: list[Client]) -> list[Client]:
    return [client for client in clients if client.archived_at is None]


def _spread(invoices: list[Invoice], amount: Decimal, numbers: str) -> list[dict] | str:
    """`amount` over the invoices in order, each up to what it has outstanding; more than all of them have is
    for an accountant to decide (it would stay as credit)."""
    outstanding = sum((invoice.total_amount - invoice.paid_amount for invoice in invoices), Decimal("0"))
    if amount > outstanding:
        return f"{amount} is more than the {outstanding} outstanding on {numbers}"
    allocations, left = [], amount
    for invoice in invoices:
        part = min(left, invoice.total_amount - invoice.paid_amount)
        if part > 0:
            allocations.append({"invoice_id": invoice.id, "amount": part})
        left -= part
    return allocations
