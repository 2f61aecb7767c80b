"""The billing service's own tables: the seller's requisites, the price list, invoices and their lines, the gapless
document numbers, shipments and service acts against invoice lines, payment plans, payments and their allocations,
imported bank statements, the stored printed forms, the receivables' totals that PostgreSQL keeps; and the projections
of clients, deals and users that it keeps from other services' events (never written by a request)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer,
                        LargeBinary, MetaData, Numeric, SmallInteger, String, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from glassbox.models import NAMING_CONVENTION, one_of
from glassbox.users import UserProjection

PRODUCT_KINDS = ("goods", "service")
VAT_RATES = ("20", "10", "0", "none")  # "none": без НДС (the seller is not a VAT payer for this line)
INVOICE_STATUSES = ("draft", "issued", "partially_paid", "paid", "cancelled")
OPEN_STATUSES = ("issued", "partially_paid")  # issued and not fully paid: receivables
DELIVERY_KINDS = ("shipment", "service_act")
DELIVERY_STATUSES = ("issued", "done", "cancelled")  # done: delivered (a shipment) or signed (an act)
PAYMENT_METHODS = ("bank_transfer", "cash", "card", "other")
PAYMENT_STATUSES = ("recorded", "reversed")
STATEMENT_LINE_STATUSES = ("matched", "unmatched", "manual", "outgoing", "known")

MONEY = Numeric(14, 2)
QUANTITY = Numeric(14, 3)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# -- the seller and the price list -------------------------------------------------------------------------

class SellerRequisites(Base):
    """The company's own legal and bank details, printed on every document: one row (id 1), edited by admins. An
    issued document keeps the copy it was issued with."""

    __tablename__ = "seller_requisites"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, default=1)
    legal_name: Mapped[str] = mapped_column(String(300))
    inn: Mapped[str] = mapped_column(String(12))
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str | None] = mapped_column(String(15))
    address: Mapped[str] = mapped_column(String(500))
    bank_name: Mapped[str] = mapped_column(String(300))
    bik: Mapped[str] = mapped_column(String(9))
    correspondent_account: Mapped[str] = mapped_column(String(20))
    settlement_account: Mapped[str] = mapped_column(String(20))
    director: Mapped[str] = mapped_column(String(200))
    chief_accountant: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)


class Product(Base):
    """An entry of the price list: goods or a service, its unit (a name and its OKEI code), price and VAT rate.
    Never deleted: an inactive product cannot be put on a new invoice, and old invoices keep their copy."""

    __tablename__ = "products"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(7))
    unit_name: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(String(3))  # OKEI, e.g. 796 шт, 168 т, 356 ч
    price_amount: Mapped[Decimal] = mapped_column(MONEY)
    price_currency: Mapped[str] = mapped_column(String(3))
    vat_rate: Mapped[str] = mapped_column(String(4))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(one_of("kind", PRODUCT_KINDS), name="kind"),
        CheckConstraint(one_of("vat_rate", VAT_RATES), name="vat_rate"),
        CheckConstraint("price_amount >= 0", name="price_amount"),
        Index("uq_products_sku", func.lower(text("sku")), unique=True),
        Index("ix_products_name", "name", "id"),
    )


# -- projections of other services' records ---------------------------------------------------------------

class Client(Base):
    """This service's copy of the clients service's cards (crm.clients.events): the buyer's requisites printed on
    documents and the owner who may see its invoices. Written only by services/billing/consumers.py."""

    __tablename__ = "clients"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(20))
    tax_id: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_clients_owner", "owner_id"),
        Index("ix_clients_tax_id", "tax_id"),
    )


class Deal(Base):
    """This service's copy of the deals (crm.deals.events) an invoice may name: whose client, whose deal."""

    __tablename__ = "deals"

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    title: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class User(UserProjection, Base):
    """This service's projection of the gateway's users (crm.identity.events): managers' names on receivables."""

    __tablename__ = "users"


# -- invoices ----------------------------------------------------------------------------------------------

class DocumentNumber(Base):
    """The last number given per document kind and year. Taken with an UPDATE ... RETURNING in the transaction
    that issues the document: concurrent issues queue on the row lock, and a rolled-back issue gives its number
    back, so numbers are gapless and never reused."""

    __tablename__ = "document_numbers"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer)


