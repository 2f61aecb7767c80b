"""The clients service in tests: its database and app, callers on it, a client card and the records around it."""
from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from glassbox.events import DomainEvent
from tests.support.apps import app_fixture, database_fixture
from tests.support.database import truncate_all
from tests.support.http import role_fixture

# No source_channel: channels are data that other suites' fixtures truncate (tests/clients restores them,
# see conftest.py); test_marketing_api.py covers the lead source.
CARD = {"name": "Acme Ltd", "kind": "company", "tax_id": "7701234567", "industry": "manufacturing",
        "region": "Moscow", "email": "info@acme.example", "phone": "+7 495 123-45-67",
        "website": "https://acme.example", "rating": "A", "notes": "met at expo"}


def create(caller, **overrides):
    response = caller.post("/api/v1/clients", json={**CARD, **overrides})
    assert response.status_code == 201, response.json
    return response.json


def moment(**delta) -> str:
    """An ISO 8601 instant relative to now, e.g. moment(days=-1)."""
    return (datetime.now(timezone.utc) + timedelta(**delta)).isoformat()


def plan(caller, client_id, **overrides):
    """An activity planned on the client (a call unless told)."""
    body = {"type": "call", "client_id": client_id, "subject": "Discuss the contract", **overrides}
    response = caller.post("/api/v1/activities", json=body)
    assert response.status_code == 201, response.json
    return response.json


def survey(agent, client_id, **overrides):
    body = {"client_id": client_id, "kind": "nps", "score": 9, "comment": "Fast delivery",
            "surveyed_on": date.today().isoformat(), **overrides}
    response = agent.post("/api/v1/surveys", json=body)
    assert response.status_code == 201, response.json
    return response.json


def open_case(agent, client_id, **overrides):
    body = {"client_id": client_id, "subject": "Broken pump", "description": "Leaks after a week", **overrides}
    response = agent.post("/api/v1/service-cases", json=body)
    assert response.status_code == 201, response.json
    return response.json


def identity_event(event_type: str, user_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    """An identity event as the gateway sends it (source, subject = the user id)."""
    return DomainEvent(type=event_type, source="/crm/gateway", subject=user_id, data={"user_id": user_id, **data},
                       time=time or datetime.now(timezone.utc))


def deal_event(deal_id: str, client_id: str, time: datetime | None = None) -> DomainEvent:
    """A deal's created event as the deals service sends it (the fields the clients service reads)."""
    return DomainEvent(type="crm.deal.created.v1", source="/crm/deals", subject=deal_id,
                       data={"deal_id": deal_id, "client_id": client_id, "title": "A deal"},
                       time=time or datetime.now(timezone.utc))


def user_profile(user_id: str, role: str, is_active: bool) -> dict:
    """The profile a crm.user.created.v1 event carries for a made-up user."""
    return {"email": f"{user_id[:8]}@glassbox.example", "full_name": f"User {user_id[:8]}", "role": role,
            "team_id": None, "is_active": is_active}


def someone(who, role: str | None) -> tuple[str, str]:
    """(user id, role) of a caller, a user id or nobody (a fresh id); the role defaults to the caller's, else
    manager."""
    return getattr(who, "user_id", who) or str(uuid.uuid4()), role or getattr(who, "role", "manager")


# -- fixtures (imported by the conftest.py of each folder that uses them) ---------------------------------

clients_db_url = database_fixture("clients")
clients_app = app_fixture("services.clients", "clients_db_url", deals_url="http://127.0.0.1:9")  # no deals service


@pytest.fixture
def client(clients_app, clients_db_url):
    """A test client on an empty clients database."""
    truncate_all(clients_db_url)
    return clients_app.test_client()


manager = role_fixture("manager", on="client")
other_manager = role_fixture("manager", on="client")
head = role_fixture("head_of_sales", on="client")
