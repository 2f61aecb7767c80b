"""What the clients service consumes: the identity events, projected into `users` (who may own a client or
be given work). Run by `glassbox consume clients`; the kit's inbox skips duplicates.

Tolerant reader: each handler takes the few fields it needs with .get and ignores the rest, so the gateway can
add properties freely. Rows only move forward in CloudEvent time (glassbox.projection).
"""
from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from glassbox import clock
from glassbox.events import DomainEvent
from glassbox.projection import upsert_newer
from services.clients.models import User

GROUP = "clients"
TOPICS = ("crm.identity.events",)

USER_CREATED = "crm.user.created.v1"
USER_UPDATED = "crm.user.updated.v1"
USER_DEACTIVATED = "crm.user.deactivated.v1"

# The profile fields the projection keeps; an event sets those it carries and leaves the others as they are.
PROFILE_FIELDS = ("full_name", "email", "role", "team_id", "is_active")


def _user_id(event: DomainEvent) -> uuid.UUID:
    return uuid.UUID(str(event.data.get("user_id") or event.subject))  # a bad id raises: the event goes to the DLQ


def _project(session: Session, event: DomainEvent, values: dict) -> None:
    upsert_newer(session, User, {"user_id": _user_id(event)}, {**values, "updated_at": clock.now()}, event.time)


def user_changed(session: Session, event: DomainEvent) -> None:
    """crm.user.created.v1 and crm.user.updated.v1 carry the whole profile after the change."""
    _project(session, event, {name: event.data.get(name) for name in PROFILE_FIELDS if name in event.data})


def user_deactivated(session: Session, event: DomainEvent) -> None:
    """The payload has no full name: keep the one the row has."""
    known = {name: event.data[name] for name in ("email", "role") if name in event.data}
    _project(session, event, {**known, "is_active": False})


HANDLERS = {
    USER_CREATED: user_changed,
    USER_UPDATED: user_changed,
    USER_DEACTIVATED: user_deactivated,
}
