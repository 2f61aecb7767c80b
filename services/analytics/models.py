"""The analytics service's own tables: read models built only from other services' events (users, clients,
deals and their stage entries, pipelines and stages, campaigns, activities, surveys; products, invoices and their
lines, payment plans, payments and their allocations, delivered shipments and signed acts), plus the exchange
rates an admin records (the one table written through the API, and therefore never rebuilt).

Every read model is written only by services/analytics/consumers.py (and billing_consumers.py). A row moves
forward in CloudEvent time: a table whose events carry the whole record keeps one `last_event_time`
(glassbox.projection); a table fed by events that carry only part of the record keeps one time per group of
columns (see
services/analytics/projection.py), so a late older event can still fill in what a newer one did not carry."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Index, Integer, MetaData,
                        Numeric, PrimaryKeyConstraint, SmallInteger, String, Text, UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from glassbox.models import NAMING_CONVENTION, one_of

DEAL_STATUSES = ("open", "won", "lost")
ACTIVITY_STATUSES = ("planned", "done", "cancelled")
SURVEY_KINDS = ("nps", "csat")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _time(nullable: bool = True):
    return mapped_column(DateTime(timezone=True), nullable=nullable)


class User(Base):
    """Users of the gateway (crm.identity.events): who owns deals and clients, their team and role."""

    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # created/updated carry the profile; deactivated carries only email, role and the state.
    profile_time: Mapped[datetime | None] = _time()
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str | None] = mapped_column(String(30))
    is_active: Mapped[bool | None] = mapped_column(Boolean)
    state_time: Mapped[datetime | None] = _time()

    __table_args__ = (Index("ix_users_team", "team_id"),)


class Client(Base):
    """A client card (crm.client.*): its segment, where it came from, who owns it."""

    __tablename__ = "clients"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    source_channel: Mapped[str | None] = mapped_column(String(50))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime | None] = _time()
    card_time: Mapped[datetime | None] = _time()  # created/updated: the whole card
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_time: Mapped[datetime | None] = _time()  # created/updated/assigned/archived
    archived_at: Mapped[datetime | None] = _time()
    archived_time: Mapped[datetime | None] = _time()  # created/updated (null)/archived

    __table_args__ = (
        Index("ix_clients_created", "created_at", postgresql_include=["owner_id", "industry", "region", "campaign_id"]),
        Index("ix_clients_owner", "owner_id"),
        Index("ix_clients_campaign", "campaign_id"),
    )


class Pipeline(Base):
    __tablename__ = "pipelines"

    pipeline_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime | None] = _time()
    last_event_time: Mapped[datetime] = _time(nullable=False)


class Stage(Base):
    """A stage of a pipeline as its latest pipeline event describes it (removed stages stay, inactive)."""

    __tablename__ = "stages"

    stage_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(UUID)
    name: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int | None] = mapped_column(SmallInteger)
    sla_days: Mapped[int | None] = mapped_column(Integer)  # null: no limit
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (Index("ix_stages_pipeline_position", "pipeline_id", "position"),)


# The columns the KPI indexes of deals carry (index-only scans).
SEGMENT_COLUMNS = ("owner_id", "pipeline_id", "client_industry", "client_region")
CREATED_COVER = ("deal_id", "status", *SEGMENT_COLUMNS, "stage_id", "stage_position", "campaign_id", "client_id",
                 "client_campaign_id")
CLOSED_COVER = ("status", "created_at", "currency", "amount", *SEGMENT_COLUMNS, "campaign_id", "client_id",
                "lost_reason_id", "client_campaign_id")
OPEN_COVER = ("stage_id", "stage_probability", *SEGMENT_COLUMNS, "currency", "amount", "closed_at")
OPEN_ENTERED_COVER = (*OPEN_COVER, "expected_close_on")
OPEN_EXPECTED_COVER = (*OPEN_COVER, "stage_entered_at")


class Deal(Base):
    """The current state of a deal: the latest snapshot (every crm.deal.* event carries the whole deal)."""

    __tablename__ = "deals"

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3))
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    client_industry: Mapped[str | None] = mapped_column(String(100))
    client_region: Mapped[str | None] = mapped_column(String(100))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    # the client card's campaign now (not from the deal's events): a deal without a campaign of its own belongs
    # to its client's (/kpi/campaigns); kept by the consumer on every deal and client event (consumers.py)
    client_campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_name: Mapped[str | None] = mapped_column(String(200))
    stage_position: Mapped[int | None] = mapped_column(Integer)
    stage_probability: Mapped[int | None] = mapped_column(SmallInteger)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = _time(nullable=False)
    updated_at: Mapped[datetime | None] = _time()
    stage_entered_at: Mapped[datetime | None] = _time()
    closed_at: Mapped[datetime | None] = _time()
    lost_reason_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    lost_reason_name: Mapped[str | None] = mapped_column(String(200))
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (
        CheckConstraint(one_of("status", DEAL_STATUSES), name="status"),
        # covering (migration 0003): the KPIs read the deals created or closed in a period from the index alone
        Index("ix_deals_created", "created_at", postgresql_include=list(CREATED_COVER)),
        Index("ix_deals_closed", "closed_at", postgresql_include=list(CLOSED_COVER),
              postgresql_where=text("closed_at IS NOT NULL")),
        Index("ix_deals_owner_status", "owner_id", "status"),
        Index("ix_deals_open_stage", "pipeline_id", "stage_id", postgresql_where=text("status = 'open'")),
        # the open deals still within their stage's SLA (the newest stays) and the longest in their stage first
        # (/kpi/stalled-deals), and those closing from a day on (past due, /kpi/forecast): index-only
        Index("ix_deals_open_entered", "stage_entered_at", "deal_id", postgresql_include=list(OPEN_ENTERED_COVER),
              postgresql_where=text("status = 'open'")),
        Index("ix_deals_open_expected", "expected_close_on", postgresql_include=list(OPEN_EXPECTED_COVER),
              postgresql_where=text("status = 'open'")),
        Index("ix_deals_campaign", "campaign_id", postgresql_where=text("campaign_id IS NOT NULL")),
        Index("ix_deals_client", "client_id"),
        # the latest name a snapshot gave a lost reason (/kpi/lost-reasons), one index probe per reason
        Index("ix_deals_lost_reason", "lost_reason_id", "last_event_time",
              postgresql_where=text("lost_reason_id IS NOT NULL")),
    )


class StageEntry(Base):
    """A deal's stay in a stage: from its creation, a move or a reopening (entered_at) until the next move
    or its closing (left_at). Keyed by (deal, entered_at), so a repeated or reordered event never adds one."""

    __tablename__ = "stage_entries"

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, nullable=False)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID] = mapped_column(UUID)
    stage_position: Mapped[int | None] = mapped_column(Integer)
    left_at: Mapped[datetime | None] = _time()

    __table_args__ = (
        # the key carries each stay's stage (migration 0004): the furthest stage a deal reached (/kpi/funnel's
        # `entered`, /kpi/managers' weakest stage) is read from the index alone, one probe per deal
        PrimaryKeyConstraint("deal_id", "entered_at", postgresql_include=["stage_id", "stage_position"]),
        Index("ix_stage_entries_stage", "stage_id"),
        # covering: /kpi/deal-cycle sums the stays left in the period from the index alone
        Index("ix_stage_entries_left", "left_at", postgresql_include=["stage_id", "entered_at", "deal_id"],
              postgresql_where=text("left_at IS NOT NULL")),
    )


class Campaign(Base):
    __tablename__ = "campaigns"

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(50))
    channel_name: Mapped[str | None] = mapped_column(String(100))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cost_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    cost_currency: Mapped[str | None] = mapped_column(String(3))
    last_event_time: Mapped[datetime] = _time(nullable=False)


ACTIVITY_COVER = ("status", "assignee_id", "type", "type_name", "client_id")


class Activity(Base):
    """Work with a client: planned, then done or cancelled. Overdue is computed at query time."""

    __tablename__ = "activities"

    activity_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    type: Mapped[str | None] = mapped_column(String(50))
    type_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))
    due_at: Mapped[datetime | None] = _time()
    completed_at: Mapped[datetime | None] = _time()
    cancelled_at: Mapped[datetime | None] = _time()
    created_at: Mapped[datetime | None] = _time()
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (
        CheckConstraint(one_of("status", ACTIVITY_STATUSES), name="status"),
        Index("ix_activities_assignee", "assignee_id"),
        # covering (migration 0003): activities created, done, cancelled in a period, planned from a time on
        Index("ix_activities_completed", "completed_at", postgresql_include=list(ACTIVITY_COVER),
              postgresql_where=text("completed_at IS NOT NULL")),
        Index("ix_activities_planned_due", "due_at", postgresql_include=list(ACTIVITY_COVER),
              postgresql_where=text("status = 'planned'")),
        Index("ix_activities_created", "created_at", postgresql_include=list(ACTIVITY_COVER)),
        Index("ix_activities_cancelled", "cancelled_at", postgresql_include=list(ACTIVITY_COVER),
              postgresql_where=text("cancelled_at IS NOT NULL")),
    )


class Survey(Base):
    """A satisfaction survey answer (recorded once, never changed)."""

    __tablename__ = "surveys"

    survey_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    kind: Mapped[str] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(SmallInteger)
    surveyed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime | None] = _time()

    __table_args__ = (Index("ix_surveys_surveyed_on", "surveyed_on"),)


# -- billing (crm.billing.events) ------------------------------------------------------------------------
# The owner of an invoice, a payment or a document is whose receivable it is: the client's current owner (the
# clients read model) when analytics knows the client, else the one its latest event named (the billing service
# moves them with the client without an event of theirs). The consumer keeps it so from both sides, and keeps the
# columns an invoice derives from other read models (its payments, its documents) whenever it writes those.

MONEY = Numeric(14, 2)
QUANTITY = Numeric(14, 3)
PAID_INVOICE_COVER = ("owner_id", "client_id", "currency", "total_amount", "due_on")
INVOICE_COVER = ("status", "owner_id", "currency", "total_amount")
OPEN_INVOICE_COVER = ("owner_id", "currency", "due_on", "total_amount", "paid_amount")
UNSHIPPED_COVER = ("owner_id", "currency", "total_amount", "shipped_amount")
ISSUED_STATUSES = "status IN ('issued', 'partially_paid', 'paid')"  # issued and not cancelled
OPEN_STATUSES = "status IN ('issued', 'partially_paid')"  # owes something now


class Product(Base):
    """A price-list entry (crm.product.*): its name for /kpi/products."""

    __tablename__ = "products"

    product_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(7))
    last_event_time: Mapped[datetime] = _time(nullable=False)


class Invoice(Base):
    """An invoice: the latest snapshot (every crm.invoice.* event carries the whole invoice), and what it derives
    from its payments and documents."""

    __tablename__ = "invoices"

    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(14))
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    currency: Mapped[str] = mapped_column(String(3))
    issued_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_amount: Mapped[Decimal] = mapped_column(MONEY)
    last_event_time: Mapped[datetime] = _time(nullable=False)
    # derived: the latest paid_on of the recorded payments allocated to it (the day a paid invoice was paid in
    # full), the amount of its delivered shipments and signed acts, whether they cover every line, whether it has
    # a payment plan
    last_paid_on: Mapped[date | None] = mapped_column(Date)
    shipped_amount: Mapped[Decimal] = mapped_column(MONEY, server_default=text("0"))
    fully_shipped: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    has_plan: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))

    __table_args__ = (
        Index("ix_invoices_issued", "issued_on", postgresql_include=list(INVOICE_COVER),
              postgresql_where=text("issued_on IS NOT NULL")),
        # the invoices without a plan due in a period (those with one: their instalments)
        Index("ix_invoices_due_unplanned", "due_on", postgresql_include=list(INVOICE_COVER),
              postgresql_where=text(f"{ISSUED_STATUSES} AND NOT has_plan")),
        Index("ix_invoices_open", "issued_on", postgresql_include=list(OPEN_INVOICE_COVER),
              postgresql_where=text(OPEN_STATUSES)),
        Index("ix_invoices_paid", "last_paid_on", postgresql_include=list(PAID_INVOICE_COVER),
              postgresql_where=text("status = 'paid'")),
        Index("ix_invoices_shipped_unpaid", "invoice_id", postgresql_include=list(OPEN_INVOICE_COVER),
              postgresql_where=text(f"{OPEN_STATUSES} AND shipped_amount > 0")),
        Index("ix_invoices_paid_unshipped", "invoice_id", postgresql_include=list(UNSHIPPED_COVER),
              postgresql_where=text("status = 'paid' AND NOT fully_shipped")),
        Index("ix_invoices_client", "client_id"),
        Index("ix_invoices_deal", "deal_id", postgresql_where=text("deal_id IS NOT NULL")),
    )


class InvoiceLine(Base):
    """A line of an invoice as its latest snapshot has it (a draft's lines may be replaced)."""

    __tablename__ = "invoice_lines"

    line_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID)
    product_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (Index("ix_invoice_lines_invoice", "invoice_id", postgresql_include=["product_id", "quantity",
                                                                                         "amount"]),)


