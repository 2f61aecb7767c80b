"""The notifications service's own tables: the rules and each user's preferences, the inbox, outgoing e-mail,
templates, mailings with their recipients and the suppression list, webhooks with their deliveries and attempts;
and the projections it keeps from other services' events (users, clients, pipeline stages, deals, activities,
invoices), never written by a request."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Identity,
                        Index, Integer, MetaData, Numeric, String, Text, Time, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from glassbox.models import NAMING_CONVENTION, one_of
from glassbox.users import UserProjection

EMAIL_STATES = ("queued", "sending", "sent", "failed", "unknown")
MAILING_STATES = ("scheduled", "sending", "completed", "cancelled")
RECIPIENT_STATES = ("pending", "sending", "sent", "failed", "unsubscribed", "unknown")
DELIVERY_STATES = ("pending", "succeeded", "failed")
UNREAD_LEAD = timedelta(days=365_000)  # added to an unread notification's time in the inbox order


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _created():
    return mapped_column(DateTime(timezone=True), server_default=func.now())


# -- projections of other services' records --------------------------------------------------------------

class User(UserProjection, Base):
    """The gateway's users (crm.identity.events): whom to notify, their e-mail, who is head of sales."""

    __tablename__ = "users"


class Client(Base):
    """The clients service's cards (crm.clients.events): the audience of mailings (segment = industry, region,
    rating, owner, campaign, status), the e-mail they go to, and the whole card for templates."""

    __tablename__ = "clients"

    client_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    industry: Mapped[str | None] = mapped_column(String(100))
    region: Mapped[str | None] = mapped_column(String(100))
    rating: Mapped[str | None] = mapped_column(String(1))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str | None] = mapped_column(String(10))
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    card: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))  # every field events carried
    updated_at: Mapped[datetime] = _created()
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_clients_owner", "owner_id"),
        Index("ix_clients_industry", "industry"),
        Index("ix_clients_region", "region"),
    )


class Stage(Base):
    """A pipeline's stage (crm.pipeline.*): its SLA says when a deal standing there is stalled."""

    __tablename__ = "stages"

    stage_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    pipeline_id: Mapped[uuid.UUID] = mapped_column(UUID)
    name: Mapped[str | None] = mapped_column(String(100))
    sla_days: Mapped[int | None] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Deal(Base):
    """A deal (crm.deal.*): its owner, stage and since when it stands there."""

    __tablename__ = "deals"

    deal_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    client_name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    stage_name: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(4))
    stage_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    amount_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    expected_close_on: Mapped[date | None] = mapped_column(Date)
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_deals_open_stage", "stage_id", "stage_entered_at", postgresql_where=text("status = 'open'")),
        Index("ix_deals_client", "client_id"),
    )


class Activity(Base):
    """Planned work (crm.activity.*): whom it is assigned to and when it is due."""

    __tablename__ = "activities"

    activity_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    client_name: Mapped[str | None] = mapped_column(String(200))
    deal_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    subject: Mapped[str | None] = mapped_column(String(300))
    type_name: Mapped[str | None] = mapped_column(String(100))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    status: Mapped[str | None] = mapped_column(String(10))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("ix_activities_planned_due", "due_at", postgresql_where=text("status = 'planned'")),
    )


class Invoice(Base):
    """An invoice as the billing events told of it (crm.invoice.overdue.v1, crm.payment_plan.missed.v1)."""

    __tablename__ = "invoices"

    invoice_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    number: Mapped[str | None] = mapped_column(String(50))
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    client_name: Mapped[str | None] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    amount_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_currency: Mapped[str | None] = mapped_column(String(3))
    due_on: Mapped[date | None] = mapped_column(Date)
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- rules, preferences, the inbox -------------------------------------------------------------------------

