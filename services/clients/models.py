"""The clients service's own tables: the client card, its contacts, activities, marketing (channels and
campaigns) and after-sales (surveys and service cases), plus the client timeline read model and the
projection of users fed by the identity events."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (Boolean, CheckConstraint, Computed, Date, DateTime, ForeignKey, Index, Integer, LargeBinary,
                        MetaData, Numeric, SmallInteger, String, Text, and_, cast, func, literal_column, null, select,
                        text, union_all)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, composite, mapped_column, relationship

from glassbox import audit, clock
from glassbox.models import NAMING_CONVENTION, one_of
from glassbox.money import Money
from glassbox.users import UserProjection

KINDS = ("company", "person")
RATINGS = ("A", "B", "C", "D")
STATUSES = ("prospect", "active", "former")
ACTIVITY_STATUSES = ("planned", "done", "cancelled")
SCORE_RANGES = {"nps": (0, 10), "csat": (1, 5)}  # survey kind -> (lowest, highest) score
PRIORITIES = ("low", "normal", "high", "urgent")
CASE_STATUSES = ("open", "in_progress", "resolved", "closed")
IMPORT_STATUSES = ("queued", "running", "done", "failed")
TRIGRAM_SEARCHED = ("name", "email", "tax_id", "phone")
# The service-case workflow: the only moves allowed; "resolved -> in_progress" reopens a case.
CASE_TRANSITIONS = {"open": ("in_progress",), "in_progress": ("resolved",), "resolved": ("closed", "in_progress"),
                    "closed": ()}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Client(Base):
    __tablename__ = "clients"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    tax_id: Mapped[str | None] = mapped_column(String(20))
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    website: Mapped[str | None] = mapped_column(String(300))
    source_channel: Mapped[str | None] = mapped_column(String(50))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    rating: Mapped[str | None] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(10), default="prospect")
    owner_id: Mapped[uuid.UUID] = mapped_column(UUID)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When the current owner got the card (created, assigned, distributed): "new clients of mine" lists.
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    contacts: Mapped[list["Contact"]] = relationship(back_populates="client", order_by="Contact.created_at")

    __table_args__ = (
        CheckConstraint(one_of("kind", KINDS), name="kind"),
        CheckConstraint(one_of("rating", RATINGS), name="rating"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        # Duplicates are refused among live cards; an archived card does not block a new one.
        Index("uq_clients_tax_id_live", "tax_id", unique=True,
              postgresql_where=text("archived_at IS NULL AND tax_id IS NOT NULL")),
        Index("uq_clients_email_live", func.lower(text("email")), unique=True,
              postgresql_where=text("archived_at IS NULL AND email IS NOT NULL")),
        # Keyset pagination per owner (a manager's own list) and for everyone, on each sort key.
        Index("ix_clients_owner_created", "owner_id", "created_at", "id"),
        Index("ix_clients_owner_name", "owner_id", "name", "id"),
        Index("ix_clients_created", "created_at", "id"),
        Index("ix_clients_owner_assigned", "owner_id", "assigned_at", "id"),
        Index("ix_clients_name", "name", "id"),
        Index("ix_clients_updated", "updated_at", "id"),
        Index("ix_clients_industry", "industry"),
        Index("ix_clients_region", "region"),
        Index("ix_clients_campaign_created", "campaign_id", "created_at", "id"),  # a campaign's clients, newest first
        Index("ix_clients_source_channel", "source_channel"),
        Index("ix_clients_status_rating", "status", "rating"),
        Index("ix_clients_phone", "phone"),
        # Search `q` (ILIKE '%q%') on these four: trigram GIN indexes (migration 0004, when pg_trgm is there).
        *(Index(f"ix_clients_{column}_trgm", column, postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"}) for column in TRIGRAM_SEARCHED),
    )


class Contact(Base):
    """A person at the client: who we talk to."""

    __tablename__ = "contacts"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    position: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    client: Mapped[Client] = relationship(back_populates="contacts")


class CodeListEntry:
    """An editable entry of a code list (activity types, promotion channels). Other records refer to it by
    its code, so the code never changes; the name can, and an inactive entry is refused for new records."""

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(50), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ActivityType(CodeListEntry, Base):
    __tablename__ = "activity_types"


class Channel(CodeListEntry, Base):
    """A promotion channel: where leads come from (exhibition, website, referral, ...)."""

    __tablename__ = "channels"


# -- activities ------------------------------------------------------------------------------------------

# Undated activities sort after every dated one; keyset pagination needs a sort key that is never NULL.
UNDATED = "9999-12-31 00:00:00+00"


class Activity(Base):
    """Work with a client, planned and then done or cancelled: a call, a meeting, a letter..."""

    __tablename__ = "activities"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)  # a deal of the deals service: no foreign key
    type: Mapped[str] = mapped_column(ForeignKey("activity_types.code"))
    subject: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    assignee_id: Mapped[uuid.UUID] = mapped_column(UUID)
    # The client's owner, copied here so that "the activities on my clients" is one index range, not a join
    # through every client of a manager; set on planning, kept by every owner change (service.clients.reassign).
    client_owner_id: Mapped[uuid.UUID] = mapped_column(UUID)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_sort: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                               Computed(f"COALESCE(due_at, '{UNDATED}'::timestamptz)", persisted=True))
    outcome: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    client: Mapped[Client] = relationship()
    activity_type: Mapped[ActivityType] = relationship()

    @hybrid_property
    def overdue(self) -> bool:
        return self.status == "planned" and self.due_at is not None and self.due_at < clock.now()

    @overdue.inplace.expression
    @classmethod
    def _overdue_expression(cls):
        # Never NULL (an undated activity is not overdue), so that NOT overdue is a filter too.
        return and_(cls.status == "planned", cls.due_at.is_not(None), cls.due_at < func.now())

    __table_args__ = (
        CheckConstraint(one_of("status", ACTIVITY_STATUSES), name="status"),
        Index("ix_activities_assignee_due", "assignee_id", "due_sort", "id"),
        Index("ix_activities_client_due", "client_id", "due_sort", "id"),
        Index("ix_activities_status_due", "status", "due_sort", "id"),
        Index("ix_activities_due", "due_sort", "id"),
        Index("ix_activities_due_at", "due_at"),
        Index("ix_activities_created", "created_at", "id"),
        Index("ix_activities_type", "type"),
        Index("ix_activities_deal", "deal_id", postgresql_where=text("deal_id IS NOT NULL")),
        # The work still to do, per assignee and per client: a manager's overdue and planned activities (0005).
        Index("ix_activities_planned_assignee_due", "assignee_id", "due_sort", "id",
              postgresql_where=text("status = 'planned'")),
        Index("ix_activities_planned_client_due", "client_id", "due_sort", "id",
              postgresql_where=text("status = 'planned'")),
        # A manager's view of the work on their clients, all of it and the part still to do (0006).
        Index("ix_activities_client_owner_due", "client_owner_id", "due_sort", "id"),
        Index("ix_activities_planned_client_owner_due", "client_owner_id", "due_sort", "id",
              postgresql_where=text("status = 'planned'")),
    )


# -- marketing -------------------------------------------------------------------------------------------

class Campaign(Base):
    """A marketing campaign on one promotion channel, with its period and cost."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(ForeignKey("channels.code"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    cost_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    cost_currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    cost: Mapped[Money] = composite(Money, "cost_amount", "cost_currency")
    channel_entry: Mapped[Channel] = relationship()

    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period"),
        CheckConstraint("cost_amount >= 0", name="cost_amount"),
        CheckConstraint("cost_currency ~ '^[A-Z]{3}$'", name="cost_currency"),
        Index("ix_campaigns_channel", "channel"),
        Index("ix_campaigns_period", "starts_on", "ends_on"),
        Index("ix_campaigns_created", "created_at", "id"),
        Index("ix_campaigns_name", "name", "id"),
    )


