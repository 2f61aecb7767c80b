"""The events the gateway emits on crm.identity.events (schemas in contracts/events/), so that other
services can keep a projection of users (e.g. the active managers). Never a credential in a payload."""
from __future__ import annotations

from gateway import SPEC
from gateway.identity.models import User
from glassbox.events import DomainEvent, event_source

TOPIC = SPEC.topic  # crm.identity.events
SOURCE = "/crm/gateway"

USER_CREATED = "crm.user.created.v1"
USER_UPDATED = "crm.user.updated.v1"
USER_DEACTIVATED = "crm.user.deactivated.v1"

ALL_TYPES = (USER_CREATED, USER_UPDATED, USER_DEACTIVATED)

# The user's public profile: what an event may carry (password hashes and lockout state never).
USER_FIELDS = ("email", "full_name", "role", "team_id", "is_active", "created_at")


def user_snapshot(user: User) -> dict:
    return {"user_id": user.id, **{name: getattr(user, name) for name in USER_FIELDS}}


_event = event_source(SOURCE)


def user_created(user: User, actor_id: str) -> DomainEvent:
    return _event(USER_CREATED, user.id, user_snapshot(user), actor_id)


def user_updated(user: User, changed: list[str], actor_id: str) -> DomainEvent:
    return _event(USER_UPDATED, user.id, {**user_snapshot(user), "changed_fields": changed}, actor_id)


def user_deactivated(user: User, actor_id: str) -> DomainEvent:
    return _event(USER_DEACTIVATED, user.id, {"user_id": user.id, "email": user.email, "role": user.role,
                                           "deactivated_at": user.deactivated_at}, actor_id)