class Invoice(Base):
    """A счёт на оплату: drafted (no number), issued (numbered; its lines, buyer and seller frozen), partially
    paid, paid, or cancelled. Overdue is derived: open and past due_on. Totals are the sums of the lines'."""

    __tablename__ = "invoices"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(14), default="draft")
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)  # a card of the clients service: no foreign key
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # The client's owner, kept in step with the client projection: who may see the invoice, whose receivable.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    comment: Mapped[str | None] = mapped_column(Text)
    net_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    vat_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    total_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    paid_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    # The parties as printed, frozen when issued (a draft prints the current ones).
    buyer: Mapped[dict | None] = mapped_column(JSONB)
    seller: Mapped[dict | None] = mapped_column(JSONB)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the daily job announced crm.invoice.overdue.v1 (once per invoice).
    overdue_announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["InvoiceLine"]] = relationship(order_by="InvoiceLine.position", lazy="selectin",
                                                      cascade="all, delete-orphan", back_populates="invoice")
    plan: Mapped[list["PlannedPayment"]] = relationship(order_by="PlannedPayment.due_on", lazy="selectin",
                                                        cascade="all, delete-orphan")
    client: Mapped[Client | None] = relationship(
        primaryjoin="foreign(Invoice.client_id) == Client.client_id", viewonly=True, lazy="selectin")

    # Computed per request: against the service's clock, and from the payments allocated to it.
    overdue: bool = False
    payments: tuple = ()

    @property
    def client_name(self) -> str | None:
        return self.client.name if self.client is not None else None

    @property
    def outstanding_amount(self) -> Decimal:
        return self.total_amount - self.paid_amount if self.status in OPEN_STATUSES else Decimal("0.00")

    __table_args__ = (
        CheckConstraint(one_of("status", INVOICE_STATUSES), name="status"),
        CheckConstraint("status = 'cancelled' OR (status = 'draft') = (number IS NULL)", name="numbered_when_issued"),
        CheckConstraint("paid_amount >= 0 AND paid_amount <= total_amount", name="paid_amount"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        UniqueConstraint("number", name="uq_invoices_number"),
        Index("ix_invoices_created", "created_at", "id"),
        Index("ix_invoices_owner_created", "owner_id", "created_at", "id"),
        Index("ix_invoices_client_created", "client_id", "created_at", "id"),
        Index("ix_invoices_deal", "deal_id"),
        Index("ix_invoices_status_created", "status", "created_at", "id"),
        # Receivables and the overdue job read only the open invoices, however many paid ones there are.
        Index("ix_invoices_open_due", "due_on", postgresql_where=text("status IN ('issued', 'partially_paid')"),
              postgresql_include=["client_id", "owner_id", "currency", "total_amount", "paid_amount"]),
        # The aging of the clients on a page of receivables, and of one client.
        Index("ix_invoices_open_client", "client_id", postgresql_where=text("status IN ('issued', 'partially_paid')"),
              postgresql_include=["owner_id", "currency", "due_on", "total_amount", "paid_amount"]),
    )


class InvoiceLine(Base):
    """One line: a product (copied) or free text, quantity, unit, price with VAT included, a discount in percent,
    and the amounts computed from them (service/money.py), each rounded to kopecks."""

    __tablename__ = "invoice_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("products.id"))
    kind: Mapped[str] = mapped_column(String(7))
    description: Mapped[str] = mapped_column(String(500))
    unit_name: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(String(3))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    vat_rate: Mapped[str] = mapped_column(String(4))
    discount_amount: Mapped[Decimal] = mapped_column(MONEY)
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    vat_amount: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)  # with VAT: what the buyer pays for the line

    invoice: Mapped[Invoice] = relationship(back_populates="lines")

    # Computed per request: covered by shipments or acts that are not cancelled.
    shipped_quantity: Decimal = Decimal("0")

    __table_args__ = (
        CheckConstraint(one_of("kind", PRODUCT_KINDS), name="kind"),
        CheckConstraint(one_of("vat_rate", VAT_RATES), name="vat_rate"),
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("discount_percent BETWEEN 0 AND 100", name="discount_percent"),
        UniqueConstraint("invoice_id", "position", name="uq_invoice_lines_position"),
    )


class PlannedPayment(Base):
    """One dated instalment of an invoice's payment plan; the plan's amounts sum to the invoice total."""

    __tablename__ = "planned_payments"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    # When the daily job announced crm.payment_plan.missed.v1 for it (once).
    missed_announced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        UniqueConstraint("invoice_id", "due_on", name="uq_planned_payments_due_on"),
        Index("ix_planned_payments_due", "due_on", postgresql_where=text("missed_announced_at IS NULL")),
    )


# -- receivables kept by PostgreSQL ------------------------------------------------------------------------------
# The open invoices' outstanding amounts (total - paid of those issued or partially paid), and the payment plans'
# instalments, summed per group by triggers in the transaction that changes them (migration 0002), so that the
# receivables sum a few thousand groups instead of every open invoice or instalment. A group left with nothing is
# deleted. The aging depends on the day it is counted on, so the totals keep the due day and the question sums the
# days into buckets.