# -- after-sales -----------------------------------------------------------------------------------------

def _score_in_range() -> str:
    return " OR ".join(f"(kind = '{kind}' AND score BETWEEN {low} AND {high})"
                       for kind, (low, high) in SCORE_RANGES.items())


class Survey(Base):
    """A satisfaction survey answer of a client: NPS (0-10) or CSAT (1-5)."""

    __tablename__ = "surveys"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    surveyed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    client: Mapped[Client] = relationship()

    __table_args__ = (
        CheckConstraint(_score_in_range(), name="score"),
        Index("ix_surveys_client_created", "client_id", "created_at", "id"),
        Index("ix_surveys_created", "created_at", "id"),
        Index("ix_surveys_kind_surveyed_on", "kind", "surveyed_on"),
        Index("ix_surveys_surveyed_on", "surveyed_on"),
    )


class ServiceCase(Base):
    """An after-sales request of a client (a complaint, a repair, a question), worked through a workflow."""

    __tablename__ = "service_cases"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    client: Mapped[Client] = relationship()

    __table_args__ = (
        CheckConstraint(one_of("priority", PRIORITIES), name="priority"),
        CheckConstraint(one_of("status", CASE_STATUSES), name="status"),
        Index("ix_service_cases_client_created", "client_id", "created_at", "id"),
        Index("ix_service_cases_status_created", "status", "created_at", "id"),
        Index("ix_service_cases_created", "created_at", "id"),
        Index("ix_service_cases_updated", "updated_at", "id"),
        Index("ix_service_cases_priority", "priority"),
    )


