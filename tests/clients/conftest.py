"""Fixtures of the clients suite."""
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from services.clients import consumers


def identity_event(event_type: str, user_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    """An identity event as the gateway sends it (source, subject = the user id)."""
    return DomainEvent(type=event_type, source="/crm/gateway", subject=user_id, data={"user_id": user_id, **data},
                       time=time or datetime.now(timezone.utc))


@pytest.fixture
def project(client, clients_db_url):
    """project(event): apply an identity event through the consumer's handler, as the consumer runner would
    (without the inbox). Depends on `client`, so it runs after the database was emptied."""
    engine = create_engine(clients_db_url)

    def _project(event: DomainEvent) -> None:
        with Session(engine) as session:
            consumers.HANDLERS[event.type](session, event)
            session.commit()

    yield _project
    engine.dispose()


@pytest.fixture
def known_user(project):
    """known_user(caller or user id, role=..., is_active=...) -> the user id, now in the managers projection
    (the owner and assignee checks read it). The role defaults to the caller's, else manager."""

    def _known(who=None, role: str | None = None, is_active: bool = True) -> str:
        user_id = getattr(who, "user_id", who) or str(uuid.uuid4())
        role = role or getattr(who, "role", "manager")
        project(identity_event(consumers.USER_CREATED, user_id, {
            "email": f"{user_id[:8]}@glassbox.example", "full_name": f"User {user_id[:8]}", "role": role,
            "team_id": None, "is_active": is_active}))
        return user_id

    return _known
