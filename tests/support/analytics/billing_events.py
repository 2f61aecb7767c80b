"""Billing events as the billing service sends them (contracts/events/crm.{product,invoice,payment,payment_plan,
shipment,service_act}.*): builders that keep each record's state as the service would, so that every step returns
the event with the whole snapshot after the change, and the state is the truth the reference calculator reads.

An `InvoiceLife` is an invoice (draft, issued, paid in part or in full, cancelled, with a plan); a `PaymentLife` a
payment with its allocations (recorded, allocated later, reversed), each step also returning the events of the
invoices it moved; `delivered` a shipment delivered or an act signed against invoice lines."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from glassbox.events import DomainEvent
from tests.support.analytics.events import event, new_id

CENT = Decimal("0.01")
SYSTEM = "00000000-0000-0000-0000-000000000000"


def money(amount: Decimal, currency: str) -> dict:
    return {"amount": f"{amount:.2f}", "currency": currency}


def kopecks(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def vat_in(amount: Decimal, vat_rate: str) -> Decimal:
    rate = Decimal(0) if vat_rate == "none" else Decimal(vat_rate)
    return kopecks(amount * rate / (100 + rate)) if rate else Decimal("0.00")


def product_created(product_id: str, sku: str, name: str, kind: str, price: Decimal, at: datetime,
                    currency: str = "RUB") -> DomainEvent:
    return event("billing", "crm.product.created.v1", product_id, {
        "product_id": product_id, "sku": sku, "name": name, "kind": kind, "unit_name": "шт" if kind == "goods" else "ч",
        "unit_code": "796" if kind == "goods" else "356", "price": money(price, currency), "vat_rate": "20",
        "is_active": True, "created_at": at, "updated_at": at, "actor_id": SYSTEM}, at)


def line(description: str, quantity: str, unit_price: str, product_id: str | None = None, kind: str = "goods",
         vat_rate: str = "20") -> dict:
    """An invoice line (the truth the reference reads: quantity and amount as Decimals)."""
    amount = kopecks(Decimal(quantity) * Decimal(unit_price))
    return {"line_id": new_id(), "product_id": product_id, "kind": kind, "description": description,
            "quantity": Decimal(quantity), "unit_price": Decimal(unit_price), "vat_rate": vat_rate, "amount": amount}


@dataclass
class InvoiceLife:
    client: dict  # the client card: client_id, name, owner_id
    lines: list[dict]
    due_on: date
    currency: str = "RUB"
    deal_id: str | None = None
    invoice_id: str = field(default_factory=new_id)
    owner_id: str | None = None  # the client's owner as the billing service knew it
    number: str | None = None
    status: str = "draft"
    issued_on: date | None = None
    paid: Decimal = Decimal("0.00")
    created_at: datetime | None = None
    updated_at: datetime | None = None
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    cancelled_at: datetime | None = None
    plan: list[tuple[date, Decimal]] = field(default_factory=list)

    def __post_init__(self):
        self.owner_id = self.owner_id or self.client["owner_id"]

    @property
    def total(self) -> Decimal:
        return sum((item["amount"] for item in self.lines), Decimal("0.00"))

    def snapshot(self) -> dict:
        vat = sum((vat_in(item["amount"], item["vat_rate"]) for item in self.lines), Decimal("0.00"))
        open_ = self.status in ("issued", "partially_paid")
        return {
            "invoice_id": self.invoice_id, "number": self.number, "status": self.status,
            "client_id": self.client["client_id"], "client_name": self.client["name"], "deal_id": self.deal_id,
            "owner_id": self.owner_id, "currency": self.currency, "issued_on": self.issued_on, "due_on": self.due_on,
            "created_at": self.created_at, "updated_at": self.updated_at, "issued_at": self.issued_at,
            "paid_at": self.paid_at, "cancelled_at": self.cancelled_at,
            "cancel_reason": "Выставлен повторно" if self.cancelled_at else None,
            "net": money(self.total - vat, self.currency), "vat": money(vat, self.currency),
            "total": money(self.total, self.currency), "paid": money(self.paid, self.currency),
            "outstanding": money(self.total - self.paid if open_ else Decimal(0), self.currency),
            "lines": [{"line_id": item["line_id"], "position": position, "product_id": item["product_id"],
                       "kind": item["kind"], "description": item["description"],
                       "unit_name": "шт" if item["kind"] == "goods" else "ч", "unit_code": None,
                       "quantity": str(item["quantity"]), "unit_price": f"{item['unit_price']:.2f}",
                       "discount_percent": "0", "vat_rate": item["vat_rate"],
                       "net_amount": f"{item['amount'] - vat_in(item['amount'], item['vat_rate']):.2f}",
                       "vat_amount": f"{vat_in(item['amount'], item['vat_rate']):.2f}",
                       "amount": f"{item['amount']:.2f}"} for position, item in enumerate(self.lines, start=1)],
        }

    def _emit(self, event_type: str, at: datetime, **extra) -> DomainEvent:
        self.updated_at = at
        return event("billing", event_type, self.invoice_id, {**self.snapshot(), **extra, "actor_id": SYSTEM}, at)

    def create(self, at: datetime) -> DomainEvent:
        self.created_at = at
        return self._emit("crm.invoice.created.v1", at)

    def issue(self, at: datetime, number: int) -> DomainEvent:
        self.status, self.issued_on, self.issued_at = "issued", at.date(), at
        self.number = f"СЧ-{at.year}-{number:06d}"
        return self._emit("crm.invoice.issued.v1", at)

    def cancel(self, at: datetime) -> DomainEvent:
        self.status, self.cancelled_at = "cancelled", at
        return self._emit("crm.invoice.cancelled.v1", at)

    def set_plan(self, at: datetime, items: list[tuple[date, Decimal]]) -> DomainEvent:
        self.plan = sorted(items)
        return event("billing", "crm.payment_plan.updated.v1", self.invoice_id, {
            "invoice_id": self.invoice_id, "number": self.number, "client_id": self.client["client_id"],
            "owner_id": self.owner_id, "currency": self.currency, "total": money(self.total, self.currency),
            "items": [{"due_on": due_on, "amount": money(amount, self.currency)} for due_on, amount in self.plan],
            "actor_id": SYSTEM}, at)

    def moved_by_payment(self, at: datetime, change: Decimal) -> DomainEvent:
        """What billing announces when a payment changes what was paid of it."""
        self.paid += change
        if self.paid == self.total:
            self.status, self.paid_at = "paid", at
            return self._emit("crm.invoice.paid.v1", at)
        self.status, self.paid_at = ("partially_paid" if self.paid else "issued"), None
        return self._emit("crm.invoice.updated.v1", at, changed=["paid_amount", "status"])


@dataclass
class PaymentLife:
    client: dict
    amount: Decimal
    paid_on: date
    currency: str = "RUB"
    payment_id: str = field(default_factory=new_id)
    owner_id: str | None = None
    status: str = "recorded"
    allocations: list[tuple[InvoiceLife, Decimal]] = field(default_factory=list)
    created_at: datetime | None = None
    reversed_at: datetime | None = None

    def __post_init__(self):
        self.owner_id = self.owner_id or self.client["owner_id"]

    @property
    def allocated(self) -> Decimal:
        return sum((amount for _, amount in self.allocations), Decimal("0.00"))

    def snapshot(self) -> dict:
        return {
            "payment_id": self.payment_id, "client_id": self.client["client_id"], "client_name": self.client["name"],
            "owner_id": self.owner_id, "amount": money(self.amount, self.currency), "paid_on": self.paid_on,
            "method": "bank_transfer", "reference": "п/п 1", "payer_inn": None, "status": self.status,
            "statement_id": None, "allocated": money(self.allocated, self.currency),
            "unallocated": money(self.amount - self.allocated if self.status == "recorded" else Decimal(0),
                                 self.currency),
            "allocations": [{"invoice_id": invoice.invoice_id, "invoice_number": invoice.number,
                             "amount": money(amount, self.currency), "invoice_status": invoice.status,
                             "invoice_due_on": invoice.due_on, "invoice_owner_id": invoice.owner_id}
                            for invoice, amount in self.allocations],
            "created_at": self.created_at, "reversed_at": self.reversed_at,
            "reversal_reason": "ошибка" if self.reversed_at else None,
        }

    def _allocate(self, at: datetime, shares: list[tuple[InvoiceLife, Decimal]]) -> list[DomainEvent]:
        moved = []
        for invoice, amount in shares:
            known = next((i for i, (other, _) in enumerate(self.allocations) if other is invoice), None)
            if known is None:
                self.allocations.append((invoice, amount))
            else:
                self.allocations[known] = (invoice, self.allocations[known][1] + amount)
            moved.append(invoice.moved_by_payment(at, amount))
        payment = event("billing", "crm.payment.recorded.v1", self.payment_id,
                        {**self.snapshot(), "actor_id": SYSTEM}, at)
        return [payment, *moved]

    def record(self, at: datetime, shares: list[tuple[InvoiceLife, Decimal]] = ()) -> list[DomainEvent]:
        self.created_at = at
        return self._allocate(at, list(shares))

    def allocate(self, at: datetime, shares: list[tuple[InvoiceLife, Decimal]]) -> list[DomainEvent]:
        return self._allocate(at, shares)

    def reverse(self, at: datetime) -> list[DomainEvent]:
        self.status, self.reversed_at = "reversed", at
        moved = [invoice.moved_by_payment(at, -amount) for invoice, amount in self.allocations]
        return [event("billing", "crm.payment.reversed.v1", self.payment_id, {**self.snapshot(), "actor_id": SYSTEM},
                      at), *moved]


@dataclass
class Delivery:
    """A shipment delivered or an act signed (the truth: what it covers of which invoice lines)."""

    kind: str
    invoice: InvoiceLife
    done_on: date
    lines: list[tuple[dict, Decimal, Decimal]]  # (invoice line, quantity, amount)
    document_id: str = field(default_factory=new_id)

    @property
    def total(self) -> Decimal:
        return sum((amount for _, _, amount in self.lines), Decimal("0.00"))


def delivered(invoice: InvoiceLife, kind: str, quantities: list[tuple[dict, Decimal]], done_on: date,
              at: datetime, number: int, already: dict) -> tuple[Delivery, DomainEvent]:
    """A shipment (or act) of `quantities` of invoice lines, done on `done_on`; `already`: {line_id: (quantity,
    amount)} covered before, updated. Each share is proportional, the one completing a line takes what is left."""
    covered = []
    for item, quantity in quantities:
        done_quantity, done_amount = already.get(item["line_id"], (Decimal(0), Decimal("0.00")))
        if done_quantity + quantity == item["quantity"]:
            amount = item["amount"] - done_amount
        else:
            amount = kopecks(item["amount"] * quantity / item["quantity"])
        already[item["line_id"]] = (done_quantity + quantity, done_amount + amount)
        covered.append((item, quantity, amount))
    document = Delivery(kind, invoice, done_on, covered)
    currency = invoice.currency
    vat = sum((vat_in(amount, item["vat_rate"]) for item, _, amount in covered), Decimal("0.00"))
    prefix = "ТН" if kind == "shipment" else "АКТ"
    data = {"document_id": document.document_id, "kind": kind, "number": f"{prefix}-{done_on.year}-{number:06d}",
            "invoice_id": invoice.invoice_id, "invoice_number": invoice.number,
            "client_id": invoice.client["client_id"],
            "owner_id": invoice.owner_id, "status": "done", "issued_on": done_on, "done_on": done_on,
            "net": money(document.total - vat, currency), "vat": money(vat, currency),
            "total": money(document.total, currency),
            "lines": [{"invoice_line_id": item["line_id"], "product_id": item["product_id"],
                       "description": item["description"], "quantity": str(quantity),
                       "amount": money(amount, currency)} for item, quantity, amount in covered],
            "actor_id": SYSTEM}
    event_type = "crm.shipment.delivered.v1" if kind == "shipment" else "crm.service_act.signed.v1"
    return document, event("billing", event_type, document.document_id, data, at)
