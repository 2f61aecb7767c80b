"""The gateway's own tables: teams, users and their credentials (refresh tokens, API tokens)."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, MetaData, String, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from glassbox.auth import ROLES
from glassbox.models import NAMING_CONVENTION, one_of


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Failed logins in a row (forgotten some time after the last one, reset by a good login), and until when the
    # next attempt waits (the login delays of gateway.identity.service.sessions).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        # One account per address whatever its case; logins look the user up by lower(email).
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        # Keyset pagination on each sort key of the user list.
        Index("ix_users_email", "email", "id"),
        Index("ix_users_full_name", "full_name", "id"),
        Index("ix_users_created", "created_at", "id"),
    )


class LoginAddress(Base):
    """Failed logins from one client address, whatever the account (unknown e-mails included), and until when the
    next attempt from it waits: password spraying from one address slows down without locking any account."""

    __tablename__ = "login_addresses"

    address: Mapped[str] = mapped_column(String(100), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(Integer)
    # Indexed: rows whose failures are forgotten are deleted as new failures come in.
    last_failed_login_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """One link of a rotation chain. Only the SHA-256 of the secret is stored; a family is the chain
    started by one login, revoked as a whole when a used token shows up again."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    family_id: Mapped[uuid.UUID] = mapped_column(UUID, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    """A credential for another system, scoped to one role; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the secret's first characters, to recognise it in lists
    created_by: Mapped[uuid.UUID] = mapped_column(UUID)  # a user or an API token id: no foreign key
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    # The plain secret, set only on the instance just created so the answer can show it once; not a column.
    secret = None

    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        Index("ix_api_tokens_created", "created_at", "id"),
    )
