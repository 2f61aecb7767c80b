"""The deals service's own tables: pipelines and their stages (the company's one sales technology), deals with
their stage history, the lost-reason dictionary, and the projections of clients and users that it keeps from
other services' events (never written by a request)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, ForeignKeyConstraint,
                        Identity, Index, Integer, MetaData, Numeric, SmallInteger, String, Text, UniqueConstraint,
                        func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, mapped_column, relationship

from glassbox import audit
from glassbox.models import NAMING_CONVENTION, one_of
from glassbox.money import Money
from glassbox.users import UserProjection
from services.deals.periods import Period

STATUSES = ("open", "won", "lost")
CLOSED = ("won", "lost")
PLAN_MODES = ("own", "sum")
PERIOD_KINDS = ("month", "quarter")
COMMISSION_BASES = ("revenue_paid", "revenue_won")
ASSIGNEE_KINDS = ("manager", "team")
# What a stage may require of a deal before it enters (service/requirements.py says what each one means).
REQUIRABLE_FIELDS = ("amount", "expected_close_on", "campaign_id")
HAND_OFF_STATES = ("open", "taken", "done", "cancelled")
ACTIVE_HAND_OFF_STATES = ("open", "taken")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# -- the sales technology ----------------------------------------------------------------------------------

class Pipeline(Base):
    """An ordered list of stages that deals move through. Exactly one pipeline is the default (new deals go
    there unless they name another)."""

    __tablename__ = "pipelines"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # Every stage, removed ones included (is_active false), in position order.
    stages: Mapped[list["Stage"]] = relationship(back_populates="pipeline", order_by="Stage.position",
                                                 lazy="selectin")

    @property
    def active_stages(self) -> list["Stage"]:
        return [stage for stage in self.stages if stage.is_active]

    __table_args__ = (
        Index("uq_pipelines_default", "is_default", unique=True, postgresql_where=text("is_default")),
        Index("uq_pipelines_name", func.lower(text("name")), unique=True),
    )


class Stage(Base):
    """A step of a pipeline: its place (position, 0-based; the active stages come first, in order, the removed
    ones after them), the probability of winning a deal that stands there, how many days a deal may stay before
    it is stalled (sla_days, null: no limit) and the role that works it. A removed stage that deals passed
    through stays, inactive, so that their history keeps pointing at it."""

    __tablename__ = "stages"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("pipelines.id"))
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(SmallInteger)
    sla_days: Mapped[int | None] = mapped_column(Integer)
    responsible_role: Mapped[str | None] = mapped_column(String(30))
    # What a deal must have to enter the stage: fields of REQUIRABLE_FIELDS, and activity types (slugs of the
    # clients service) completed on the deal.
    required_fields: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list, server_default="{}")
    required_activities: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list, server_default="{}")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages", lazy="selectin")

    __table_args__ = (
        # Deferred: a reorder rewrites every position in one transaction, passing through duplicates.
        UniqueConstraint("pipeline_id", "position", name="uq_stages_pipeline_position", deferrable=True,
                         initially="DEFERRED"),
        # What deals refer to: a stage together with its pipeline, so a deal's stage is always of its pipeline.
        UniqueConstraint("id", "pipeline_id", name="uq_stages_id_pipeline"),
        CheckConstraint("position >= 0", name="position"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint("sla_days IS NULL OR sla_days > 0", name="sla_days"),
        Index("uq_stages_active_name", "pipeline_id", func.lower(text("name")), unique=True,
              postgresql_where=text("is_active")),
    )


class LostReason(Base):
    """An entry of the lost-reason dictionary. An inactive reason cannot be chosen for a new loss; the deals
    lost for it keep it."""

    __tablename__ = "lost_reasons"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        Index("uq_lost_reasons_name", func.lower(text("name")), unique=True),
    )


# -- projections of other services' records ---------------------------------------------------------------

class Campaign(Base):
    """The clients service's campaigns this service knows (crm.clients.events): the ids a deal may name as its
    lead source. Written only by services/deals/consumers.py and the read-through of a campaign not heard of yet."""

    __tablename__ = "campaigns"

    campaign_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Client(Base):
    """This service's copy of the clients service's cards (crm.clients.events), the few fields deals need:
    who owns the client (who may open deals on it), its segment and name for the deal events. Written only by
    services/deals/consumers.py and by the read-through of a card the events have not brought yet."""

    __tablename__ = "clients"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str | None] = mapped_column(String(10))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The CloudEvent time of the event the row reflects (or the card's updated_at when read through).
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_clients_owner", "owner_id"),
    )


class DealActivity(Base):
    """The clients service's activities that name a deal (crm.clients.events), the little a stage's requirements
    read: the type and whether it is done. Written only by services/deals/consumers.py."""

    __tablename__ = "deal_activities"

    activity_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    type: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str | None] = mapped_column(String(10))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_deal_activities_done", "deal_id", "type", postgresql_where=text("status = 'done'")),
    )


class User(UserProjection, Base):
    """This service's projection of the gateway's users (crm.identity.events), to check who may own a deal.
    Every user is kept; the checks filter by role."""

    __tablename__ = "users"


# -- deals ---------------------------------------------------------------------------------------------

class Deal(Base):
    """A sale in progress (open) or done (won, lost), on one client, in one stage of one pipeline."""

    __tablename__ = "deals"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(200))
    amount_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    amount_currency: Mapped[str] = mapped_column(String(3))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)  # a card of the clients service: no foreign key
    pipeline_id: Mapped[uuid.UUID] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID)
    status: Mapped[str] = mapped_column(String(4), default="open")
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)  # a campaign of the clients service
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # stage_entered_at + the stage's sla_days (null: no limit), set on entering a stage and on an SLA change: an
    # open deal is stalled once it is past (the stalled filter reads it from an index, migration 0005)
    stalled_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lost_reason_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("lost_reasons.id"))
    lost_comment: Mapped[str | None] = mapped_column(Text)
    # Grows by one with every change: the ETag of the deal, checked against If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1)

    amount: Mapped[Money] = composite(Money, "amount_amount", "amount_currency")
    stage: Mapped[Stage] = relationship(lazy="selectin")
    lost_reason: Mapped[LostReason | None] = relationship(lazy="selectin")
    client: Mapped[Client | None] = relationship(
        primaryjoin="foreign(Deal.client_id) == Client.client_id", viewonly=True, lazy="selectin")

    # Computed per request against the service's clock (service/deadlines.py sets them on what it returns).
    stalled: bool = False
    past_due: bool = False
    # The hand-off of the current stay (service/handoffs.py attaches it), or None.
    hand_off = None

    @property
    def client_name(self) -> str | None:
        return self.client.name if self.client is not None else None

    @property
    def stage_name(self) -> str:
        return self.stage.name

    @property
    def stage_position(self) -> int:
        return self.stage.position

    @property
    def stage_probability(self) -> int:
        return self.stage.probability

    @property
    def lost_reason_name(self) -> str | None:
        return self.lost_reason.name if self.lost_reason is not None else None

    __table_args__ = (
        ForeignKeyConstraint(["stage_id", "pipeline_id"], ["stages.id", "stages.pipeline_id"]),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint("amount_amount >= 0", name="amount_amount"),
        CheckConstraint("amount_currency ~ '^[A-Z]{3}$'", name="amount_currency"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_at"),
        CheckConstraint("closed_at IS NULL OR closed_at >= created_at", name="closed_after_created"),
        CheckConstraint("(status = 'lost') = (lost_reason_id IS NOT NULL)", name="lost_reason"),
        CheckConstraint("(status = 'lost') = (lost_comment IS NOT NULL)", name="lost_comment"),
        # Keyset pagination on each sort key, for everyone and per owner (a manager's own list).
        Index("ix_deals_created", "created_at", "id"),
        Index("ix_deals_updated", "updated_at", "id"),
        Index("ix_deals_amount", "amount_amount", "id"),
        Index("ix_deals_title", "title", "id"),
        Index("ix_deals_stage_entered", "stage_entered_at", "id"),
        Index("ix_deals_owner_created", "owner_id", "created_at", "id"),
        Index("ix_deals_owner_updated", "owner_id", "updated_at", "id"),
        # The equality filters, newest first.
        Index("ix_deals_client_created", "client_id", "created_at", "id"),
        Index("ix_deals_pipeline_created", "pipeline_id", "created_at", "id"),
        Index("ix_deals_stage_created", "stage_id", "created_at", "id"),
        Index("ix_deals_status_created", "status", "created_at", "id"),
        # Open deals per stage (stalled: entered before now - sla_days; the board's counts and sums), for
        # everyone and per owner; past due (expected_close_on before today); closed in a period.
        Index("ix_deals_open_stage", "stage_id", "stage_entered_at", postgresql_where=text("status = 'open'"),
              postgresql_include=["owner_id", "amount_currency", "amount_amount"]),
        Index("ix_deals_open_owner_stage", "owner_id", "stage_id", "stage_entered_at",
              postgresql_where=text("status = 'open'"), postgresql_include=["amount_currency", "amount_amount"]),
        Index("ix_deals_open_expected", "expected_close_on", postgresql_where=text("status = 'open'")),
        # Open deals longest in their stage first, without walking the closed ones (0004).
        Index("ix_deals_open_stage_entered", "stage_entered_at", "id", postgresql_where=text("status = 'open'")),
        # Stalled deals newest first: the open ones' (created_at, id) with the time each stalls (0005).
        Index("ix_deals_open_created_stalled", "created_at", "id", postgresql_where=text("status = 'open'"),
              postgresql_include=["stalled_after"]),
        Index("ix_deals_closed", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
        Index("ix_deals_pipeline_closed", "pipeline_id", "closed_at", postgresql_where=text("closed_at IS NOT NULL"),
              postgresql_include=["status", "owner_id", "amount_currency", "amount_amount"]),
        # Search `q` in titles (ILIKE '%q%'): a trigram index (migration 0001, when pg_trgm is there).
        Index("ix_deals_title_trgm", "title", postgresql_using="gin", postgresql_ops={"title": "gin_trgm_ops"}),
    )


class OpenDealTotal(Base):
    """The board's sums, kept by the database itself: per stage, owner and currency, how many open deals there are
    and their amount. A trigger on `deals` (migration 0002) adjusts them in the same transaction as every insert,
    delete or change of an open deal's status, stage, owner or amount, so the board of a pipeline with hundreds of
    thousands of open deals reads a few hundred rows instead of all of them. Never written by Python code."""

    __tablename__ = "open_deal_totals"

    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id", ondelete="CASCADE"), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    deals: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class StageEntry(Base):
    """One stay of a deal in a stage: entered_at, and left_at once it moved on or was closed (null while it
    is there). Reopening a deal starts a new stay in its stage."""

    __tablename__ = "deal_stage_entries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    stage: Mapped[Stage] = relationship(lazy="selectin")

    __table_args__ = (
        CheckConstraint("left_at IS NULL OR left_at >= entered_at", name="left_at"),
        Index("ix_deal_stage_entries_deal", "deal_id", "entered_at"),
        Index("ix_deal_stage_entries_stage", "stage_id"),
        # A deal stands in at most one stage at a time.
        Index("uq_deal_stage_entries_current", "deal_id", unique=True, postgresql_where=text("left_at IS NULL")),
    )


# -- sales plans and commission schemes --------------------------------------------------------------------

class SalesPlan(Base):
    """The targets of one manager or one team for a calendar month or quarter. A team plan in mode "sum" has no
    targets of its own (analytics adds up its managers' plans). Money targets are in the company currency."""

    __tablename__ = "sales_plans"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    manager_id: Mapped[uuid.UUID | None] = mapped_column(UUID)  # a user of the projection: no foreign key
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    mode: Mapped[str] = mapped_column(String(4), default="own")
    period_kind: Mapped[str] = mapped_column(String(7))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    currency: Mapped[str] = mapped_column(String(3))  # of both money targets
    revenue_won_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    revenue_paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    deals_won: Mapped[int | None] = mapped_column(Integer)
    activities: Mapped[dict] = mapped_column(JSONB, default=dict)  # activity-type slug -> count
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Grows by one with every change: the ETag of the plan, checked against If-Match.
    version: Mapped[int] = mapped_column(Integer, default=1)

    @property
    def period(self) -> Period:
        return Period(self.period_kind, self.period_start, self.period_end)

    @property
    def targets(self) -> dict:
        """{revenue_won, revenue_paid: Money or None, deals_won: int or None, activities: {type: count}}."""
        def money(amount):
            return Money(amount, self.currency) if amount is not None else None
        return {"revenue_won": money(self.revenue_won_amount), "revenue_paid": money(self.revenue_paid_amount),
                "deals_won": self.deals_won, "activities": dict(self.activities or {})}

    __table_args__ = (
        CheckConstraint("(manager_id IS NULL) <> (team_id IS NULL)", name="one_subject"),
        CheckConstraint(one_of("mode", PLAN_MODES), name="mode"),
        CheckConstraint("manager_id IS NULL OR mode = 'own'", name="manager_mode"),
        CheckConstraint(one_of("period_kind", PERIOD_KINDS), name="period_kind"),
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("revenue_won_amount IS NULL OR revenue_won_amount > 0", name="revenue_won"),
        CheckConstraint("revenue_paid_amount IS NULL OR revenue_paid_amount > 0", name="revenue_paid"),
        CheckConstraint("deals_won IS NULL OR deals_won >= 0", name="deals_won"),
        CheckConstraint("mode = 'own' OR (revenue_won_amount IS NULL AND revenue_paid_amount IS NULL "
                        "AND deals_won IS NULL AND activities = '{}'::jsonb)", name="sum_has_no_targets"),
        # A subject's plans by period (the overlap check), and the list in period order.
        Index("ix_sales_plans_manager", "manager_id", "period_start"),
        Index("ix_sales_plans_team", "team_id", "period_start"),
        Index("ix_sales_plans_period", "period_start", "id"),
    )


class CommissionScheme(Base):
    """A named way of paying commission; what it pays is in its versions, each valid from the first day of a
    month until the next one. Versions are only ever added, so a closed period's commission never changes."""

    __tablename__ = "commission_schemes"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Grows by one with every change (a version added, a rename): the ETag, checked against If-Match.
    revision: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list["CommissionSchemeVersion"]] = relationship(
        back_populates="scheme", order_by="CommissionSchemeVersion.version", lazy="selectin")

    __table_args__ = (
        Index("uq_commission_schemes_name", func.lower(text("name")), unique=True),
    )