# -- the deals, as their events describe them ------------------------------------------------------------

class Deal(Base):
    """The deals service's deals this service knows (crm.deals.events): which client each is for, so that an
    activity names only a deal of its own client. Written only by services/clients/consumers.py and the
    read-through of a deal not heard of yet; a deal's client never changes."""

    __tablename__ = "deals"

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- the users, as the identity events describe them ---------------------------------------------------

class User(UserProjection, Base):
    """This service's projection of the gateway's users (crm.identity.events), used to check who may own a
    client or be given an activity. Every user is kept, not only managers: the checks filter by role.
    Never written by a request, only by services/clients/consumers.py (and the demo seed through it)."""

    __tablename__ = "users"


# -- the client timeline (a read model over the tables above, not a table) -------------------------------

def _timeline_select():
    def entry(kind: str, model, at, summary, status):
        return select(literal_column(f"'{kind}'", String).label("kind"), model.id.label("id"),
                      model.client_id.label("client_id"), at.label("at"), summary.label("summary"),
                      status.label("status"))

    return union_all(
        # An activity stands where its last step happened: done, cancelled, or planned.
        entry("activity", Activity, func.coalesce(Activity.completed_at, Activity.cancelled_at, Activity.created_at),
              Activity.type + ": " + Activity.subject, Activity.status),
        entry("contact", Contact, Contact.created_at,
              Contact.full_name + func.coalesce(", " + Contact.position, ""), null()),
        entry("survey", Survey, Survey.created_at,
              func.upper(Survey.kind) + " " + cast(Survey.score, String)
              + func.coalesce(": " + Survey.comment, ""), null()),
        entry("service_case", ServiceCase, ServiceCase.created_at, ServiceCase.subject, ServiceCase.status),
    ).subquery("timeline")


class TimelineEntry(Base):
    """One line of a client's timeline; mapped onto a UNION ALL, so it pages like a table."""

    __table__ = _timeline_select()
    __mapper_args__ = {"primary_key": [__table__.c.kind, __table__.c.id]}

    kind: Mapped[str]
    id: Mapped[uuid.UUID]
    client_id: Mapped[uuid.UUID]
    at: Mapped[datetime]
    summary: Mapped[str]
    status: Mapped[str | None]


TIMELINE_KINDS = ("activity", "contact", "survey", "service_case")


class ImportJob(Base):
    """A CSV import of client cards: queued by POST /clients/import, worked off by services/clients/worker.py
    in chunks (each chunk one transaction with its progress), read back by GET /imports/{id}."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    created_by_role: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    filename: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # the CSV as uploaded (UTF-8)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    skipped_duplicates: Mapped[int] = mapped_column(Integer, default=0)
    failed_rows: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list] = mapped_column(JSONB, default=list)  # [{line, kind, errors}], the first MAX_REPORTED
    error: Mapped[str | None] = mapped_column(Text)  # why a job failed as a whole
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("status", IMPORT_STATUSES), name="status"),
        Index("ix_import_jobs_pending", "created_at", postgresql_where=text("status IN ('queued', 'running')")),
    )


# -- the field-level change history --------------------------------------------------------------------------

class AuditRecord(audit.AuditRecordColumns, Base):
    """Who changed which field of a client card (or of one of its contacts) from what to what, written in the
    transaction of the change (glassbox.audit; GET /clients/{id}/history)."""


audit.register(Client, AuditRecord, "client", {
    name: name for name in ("name", "kind", "tax_id", "industry", "region", "address", "phone", "email", "website",
                            "source_channel", "campaign_id", "rating", "status", "owner_id", "notes", "archived_at")})
# A contact's changes are part of its client's history.
audit.register(Contact, AuditRecord, "contact", {
    name: name for name in ("full_name", "position", "email", "phone", "is_primary", "notes")},
    subject=lambda contact: contact.client_id)
