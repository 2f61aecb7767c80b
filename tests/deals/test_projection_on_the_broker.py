"""The deals service's projections on the real broker: a client created in the clients service reaches
crm.clients.events through its outbox relay, the deals consumer (the kit's ConsumerRunner with
services/deals/consumers.py) puts it into the projection, and the client becomes usable for deals without asking
the clients service (which is unreachable here). Duplicates and an older event arriving late change nothing."""
import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.kafka import make_producer
from glassbox.outbox import OutboxRelay
from services.deals import consumers
from services.deals.models import Client
from tests.support.clients import CARD
from tests.support.deals import RUB
from tests.support.http import assert_error
from tests.support.kafka import consume_until_caught_up, publish

pytestmark = pytest.mark.kafka


def test_a_client_created_in_the_clients_service_becomes_usable_for_deals(
        client, as_role, deals, manager, head, deals_engine, clients_engine, kafka_bootstrap):
    clients_manager = as_role(client, "manager", user_id=manager.user_id)
    card = clients_manager.post("/api/v1/clients", json=CARD).json
    renamed = clients_manager.patch(f"/api/v1/clients/{card['id']}", json={"name": "Acme Holding"}).json
    relay = OutboxRelay(clients_engine, "clients", lambda: make_producer(kafka_bootstrap), max_backoff=1.0)
    try:
        assert relay.publish_batch() == 2
    finally:
        relay._drop_producer()

    # Through the projection only: the clients service is unreachable for the deals service in this suite.
    assert_error(manager.post("/api/v1/deals", json={"client_id": card["id"], "title": "x", "amount": RUB}), 503)

    # A duplicate of the update (same ce_id), and an older update that arrives late, on the same partition.
    updated_at = datetime.fromisoformat(renamed["updated_at"])
    duplicate = DomainEvent(type=consumers.CLIENT_UPDATED, source="/crm/clients", subject=card["id"],
                            time=updated_at + timedelta(milliseconds=1),
                            data={**renamed, "client_id": card["id"], "name": "Acme Holding",
                                  "changed_fields": ["name"]})
    stale = DomainEvent(type=consumers.CLIENT_UPDATED, source="/crm/clients", subject=card["id"],
                        time=updated_at - timedelta(hours=1),
                        data={**renamed, "client_id": card["id"], "name": "Acme Stale", "region": "Nowhere",
                              "changed_fields": ["name", "region"]})
    newcomer_id = str(uuid.uuid4())
    newcomer = DomainEvent(type=consumers.USER_CREATED, source="/crm/gateway", subject=newcomer_id,
                           data={"user_id": newcomer_id, "email": "new@glassbox.example", "full_name": "Newcomer",
                                 "role": "manager", "team_id": None, "is_active": True})
    publish(kafka_bootstrap, "crm.clients.events", [duplicate, duplicate, stale])
    publish(kafka_bootstrap, "crm.identity.events", [newcomer])

    consume_until_caught_up(deals_engine, kafka_bootstrap, consumers.TOPICS, consumers.HANDLERS,
                            "test-deals-projection")

    with Session(deals_engine) as session:
        row = session.get(Client, card["id"])
        assert (row.name, row.region, str(row.owner_id)) == ("Acme Holding", "Moscow", manager.user_id)
        applied = session.execute(text("select count(*) from processed_events where event_id = :id"),
                                  {"id": duplicate.id}).scalar()
    assert applied == 1

    deal = manager.post("/api/v1/deals", json={"client_id": card["id"], "title": "First order", "amount": RUB})
    assert deal.status_code == 201, deal.json
    assert deal.json["client_name"] == "Acme Holding"
    # A manager announced on crm.identity.events may now be given the deal.
    assigned = head.post(f"/api/v1/deals/{deal.json['id']}/assign", json={"owner_id": newcomer_id})
    assert assigned.status_code == 200 and assigned.json["owner_id"] == newcomer_id

    # Archived in the clients service: once the event is read, the client gets no new deals.
    clients_manager.delete(f"/api/v1/clients/{card['id']}")
    relay = OutboxRelay(clients_engine, "clients", lambda: make_producer(kafka_bootstrap), max_backoff=1.0)
    try:
        assert relay.publish_batch() == 1
    finally:
        relay._drop_producer()
    consume_until_caught_up(deals_engine, kafka_bootstrap, consumers.TOPICS, consumers.HANDLERS,
                            "test-deals-projection")
    assert_error(manager.post("/api/v1/deals", json={"client_id": card["id"], "title": "y", "amount": RUB}), 422,
                 "archived")