class PaymentPlan(Base):
    """That an invoice's plan is known as of its latest crm.payment_plan.updated.v1 (its items below)."""

    __tablename__ = "payment_plans"

    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    last_event_time: Mapped[datetime] = _time(nullable=False)


class PlannedPayment(Base):
    """An instalment of an invoice's latest payment plan."""

    __tablename__ = "planned_payments"

    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    due_on: Mapped[date] = mapped_column(Date, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (Index("ix_planned_payments_due", "due_on", postgresql_include=["invoice_id", "amount"]),)


class Payment(Base):
    """A payment: the latest snapshot (crm.payment.recorded|reversed carry the whole payment)."""

    __tablename__ = "payments"

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    currency: Mapped[str] = mapped_column(String(3))
    paid_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (
        Index("ix_payments_paid_on", "paid_on", postgresql_include=["status", "client_id", "owner_id", "currency",
                                                                     "amount"]),
        Index("ix_payments_client", "client_id"),
    )


class PaymentAllocation(Base):
    """What a payment pays of an invoice, with the payment's day and whether it was reversed (then it pays nothing)."""

    __tablename__ = "payment_allocations"

    payment_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
    paid_on: Mapped[date] = mapped_column(Date)
    reversed: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_payment_allocations_invoice", "invoice_id",
                            postgresql_include=["paid_on", "amount", "reversed"]),
                      # revenue paid per manager in a period (/kpi/plans, /kpi/commissions, migration 0010)
                      Index("ix_payment_allocations_paid_on", "paid_on",
                            postgresql_include=["invoice_id", "amount", "reversed"]))