class OpenReceivablesByClient(Base):
    """Per client, owner and currency: how many invoices are open and what they still owe. Ranks the clients of
    GET /receivables?by=client (largest first) without summing their invoices."""

    __tablename__ = "open_receivables_by_client"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    invoices: Mapped[int] = mapped_column(Integer)
    outstanding: Mapped[Decimal] = mapped_column(Numeric(18, 2))

    __table_args__ = (
        UniqueConstraint("client_id", "owner_id", "currency", name="uq_open_receivables_by_client_client_id",
                         postgresql_nulls_not_distinct=True),
        # Largest first: read backwards.
        Index("ix_open_receivables_by_client_outstanding", "outstanding"),
        Index("ix_open_receivables_by_client_owner", "owner_id", "outstanding"),
    )
    __mapper_args__ = {"primary_key": [client_id, owner_id, currency]}


class OpenReceivablesByDay(Base):
    """Per owner, currency and due day: how many invoices are open and what they still owe. The totals and the
    per-manager rows of GET /receivables, aged on any day, from at most owners x currencies x due days rows."""

    __tablename__ = "open_receivables_by_day"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    due_on: Mapped[date] = mapped_column(Date)
    invoices: Mapped[int] = mapped_column(Integer)
    outstanding: Mapped[Decimal] = mapped_column(Numeric(18, 2))

    __table_args__ = (
        UniqueConstraint("owner_id", "currency", "due_on", name="uq_open_receivables_by_day_owner_id",
                         postgresql_nulls_not_distinct=True),
    )
    __mapper_args__ = {"primary_key": [owner_id, currency, due_on]}


class PlannedByDay(Base):
    """Per owner, currency and due day: the payment plans' instalments of invoices that are not cancelled (under
    their invoice's owner and currency), for what the plans expected in a period. Kept by triggers on
    planned_payments, and on invoices for a cancellation, a reassignment or a change of currency."""

    __tablename__ = "planned_by_day"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    due_on: Mapped[date] = mapped_column(Date)
    instalments: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))

    __table_args__ = (
        UniqueConstraint("owner_id", "currency", "due_on", name="uq_planned_by_day_owner_id",
                         postgresql_nulls_not_distinct=True),
        Index("ix_planned_by_day_due_on", "due_on", postgresql_include=["owner_id", "currency", "amount"]),
    )
    __mapper_args__ = {"primary_key": [owner_id, currency, due_on]}


# -- shipments and service acts -----------------------------------------------------------------------------

class Delivery(Base):
    """A shipment of goods (товарная накладная) or an act of services rendered (акт), against an issued invoice's
    lines; numbered on creation, per kind and year. Done once delivered (a shipment) or signed (an act)."""

    __tablename__ = "deliveries"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(11))
    number: Mapped[str] = mapped_column(String(20))
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str] = mapped_column(String(9), default="issued")
    issued_on: Mapped[date] = mapped_column(Date)
    done_on: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    vat_amount: Mapped[Decimal] = mapped_column(MONEY)
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["DeliveryLine"]] = relationship(order_by="DeliveryLine.position", lazy="selectin",
                                                       cascade="all, delete-orphan")
    invoice: Mapped[Invoice] = relationship(lazy="selectin")

    __table_args__ = (
        CheckConstraint(one_of("kind", DELIVERY_KINDS), name="kind"),
        CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name="done_on"),
        UniqueConstraint("number", name="uq_deliveries_number"),
        Index("ix_deliveries_invoice", "invoice_id"),
        Index("ix_deliveries_kind_created", "kind", "created_at", "id"),
        Index("ix_deliveries_owner_kind_created", "owner_id", "kind", "created_at", "id"),
    )


class DeliveryLine(Base):
    """How much of one invoice line a shipment or act covers, with its share of the line's amounts."""

    __tablename__ = "delivery_lines"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    invoice_line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoice_lines.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    net_amount: Mapped[Decimal] = mapped_column(MONEY)
    vat_amount: Mapped[Decimal] = mapped_column(MONEY)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    invoice_line: Mapped[InvoiceLine] = relationship(lazy="selectin")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        Index("ix_delivery_lines_invoice_line", "invoice_line_id"),
    )


# -- money in ------------------------------------------------------------------------------------------------