class Rule(Base):
    """A notification rule (seeded with its defaults by migration 0001): whether it fires, by which channels by
    default, and its parameters (minutes before a due time, hours before an escalation, ...)."""

    __tablename__ = "notification_rules"

    code: Mapped[str] = mapped_column(String(50), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    recipients: Mapped[str] = mapped_column(String(200))
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    channels: Mapped[list] = mapped_column(JSONB)
    params: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    updated_at: Mapped[datetime] = _created()


class Preference(Base):
    """A user's own choices: per rule on/off and channels (absent: the rule's defaults), and quiet hours in their
    time zone, during which e-mail waits (the inbox still gets the notification)."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    rules: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)", name="quiet_hours"),
    )


class Notification(Base):
    """One notification in a user's inbox. (user, rule, subject, occurrence) is unique: a duplicate event, a
    replay or a second scheduler finds the row there and notifies nobody again."""

    __tablename__ = "notifications"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(UUID)
    rule: Mapped[str] = mapped_column(String(50))
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(64))
    occurrence: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)  # false: e-mail only (the user's choice)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The inbox's order, unread first and newest first within each: an unread one sorts a thousand years later
    # (UNREAD_LEAD); reading it sets created_at. Indexed, so a page of GET /notifications reads one index range.
    # Written by the code (PostgreSQL refuses a generated column on timestamptz arithmetic: not immutable).
    inbox_order: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_notifications_occurrence", "user_id", "rule", "subject_id", "occurrence", unique=True),
        Index("ix_notifications_inbox", "user_id", "inbox_order", "id"),
        Index("ix_notifications_unread", "user_id", postgresql_where=text("read_at IS NULL AND in_app")),
    )


class EmailMessage(Base):
    """An e-mail to send (a notification's): queued until its time (quiet hours), claimed by one worker
    (`sending`), then sent, failed after its attempts, or `unknown` when a worker died while sending it."""

    __tablename__ = "email_messages"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    notification_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint(one_of("state", EMAIL_STATES), name="state"),
        Index("ix_email_messages_queued", "not_before", postgresql_where=text("state = 'queued'")),
        Index("ix_email_messages_sending", "claimed_at", postgresql_where=text("state = 'sending'")),
    )


# -- templates and mailings ------------------------------------------------------------------------------

class Template(Base):
    """An e-mail template: Jinja2 (sandboxed) subject, text body and optional HTML body."""

    __tablename__ = "templates"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(10), default="email")
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        Index("uq_templates_name", func.lower(text("name")), unique=True),
        Index("ix_templates_created", "created_at", "id"),
    )


class Mailing(Base):
    """A template sent to an audience of clients: scheduled (now or later), sending, completed or cancelled."""

    __tablename__ = "mailings"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    template_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("templates.id"))
    audience: Mapped[dict] = mapped_column(JSONB)
    state: Mapped[str] = mapped_column(String(10), default="scheduled")
    send_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("state", MAILING_STATES), name="state"),
        Index("ix_mailings_created", "created_at", "id"),
        Index("ix_mailings_due", "send_at", postgresql_where=text("state = 'scheduled'")),
    )


class MailingRecipient(Base):
    """One client of a mailing's audience, fixed when the mailing starts. Its state moves pending -> sending ->
    sent | failed, or pending -> unsubscribed when the address is suppressed by the time its turn comes."""

    __tablename__ = "mailing_recipients"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    mailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailings.id", ondelete="CASCADE"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID)
    email: Mapped[str] = mapped_column(String(254))
    state: Mapped[str] = mapped_column(String(12), default="pending")
    claim_id: Mapped[uuid.UUID | None] = mapped_column(UUID)  # the chunk a worker claimed it in
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(one_of("state", RECIPIENT_STATES), name="state"),
        Index("uq_mailing_recipients_client", "mailing_id", "client_id", unique=True),
        Index("ix_mailing_recipients_pending", "mailing_id", "id", postgresql_where=text("state = 'pending'")),
        Index("ix_mailing_recipients_sending", "claimed_at", postgresql_where=text("state = 'sending'")),
    )


class Suppression(Base):
    """An address that unsubscribed: no later mailing writes to it."""

    __tablename__ = "suppressions"

    email: Mapped[str] = mapped_column(String(254), primary_key=True)  # lower case
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    mailing_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- webhooks ----------------------------------------------------------------------------------------------

class Webhook(Base):
    """An endpoint of another system that receives the events whose types match `event_types` (`*` wildcards),
    signed with its secret (Standard Webhooks). Disabled after its deliveries kept failing for about a day."""

    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list] = mapped_column(JSONB)
    description: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    secret: Mapped[str] = mapped_column(String(100))  # whsec_<base64>: needed in clear to sign
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_webhooks_created", "created_at", "id"),
    )


class WebhookDelivery(Base):
    """One event for one endpoint, delivered (retried) until it succeeds or its attempts run out. The order of an
    endpoint's deliveries is kept per subject: a later one of the same subject waits for the earlier one."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # the CloudEvent (structured JSON), byte for byte what is signed
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("state", DELIVERY_STATES), name="state"),
        Index("uq_webhook_deliveries_event", "webhook_id", "event_id", unique=True),
        Index("ix_webhook_deliveries_due", "next_attempt_at", postgresql_where=text("state = 'pending'")),
        Index("ix_webhook_deliveries_subject", "webhook_id", "subject", "id",
              postgresql_where=text("state = 'pending'")),
        Index("ix_webhook_deliveries_list", "webhook_id", "id"),
    )


class WebhookAttempt(Base):
    """One try of a delivery: when, the status (none: no answer), how long it took, the start of the answer."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        Index("ix_webhook_attempts_delivery", "delivery_id", "id"),
    )