class Delivery(Base):
    """A shipment delivered or a service act signed (crm.shipment.delivered.v1, crm.service_act.signed.v1)."""

    __tablename__ = "deliveries"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(11))
    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    done_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    total_amount: Mapped[Decimal] = mapped_column(MONEY)
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (
        Index("ix_deliveries_done", "done_on", postgresql_include=["kind", "owner_id", "currency", "total_amount"]),
        Index("ix_deliveries_invoice", "invoice_id", postgresql_include=["total_amount"]),
        Index("ix_deliveries_client", "client_id"),
    )


class DeliveryLine(Base):
    """What a delivered shipment or signed act covers of an invoice line (its n-th line)."""

    __tablename__ = "delivery_lines"

    document_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    n: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    invoice_line_id: Mapped[uuid.UUID] = mapped_column(UUID)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    amount: Mapped[Decimal] = mapped_column(MONEY)

    __table_args__ = (Index("ix_delivery_lines_invoice_line", "invoice_line_id", postgresql_include=["quantity"]),)


BILLING_READ_MODELS = (Product, Invoice, InvoiceLine, PaymentPlan, PlannedPayment, Payment, PaymentAllocation, Delivery,
                       DeliveryLine)


# -- totals kept by PostgreSQL ---------------------------------------------------------------------------
# Each table below sums rows of a read model per group, kept up to date by statement-level triggers on that read
# model (migration 0003: one upsert of the changed groups per INSERT/UPDATE/DELETE statement, from its
# transition tables), so a KPI sums a few thousand groups instead of scanning the rows. They hold only what does
# not depend on the time of the question: what does (stalled, past due, overdue) is the group total minus the
# rows an index finds on the other side of `now` (services/analytics/kpi/totals.py). A group whose rows are all gone
# is deleted as soon as it is empty, so the totals depend only on the rows (a rebuild gives the same ones).