class Payment(Base):
    """Money received from a client, recorded by an accountant or from a bank statement, allocated to one or more
    of the client's invoices; what is not allocated stays as the client's credit. Reversed, never deleted."""

    __tablename__ = "payments"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(13))
    payer_name: Mapped[str | None] = mapped_column(String(300))
    payer_inn: Mapped[str | None] = mapped_column(String(12))
    reference: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(8), default="recorded")
    allocated_amount: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0"))
    # The bank document it came from (account, number, date, amount, payer account): the same document imported
    # twice (the same statement, or two overlapping ones) records one payment.
    bank_document_key: Mapped[str | None] = mapped_column(String(200))
    statement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("bank_statements.id"))
    reversal_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reversed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    allocations: Mapped[list["Allocation"]] = relationship(lazy="selectin", cascade="all, delete-orphan",
                                                           order_by="Allocation.id")

    @property
    def unallocated_amount(self) -> Decimal:
        return self.amount - self.allocated_amount if self.status == "recorded" else Decimal("0.00")

    __table_args__ = (
        CheckConstraint(one_of("status", PAYMENT_STATUSES), name="status"),
        CheckConstraint(one_of("method", PAYMENT_METHODS), name="method"),
        CheckConstraint("amount > 0", name="amount"),
        CheckConstraint("allocated_amount >= 0 AND allocated_amount <= amount", name="allocated_amount"),
        CheckConstraint("(status = 'reversed') = (reversed_at IS NOT NULL)", name="reversed_at"),
        UniqueConstraint("bank_document_key", name="uq_payments_bank_document_key"),
        Index("ix_payments_created", "created_at", "id"),
        Index("ix_payments_owner_created", "owner_id", "created_at", "id"),
        Index("ix_payments_client_created", "client_id", "created_at", "id"),
        Index("ix_payments_paid_on", "paid_on"),
        # Planned vs received: what was received in a period, from the index alone.
        Index("ix_payments_received", "paid_on", postgresql_where=text("status = 'recorded'"),
              postgresql_include=["owner_id", "client_id", "currency", "amount"]),
        # The clients' credit: recorded payments with something left to allocate.
        Index("ix_payments_credit", "client_id", postgresql_where=text("status = 'recorded' AND allocated_amount < amount")),
    )


class Allocation(Base):
    """The part of a payment that pays one invoice."""

    __tablename__ = "payment_allocations"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="CASCADE"))
    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id"))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    invoice: Mapped[Invoice] = relationship(lazy="selectin")

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount"),
        UniqueConstraint("payment_id", "invoice_id", name="uq_payment_allocations_invoice"),
        Index("ix_payment_allocations_invoice", "invoice_id"),
    )


class BankStatement(Base):
    """An imported bank statement (1CClientBankExchange): its account and period, and each of its documents with
    what became of it. The same file imported twice is the same statement (its digest is unique)."""

    __tablename__ = "bank_statements"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    sha256: Mapped[str] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(20))
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    documents: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)  # lines recorded as payments: matched on import, or by hand
    unmatched: Mapped[int] = mapped_column(Integer)  # lines still waiting for an accountant
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    # Computed per request: its lines (when the answer shows them), and whether this request sent a file
    # imported before.
    lines: tuple = ()
    duplicate: bool = False

    __table_args__ = (
        UniqueConstraint("sha256", name="uq_bank_statements_sha256"),
        Index("ix_bank_statements_created", "created_at", "id"),
    )


class StatementLine(Base):
    """One document of a statement: an incoming payment matched (a payment recorded and allocated), unmatched
    (waiting for an accountant), matched by hand later (manual), already known from an earlier statement, or
    outgoing (not ours to record)."""

    __tablename__ = "bank_statement_lines"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    statement_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("bank_statements.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(Integer)  # where its section starts in the file
    number: Mapped[str | None] = mapped_column(String(20))
    paid_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    payer_name: Mapped[str | None] = mapped_column(String(300))
    payer_inn: Mapped[str | None] = mapped_column(String(12))
    payer_account: Mapped[str | None] = mapped_column(String(20))
    purpose: Mapped[str | None] = mapped_column(Text)
    bank_document_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(9))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    note: Mapped[str | None] = mapped_column(Text)  # why it was not matched

    __table_args__ = (
        CheckConstraint(one_of("status", STATEMENT_LINE_STATUSES), name="status"),
        Index("ix_bank_statement_lines_statement", "statement_id", "id"),
    )


class PrintedForm(Base):
    """The PDF of an issued document, rendered once and served as stored: the issued data never changes, so the
    form never does. Drafts are rendered on every request and never stored."""

    __tablename__ = "printed_forms"

    kind: Mapped[str] = mapped_column(String(11), primary_key=True)  # invoice, shipment, service_act
    record_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
