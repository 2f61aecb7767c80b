"""The analytics service's own tables: read models built only from other services' events (users, clients,
deals and their stage entries, pipelines and stages, campaigns, activities, surveys), plus the exchange
rates an admin records (the one table written through the API, and therefore never rebuilt).

Every read model is written only by services/analytics/consumers.py. A row moves forward in CloudEvent
time: a table whose events carry the whole record keeps one `last_event_time` (glassbox.projection); a
table fed by events that carry only part of the record keeps one time per group of columns (see
services/analytics/projection.py), so a late older event can still fill in what a newer one did not carry."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, Index, Integer, MetaData, Numeric, SmallInteger,
                        String, UniqueConstraint, func, text)
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
        Index("ix_clients_created", "created_at"),
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
        Index("ix_deals_created", "created_at"),
        Index("ix_deals_closed", "closed_at", postgresql_where=text("closed_at IS NOT NULL")),
        Index("ix_deals_owner_status", "owner_id", "status"),
        Index("ix_deals_open_stage", "pipeline_id", "stage_id", postgresql_where=text("status = 'open'")),
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

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    pipeline_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID] = mapped_column(UUID)
    stage_position: Mapped[int | None] = mapped_column(Integer)
    left_at: Mapped[datetime | None] = _time()

    __table_args__ = (
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
        Index("ix_activities_completed", "completed_at", postgresql_where=text("completed_at IS NOT NULL")),
        Index("ix_activities_planned_due", "due_at", postgresql_where=text("status = 'planned'")),
        Index("ix_activities_created", "created_at"),
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


# The tables `glassbox analytics rebuild` empties and fills again from the topics (fx_rates is not one).
READ_MODELS = (User, Client, Pipeline, Stage, Deal, StageEntry, Campaign, Activity, Survey)


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