def _totals_args(table: str, key: tuple[str, ...], count: str) -> tuple:
    """The key (UNIQUE NULLS NOT DISTINCT; no primary key, its columns may be null) and an index of the groups
    left empty, which the triggers delete at once."""
    return (UniqueConstraint(*key, postgresql_nulls_not_distinct=True),
            Index(f"ix_{table}_empty", count, postgresql_where=text(f"{count} = 0")))


OPEN_DEAL_GROUP = ("pipeline_id", "stage_id", "stage_probability", "currency", "closed_on", "entered", "dated")


class OpenDealsByOwner(Base):
    """The open deals per owner, pipeline, stage (with the snapshot's probability), currency; closed_on (the UTC
    day of closed_at, null for an open deal in practice) picks the rate day; entered / dated: stage_entered_at /
    expected_close_on known."""

    __tablename__ = "open_deals_by_owner"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_probability: Mapped[int | None] = mapped_column(SmallInteger)
    currency: Mapped[str] = mapped_column(String(3))
    closed_on: Mapped[date | None] = mapped_column(Date)
    entered: Mapped[bool] = mapped_column(Boolean)
    dated: Mapped[bool] = mapped_column(Boolean)
    deals: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Numeric)

    __table_args__ = _totals_args("open_deals_by_owner", ("owner_id", *OPEN_DEAL_GROUP), "deals")
    __mapper_args__ = {"primary_key": [owner_id, pipeline_id, stage_id, stage_probability, currency, closed_on, entered,
                                       dated]}


