"""The clients service's own tables: the client card and its contacts."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, MetaData, String, Text, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

KINDS = ("company", "person")
RATINGS = ("A", "B", "C", "D")
STATUSES = ("prospect", "active", "former")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention={
        "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s", "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    })


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


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

    contacts: Mapped[list["Contact"]] = relationship(back_populates="client", order_by="Contact.created_at")

    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind"),
        CheckConstraint(_in("rating", RATINGS), name="rating"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        # Duplicates are refused among live cards; an archived card does not block a new one.
        Index("uq_clients_tax_id_live", "tax_id", unique=True,
              postgresql_where=text("archived_at IS NULL AND tax_id IS NOT NULL")),
        Index("uq_clients_email_live", func.lower(text("email")), unique=True,
              postgresql_where=text("archived_at IS NULL AND email IS NOT NULL")),
        # Keyset pagination per owner (a manager's own list) and for everyone, on each sort key.
        Index("ix_clients_owner_created", "owner_id", "created_at", "id"),
        Index("ix_clients_owner_name", "owner_id", "name", "id"),
        Index("ix_clients_created", "created_at", "id"),
        Index("ix_clients_name", "name", "id"),
        Index("ix_clients_updated", "updated_at", "id"),
        Index("ix_clients_industry", "industry"),
        Index("ix_clients_region", "region"),
        Index("ix_clients_campaign", "campaign_id"),
        Index("ix_clients_source_channel", "source_channel"),
        Index("ix_clients_status_rating", "status", "rating"),
        Index("ix_clients_phone", "phone"),
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
