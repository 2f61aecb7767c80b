"""The deals service in tests: its database and app, the projections of clients and users fed through the
consumer's own handlers, and deals opened through the API."""
from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime, timezone

import pytest

from glassbox.events import DomainEvent
from services.deals import consumers
from tests.support.apps import app_fixture, database_fixture
from tests.support.clients import identity_event, someone, user_profile
from tests.support.contracts import EVENTS_DIR
from tests.support.database import engine_fixture, truncate_all
from tests.support.inbox import apply

RUB = {"amount": "150000.00", "currency": "RUB"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday morning
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)


def open_deal(caller, client_id: str, **overrides) -> dict:
    response = caller.post("/api/v1/deals", json={"client_id": client_id, "title": "Alloy supply", "amount": RUB,
                                                  **overrides})
    assert response.status_code == 201, response.json
    return response.json


def client_event(event_type: str, client_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    """A client event as the clients service sends it (source, subject = the client id)."""
    return DomainEvent(type=event_type, source="/crm/clients", subject=client_id,
                       data={"client_id": client_id, **data}, time=time or LONG_AGO)


def activity_event(event_type: str, client_id: str, deal_id: str | None, type_code: str, time: datetime,
                   activity_id: str | None = None) -> DomainEvent:
    """A crm.activity.*.v1 event as the clients service sends it (keyed by the client; the payload is the contract's
    example of that type, with this activity, deal and type)."""
    example = json.loads((EVENTS_DIR / f"{event_type}.example.json").read_text())
    data = {**example, "activity_id": activity_id or str(uuid.uuid4()), "client_id": client_id, "deal_id": deal_id,
            "type": type_code}
    return DomainEvent(type=event_type, source="/crm/clients", subject=client_id, data=data, time=time)


def card(owner_id: str, **fields) -> dict:
    """A crm.client.created.v1 payload (the card fields the clients service sends)."""
    return {"name": "Volga Steel Works", "kind": "company", "tax_id": None, "industry": "manufacturing",
            "region": "Samara", "address": None, "phone": None, "email": None, "website": None,
            "source_channel": None, "campaign_id": None, "rating": "A", "status": "active", "owner_id": owner_id,
            "notes": None, "created_at": "2026-01-10T10:00:00Z", "updated_at": "2026-01-10T10:00:00Z",
            "archived_at": None, "actor_id": owner_id, **fields}


# -- fixtures (imported by the conftest.py of each folder that uses them) ---------------------------------

deals_db_url = database_fixture("deals")
# The clients service is nowhere, so a client the projection does not know is a 503 unless a test serves one.
deals_app = app_fixture("services.deals", "deals_db_url", clients_url="http://127.0.0.1:9")


@pytest.fixture
def deals(deals_app, deals_db_url):
    """A test client on a fresh deals database (the seeded pipeline and lost reasons only)."""
    truncate_all(deals_db_url)
    return deals_app.test_client()


@pytest.fixture
def clients_at(deals_app, monkeypatch):
    """clients_at(url, **settings): for this test, the deals app asks the clients service at `url`, with these
    other DealsSettings fields (e.g. clients_read_timeout)."""

    def _at(url: str, **fields) -> None:
        settings = dataclasses.replace(deals_app.config["GLASSBOX_SETTINGS"], clients_url=url, **fields)
        monkeypatch.setitem(deals_app.config, "GLASSBOX_SETTINGS", settings)

    return _at


deals_engine = engine_fixture("deals_db_url")


@pytest.fixture
def project(deals, deals_engine):
    """project(event): apply an event through the consumer's handler, as the consumer runner would (without the
    inbox). Depends on `deals`, so it runs after the database was emptied."""
    return lambda event: apply(deals_engine, consumers.HANDLERS, event)


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
        user_id, role = someone(who, role)
        project(identity_event(consumers.USER_CREATED, user_id, user_profile(user_id, role, is_active), LONG_AGO))
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