class OpenDealsBySegment(Base):
    """The same per client segment (industry and region) instead of the owner."""

    __tablename__ = "open_deals_by_segment"

    client_industry: Mapped[str | None] = mapped_column(String(100))
    client_region: Mapped[str | None] = mapped_column(String(100))
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_probability: Mapped[int | None] = mapped_column(SmallInteger)
    currency: Mapped[str] = mapped_column(String(3))
    closed_on: Mapped[date | None] = mapped_column(Date)
    entered: Mapped[bool] = mapped_column(Boolean)
    dated: Mapped[bool] = mapped_column(Boolean)
    deals: Mapped[int] = mapped_column(BigInteger)
    amount: Mapped[Decimal] = mapped_column(Numeric)

    __table_args__ = _totals_args("open_deals_by_segment", ("client_industry", "client_region", *OPEN_DEAL_GROUP),
                                  "deals")
    __mapper_args__ = {"primary_key": [client_industry, client_region, pipeline_id, stage_id, stage_probability,
                                       currency, closed_on, entered, dated]}


class ClientsByOwner(Base):
    """Clients per owner: all of them, and those not archived."""

    __tablename__ = "clients_by_owner"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    clients: Mapped[int] = mapped_column(BigInteger)
    live: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = _totals_args("clients_by_owner", ("owner_id",), "clients")
    __mapper_args__ = {"primary_key": [owner_id]}


class ClientsBySegment(Base):
    __tablename__ = "clients_by_segment"

    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    clients: Mapped[int] = mapped_column(BigInteger)
    live: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = _totals_args("clients_by_segment", ("industry", "region"), "clients")
    __mapper_args__ = {"primary_key": [industry, region]}


class PlannedActivities(Base):
    """Planned activities with a due time, per assignee and type (overdue = these minus those due from now on)."""

    __tablename__ = "planned_activities"

    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    type: Mapped[str | None] = mapped_column(String(50))
    type_name: Mapped[str | None] = mapped_column(String(100))
    activities: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = _totals_args("planned_activities", ("assignee_id", "type", "type_name"), "activities")
    __mapper_args__ = {"primary_key": [assignee_id, type, type_name]}