class CommissionSchemeVersion(Base):
    """What a scheme pays from `valid_from` on: tiers of plan attainment of the `base` measure with a rate each
    (JSON: [{from_pct, to_pct, rate_pct}] as decimal strings), an optional bonus per large deal won, and whom
    it applies to (user and team ids as strings)."""

    __tablename__ = "commission_scheme_versions"

    scheme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commission_schemes.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date)
    base: Mapped[str] = mapped_column(String(12))
    tiers: Mapped[list] = mapped_column(JSONB)
    deal_bonus: Mapped[dict | None] = mapped_column(JSONB)  # {"amount": Money, "min_deal_amount": Money}
    manager_ids: Mapped[list] = mapped_column(JSONB, default=list)
    team_ids: Mapped[list] = mapped_column(JSONB, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    scheme: Mapped[CommissionScheme] = relationship(back_populates="versions")

    __table_args__ = (
        UniqueConstraint("scheme_id", "valid_from", name="uq_commission_scheme_versions_valid_from"),
        CheckConstraint("version >= 1", name="version"),
        CheckConstraint(one_of("base", COMMISSION_BASES), name="base"),
        CheckConstraint("extract(day from valid_from) = 1", name="valid_from_first_day"),
    )


class CommissionAssignment(Base):
    """Who is assigned directly to which scheme, as its latest version says: a manager to at most one scheme, a
    team to at most one (the primary key). Rewritten with each new version of the scheme."""

    __tablename__ = "commission_assignments"

    kind: Mapped[str] = mapped_column(String(7), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    scheme_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commission_schemes.id"))

    __table_args__ = (
        CheckConstraint(one_of("kind", ASSIGNEE_KINDS), name="kind"),
        Index("ix_commission_assignments_scheme", "scheme_id"),
    )


class HandOff(Base):
    """A stage's work for its responsible role, opened when a deal enters the stage and that role is not its
    owner's: open in the role's queue, taken by one of its users, done by them; cancelled when the deal leaves the
    stage or closes first. `entered_at` is the stay it belongs to (the deal's stage_entered_at then)."""

    __tablename__ = "hand_offs"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    deal_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    stage_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("stages.id"))
    role: Mapped[str] = mapped_column(String(30))
    state: Mapped[str] = mapped_column(String(10), default="open")
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[uuid.UUID | None] = mapped_column(UUID)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    deal: Mapped[Deal] = relationship(lazy="selectin")
    stage: Mapped[Stage] = relationship(lazy="selectin")

    # Computed per request against the service's clock.
    overdue: bool = False

    __table_args__ = (
        CheckConstraint(one_of("state", HAND_OFF_STATES), name="state"),
        CheckConstraint("(state = 'open') = (taken_by IS NULL) OR state = 'cancelled'", name="taken_by"),
        CheckConstraint("(state = 'done') = (completed_at IS NOT NULL)", name="completed_at"),
        CheckConstraint("(state = 'cancelled') = (cancelled_at IS NOT NULL)", name="cancelled_at"),
        # A role's queue in the order it was opened; a deal's hand-offs.
        Index("ix_hand_offs_role_state_entered", "role", "state", "entered_at", "id"),
        Index("ix_hand_offs_entered", "entered_at", "id"),
        Index("ix_hand_offs_deal", "deal_id", "entered_at"),
        # A deal has at most one hand-off under way (the one of its current stay).
        Index("uq_hand_offs_active", "deal_id", unique=True, postgresql_where=text("state IN ('open', 'taken')")),
    )


# -- the field-level change history --------------------------------------------------------------------------

class AuditRecord(audit.AuditRecordColumns, Base):
    """Who changed which field of a deal from what to what, written in the transaction of the change
    (glassbox.audit; GET /deals/{id}/history?changes=true)."""


# The deal's fields as people know them; the stage and the lost reason by name (what they were called then).
# Derived and bookkeeping columns (version, updated_at, stalled_after, stage_entered_at) are left out.
audit.register(Deal, AuditRecord, "deal", {
    "title": "title", "amount": "amount_amount", "currency": "amount_currency", "stage": audit.related("stage"),
    "status": "status", "owner_id": "owner_id", "expected_close_on": "expected_close_on",
    "campaign_id": "campaign_id", "closed_at": "closed_at", "lost_reason": audit.related("lost_reason"),
    "lost_comment": "lost_comment"})
