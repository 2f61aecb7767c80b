"""Fixtures of the deals suite: the deals database and app, callers of every role on it, the projections of
clients and users fed through the consumer's own handlers, and a clock the tests set."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from services.deals import clock as deals_clock
from services.deals import consumers
from tests.conftest import truncate_all

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday morning
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
def deals(deals_app, deals_db_url, monkeypatch):
    """A test client on a fresh deals database (the seeded pipeline and lost reasons only). The clients service
    is nowhere, so a client the projection does not know is a 503 unless a test serves one."""
    monkeypatch.setenv("CLIENTS_URL", "http://127.0.0.1:9")
    truncate_all(deals_db_url)
    return deals_app.test_client()


@pytest.fixture
def manager(deals, as_role):
    return as_role(deals, "manager")


@pytest.fixture
def other_manager(deals, as_role):
    return as_role(deals, "manager")


@pytest.fixture
def head(deals, as_role):
    return as_role(deals, "head_of_sales")


@pytest.fixture
def admin(deals, as_role):
    return as_role(deals, "admin")


@pytest.fixture
def accountant(deals, as_role):
    return as_role(deals, "accountant")


@pytest.fixture
def clock(monkeypatch):
    """The deals service's clock, set by the test: clock.now = ..., clock.advance(days=..., seconds=...)."""

    class Clock:
        now = T0

        def advance(self, **delta) -> datetime:
            self.now = self.now + timedelta(**delta)
            return self.now

    fixed = Clock()
    monkeypatch.setattr(deals_clock, "now", lambda: fixed.now)
    return fixed


@pytest.fixture
def deals_engine(deals_db_url):
    engine = create_engine(deals_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def project(deals, deals_engine):
    """project(event): apply an event through the consumer's handler, as the consumer runner would (without the
    inbox). Depends on `deals`, so it runs after the database was emptied."""

    def _project(event: DomainEvent) -> None:
        with Session(deals_engine) as session:
            consumers.HANDLERS[event.type](session, event)
            session.commit()

    return _project


def client_event(event_type: str, client_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    """A client event as the clients service sends it (source, subject = the client id)."""
    return DomainEvent(type=event_type, source="/crm/clients", subject=client_id,
                       data={"client_id": client_id, **data}, time=time or LONG_AGO)


def card(owner_id: str, **fields) -> dict:
    """A crm.client.created.v1 payload (the card fields the clients service sends)."""
    return {"name": "Volga Steel Works", "kind": "company", "tax_id": None, "industry": "manufacturing",
            "region": "Samara", "address": None, "phone": None, "email": None, "website": None,
            "source_channel": None, "campaign_id": None, "rating": "A", "status": "active", "owner_id": owner_id,
            "notes": None, "created_at": "2026-01-10T10:00:00Z", "updated_at": "2026-01-10T10:00:00Z",
            "archived_at": None, "actor_id": owner_id, **fields}


@pytest.fixture
def known_client(project):
    """known_client(owner caller or id, **card fields) -> a client id the projection knows (an old event, so
    that any later real event wins)."""

    def _known(owner, **fields) -> str:
        client_id = str(uuid.uuid4())
        project(client_event(consumers.CLIENT_CREATED, client_id, card(getattr(owner, "user_id", owner), **fields)))
        return client_id

    return _known


@pytest.fixture
def known_user(project):
    """known_user(caller or user id, role=..., is_active=...) -> the user id, now in the users projection."""

    def _known(who=None, role: str | None = None, is_active: bool = True) -> str:
        user_id = getattr(who, "user_id", who) or str(uuid.uuid4())
        role = role or getattr(who, "role", "manager")
        project(DomainEvent(type=consumers.USER_CREATED, source="/crm/gateway", subject=user_id, time=LONG_AGO,
                            data={"user_id": user_id, "email": f"{user_id[:8]}@glassbox.example",
                                  "full_name": f"User {user_id[:8]}", "role": role, "team_id": None,
                                  "is_active": is_active}))
        return user_id

    return _known


@pytest.fixture
def pipeline(deals, as_role) -> dict:
    """The default pipeline the migration seeds (5 stages)."""
    reader = as_role(deals, "admin")
    return next(p for p in reader.get("/api/v1/pipelines").json["items"] if p["is_default"])


@pytest.fixture
def reasons(deals, as_role) -> dict:
    """The seeded lost reasons: name -> id."""
    reader = as_role(deals, "admin")
    return {r["name"]: r["id"] for r in reader.get("/api/v1/lost-reasons").json["items"]}