class ClosedDealsByOwnerDay(Base):
    """Deals won and lost per owner, UTC day of closing and currency (migration 0010): the actuals of the sales
    plans and commissions, and the trailing win rate and average won deal, from a few thousand rows."""

    __tablename__ = "closed_deals_by_owner_day"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    closed_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    deals: Mapped[int] = mapped_column(BigInteger)  # won + lost: the group is deleted at 0
    won: Mapped[int] = mapped_column(BigInteger)
    won_amount: Mapped[Decimal] = mapped_column(Numeric)
    lost: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (*_totals_args("closed_deals_by_owner_day", ("owner_id", "closed_on", "currency"), "deals"),
                      Index("ix_closed_deals_by_owner_day_day", "closed_on",
                            postgresql_include=["owner_id", "currency", "won", "won_amount", "lost"]))
    __mapper_args__ = {"primary_key": [owner_id, closed_on, currency]}


class ClosedDealsByOwnerMonth(Base):
    """The same per calendar month of closing (`month`: its first day; migration 0011): the whole months of a period
    and of the trailing window are read from here, the days at their ends from the daily totals."""

    __tablename__ = "closed_deals_by_owner_month"

    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    month: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    deals: Mapped[int] = mapped_column(BigInteger)  # won + lost: the group is deleted at 0
    won: Mapped[int] = mapped_column(BigInteger)
    won_amount: Mapped[Decimal] = mapped_column(Numeric)
    lost: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (*_totals_args("closed_deals_by_owner_month", ("owner_id", "month", "currency"), "deals"),
                      Index("ix_closed_deals_by_owner_month_month", "month",
                            postgresql_include=["owner_id", "currency", "won", "won_amount", "lost"]))
    __mapper_args__ = {"primary_key": [owner_id, month, currency]}


TOTALS = (OpenDealsByOwner, OpenDealsBySegment, ClientsByOwner, ClientsBySegment, PlannedActivities,
          ClosedDealsByOwnerDay, ClosedDealsByOwnerMonth)


# -- sales plans and commission schemes (crm.deals.events) --------------------------------------------------

class SalesPlan(Base):
    """A sales plan as its latest crm.sales_plan.* event has it; a deleted one stays with `deleted_at` (so a late
    older event cannot bring it back). Targets not set are null; `activities` is JSON {type: count}."""

    __tablename__ = "sales_plans"

    plan_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    period_kind: Mapped[str | None] = mapped_column(String(7))
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    mode: Mapped[str | None] = mapped_column(String(3))
    revenue_won_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    revenue_won_currency: Mapped[str | None] = mapped_column(String(3))
    revenue_paid_amount: Mapped[Decimal | None] = mapped_column(MONEY)
    revenue_paid_currency: Mapped[str | None] = mapped_column(String(3))
    deals_won: Mapped[int | None] = mapped_column(Integer)
    activities: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = _time()
    last_event_time: Mapped[datetime] = _time(nullable=False)

    __table_args__ = (Index("ix_sales_plans_period", "period_start", "period_end",
                            postgresql_where=text("deleted_at IS NULL")),)


class CommissionScheme(Base):
    """A commission scheme as its latest event has it: the name and every version (JSON, oldest first, as the
    event carries them); the schemes are few, so who is assigned is read from the versions when asked."""

    __tablename__ = "commission_schemes"

    scheme_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    versions: Mapped[str | None] = mapped_column(Text)
    last_event_time: Mapped[datetime] = _time(nullable=False)


PLAN_READ_MODELS = (SalesPlan, CommissionScheme)

# The tables `glassbox analytics rebuild` empties and fills again from the topics (fx_rates is not one); the totals
# are emptied with them (their triggers fire on the rows written again, not on TRUNCATE).
READ_MODELS = (User, Client, Pipeline, Stage, Deal, StageEntry, Campaign, Activity, Survey, *BILLING_READ_MODELS,
               *TOTALS, *PLAN_READ_MODELS)


class FxRate(Base):
    """How many units of the base currency one unit of `currency` is worth from `valid_from` on (recorded
    by an admin; the latest rate valid on a day converts that day's amounts)."""

    __tablename__ = "fx_rates"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    currency: Mapped[str] = mapped_column(String(3))
    rate_to_base: Mapped[Decimal] = mapped_column(Numeric(20, 10))
    valid_from: Mapped[date] = mapped_column(Date)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        UniqueConstraint("currency", "valid_from", name="uq_fx_rates_currency_valid_from"),
        CheckConstraint("rate_to_base > 0", name="rate_to_base"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
    )
