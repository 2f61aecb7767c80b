"""The billing service in tests: its database and app, the projections of clients, deals and users fed through the
consumer's own handlers, the seller's requisites, products and invoices made through the API."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from glassbox.events import DomainEvent
from glassbox.users import USER_CREATED
from services.billing import consumers
from tests.support.apps import app_fixture, database_fixture
from tests.support.clients import identity_event, someone, user_profile
from tests.support.database import engine_fixture, truncate_all
from tests.support.inbox import apply

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday morning
LONG_AGO = datetime(2020, 1, 1, tzinfo=timezone.utc)
BUYER_INN = "7707083893"  # passes its check digit

SELLER = {
    "legal_name": "ООО «Гласбокс»", "inn": "7736207543", "kpp": "773601001", "ogrn": "1027700229193",
    "address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк", "bik": "044525225",
    "correspondent_account": "30101810400000000225", "settlement_account": "40702810200000012345",
    "director": "Иванов И. И.", "chief_accountant": "Петрова А. С.",
}


def card(owner_id: str, **fields) -> dict:
    """A crm.client.created.v1 payload (the card fields the clients service sends)."""
    return {"name": "ООО «Волжская сталь»", "kind": "company", "tax_id": BUYER_INN, "industry": "manufacturing",
            "region": "Samara", "address": "443001, г. Самара, ул. Заводская, д. 5", "phone": None,
            "email": "buh@volga-steel.example", "website": None, "source_channel": None, "campaign_id": None,
            "rating": "A", "status": "active", "owner_id": owner_id, "notes": None,
            "created_at": "2026-01-10T10:00:00Z", "updated_at": "2026-01-10T10:00:00Z", "archived_at": None,
            "actor_id": owner_id, **fields}


def client_event(event_type: str, client_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    return DomainEvent(type=event_type, source="/crm/clients", subject=client_id,
                       data={"client_id": client_id, **data}, time=time or LONG_AGO)


def deal_event(event_type: str, deal_id: str, data: dict, time: datetime | None = None) -> DomainEvent:
    return DomainEvent(type=event_type, source="/crm/deals", subject=deal_id, data={"deal_id": deal_id, **data},
                       time=time or LONG_AGO)


def line(description="Болт М12", quantity="10", unit_price="120.00", vat_rate="20", **fields) -> dict:
    return {"description": description, "quantity": quantity, "unit_price": unit_price, "vat_rate": vat_rate,
            **fields}


def draft(caller, client_id: str, lines: list[dict] | None = None, **fields) -> dict:
    response = caller.post("/api/v1/invoices", json={"client_id": client_id, "lines": lines or [line()], **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def issue(caller, invoice_id: str) -> dict:
    response = caller.post(f"/api/v1/invoices/{invoice_id}/issue")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def pay(caller, client_id: str, amount: str, allocations: list[tuple[str, str]] = (), **fields) -> dict:
    response = caller.post("/api/v1/payments", json={
        "client_id": client_id, "amount": amount, "paid_on": "2026-03-02",
        "allocations": [{"invoice_id": invoice_id, "amount": part} for invoice_id, part in allocations], **fields})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- fixtures (imported by the conftest.py of each folder that uses them) ---------------------------------

billing_db_url = database_fixture("billing")
billing_app = app_fixture("services.billing", "billing_db_url")
billing_engine = engine_fixture("billing_db_url")


@pytest.fixture
def billing(billing_app, billing_db_url):
    """A test client on a fresh billing database."""
    truncate_all(billing_db_url)
    return billing_app.test_client()


@pytest.fixture
def project(billing, billing_engine):
    """project(event): apply an event through the consumer's handler, as the consumer runner would."""
    return lambda event: apply(billing_engine, consumers.HANDLERS, event)


@pytest.fixture
def known_client(project):
    """known_client(owner caller or id, **card fields) -> a client id the projection knows."""

    def _known(owner, **fields) -> str:
        client_id = str(uuid.uuid4())
        project(client_event("crm.client.created.v1", client_id, card(getattr(owner, "user_id", owner), **fields)))
        return client_id

    return _known


@pytest.fixture
def known_deal(project):
    def _known(client_id: str, owner, status: str = "won") -> str:
        deal_id = str(uuid.uuid4())
        project(deal_event("crm.deal.won.v1", deal_id, {"client_id": client_id, "title": "Поставка",
                                                        "owner_id": getattr(owner, "user_id", owner),
                                                        "status": status}))
        return deal_id

    return _known


@pytest.fixture
def known_user(project):
    def _known(who=None, role: str | None = None, is_active: bool = True) -> str:
        user_id, role = someone(who, role)
        project(identity_event(USER_CREATED, user_id, user_profile(user_id, role, is_active), LONG_AGO))
        return user_id

    return _known


@pytest.fixture
def seller(billing, as_role) -> dict:
    """The seller's requisites, set by an admin."""
    response = as_role(billing, "admin").put("/api/v1/seller-requisites", json=SELLER)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
