"""The users a service knows: its own projection of the identity events (crm.identity.events), so that it can
check who may own or be given a record without asking the token issuer. A service declares the table with the
`UserProjection` columns and registers `user_handlers(model)` with its consumer.

Tolerant reader: a handler takes the fields it needs with .get and ignores the rest; rows only move forward in
CloudEvent time (glassbox.projection)."""
from __future__ import annotations

import uuid
from datetime import datetime

import jwt
from sqlalchemy import UUID, Boolean, DateTime, String, bindparam, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from glassbox import clock
from glassbox.access_checks import recent_access_checks
from glassbox.auth import Authenticator, Principal
from glassbox.db import Database, Statement
from glassbox.events import DomainEvent
from glassbox.projection import upsert_newer

USER_CREATED = "crm.user.created.v1"
USER_UPDATED = "crm.user.updated.v1"
USER_DEACTIVATED = "crm.user.deactivated.v1"
IDENTITY_TOPIC = "crm.identity.events"

# The profile fields the projection keeps; an event sets those it carries and leaves the others as they are.
PROFILE_FIELDS = ("full_name", "email", "role", "team_id", "is_active")


class UserProjection:
    """The columns of a service's `users` table (a declarative mixin). Every user is kept, not only those of
    one role: a service's checks filter by role."""

    user_id: Mapped[uuid.UUID] = mapped_column(UUID, primary_key=True)
    full_name: Mapped[str | None] = mapped_column(String(200))  # a deactivation event does not carry it
    email: Mapped[str | None] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(30))
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID)
    is_active: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The CloudEvent time of the event the row reflects: an older event arriving late is not applied.
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def user_id_of(event: DomainEvent) -> uuid.UUID:
    """The user an identity event is about; a malformed id raises, so the event goes to the DLQ."""
    return uuid.UUID(str(event.data.get("user_id") or event.subject))


def user_handlers(model) -> dict:
    """The handlers that keep `model` (a table with the UserProjection columns), by event type."""

    def project(session: Session, event: DomainEvent, values: dict) -> None:
        user_id = user_id_of(event)
        upsert_newer(session, model, {"user_id": user_id}, {**values, "updated_at": clock.now()}, event.time)
        recent_access_checks.forget(user_id)  # this process's web workers, if any, see the change at once

    def user_changed(session: Session, event: DomainEvent) -> None:
        """crm.user.created.v1 and crm.user.updated.v1 carry the whole profile after the change."""
        project(session, event, {name: event.data.get(name) for name in PROFILE_FIELDS if name in event.data})

    def user_deactivated(session: Session, event: DomainEvent) -> None:
        """The payload has no full name: keep the one the row has."""
        known = {name: event.data[name] for name in ("email", "role") if name in event.data}
        project(session, event, {**known, "is_active": False})

    return {USER_CREATED: user_changed, USER_UPDATED: user_changed, USER_DEACTIVATED: user_deactivated}


def refusing_outdated_tokens(verify: Authenticator, db: Database, model) -> Authenticator:
    """`verify`, then the caller as `model` (the service's projection, with `user_id`, `is_active` and `role`)
    knows them: a token of a deactivated user, or one carrying a role the user no longer has, is refused once the
    identity event is projected (within glassbox.access_checks.MAX_AGE_SECONDS of it: the check is remembered per
    process for that long), not only when it expires. A user the projection has not seen yet passes (the token
    issuer vouched for them)."""

    # Run by the driver (a check per user and worker every MAX_AGE_SECONDS adds up under load).
    known_state = Statement(select(model.is_active, model.role).where(model.user_id == bindparam("user_id")))

    def refusal(principal: Principal) -> str | None:
        with db.engine.connect() as connection:
            known = known_state.first(connection, {"user_id": principal.id})
            # Ended with COMMIT, not the ROLLBACK of a close: psycopg forgets every statement it prepared on the
            # connection at a ROLLBACK, and the next requests' statements would be planned afresh.
            connection.commit()
        if known is not None and known["is_active"] is False:  # None: the projection has not seen the state yet
            return "the user is deactivated"
        if known is not None and known["role"] not in (None, principal.role):
            return "the user's role has changed: log in again"
        return None

    def authenticate(token: str) -> Principal:
        principal = verify(token)
        refused = recent_access_checks.refusal(principal.user_id, principal.role, lambda: refusal(principal))
        if refused is not None:
            raise jwt.InvalidTokenError(refused)
        return principal

    return authenticate
