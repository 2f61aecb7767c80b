"""The deals service's projections on the real broker: a client created in the clients service reaches
crm.clients.events through its outbox relay, the deals consumer (the kit's ConsumerRunner with
services/deals/consumers.py) puts it into the projection, and the client becomes usable for deals without asking
the clients service (which is unreachable here). Duplicates and an older event arriving late change nothing."""
import uuid
from datetime import datetime, timedelta

import pytest
from kafka import KafkaProducer
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from glassbox.kafka import make_consumer, make_producer
from glassbox.outbox import OutboxRelay
from services.deals import consumers
from services.deals.models import ClientRecord
from tests.clients.test_clients_api import CARD
from tests.deals.test_deals_api import RUB, assert_error
from tests.integration.test_outbox_to_kafka import caught_up, run_in_thread, wait_for

pytestmark = pytest.mark.kafka


@pytest.fixture
def clients_engine(clients_db_url):
    engine = create_engine(clients_db_url)
    yield engine
    engine.dispose()


def publish(bootstrap: str, topic: str, events: list[DomainEvent]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            message = event.to_kafka()
            producer.send(topic, key=message.key, value=message.value, headers=list(message.headers.items()))
        producer.flush()
    finally:
        producer.close()


def consume_until_caught_up(engine, bootstrap: str) -> str:
    """The deals consumer (a new group, both topics) until it has committed the end of each."""
    group = f"test-deals-projection-{uuid.uuid4()}"
    runner = ConsumerRunner(engine, group, consumers.HANDLERS,
                            lambda: make_consumer(bootstrap, group, consumers.TOPICS),
                            lambda: make_producer(bootstrap), max_backoff=1.0)
    thread, stop = run_in_thread(runner.run)
    try:
        wait_for(lambda: all(caught_up(bootstrap, group, topic) for topic in consumers.TOPICS),
                 what=f"{group} to catch up")
    finally:
        stop.set()
        thread.join(timeout=30)
    return group


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

    consume_until_caught_up(deals_engine, kafka_bootstrap)

    with Session(deals_engine) as session:
        row = session.get(ClientRecord, card["id"])
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
    consume_until_caught_up(deals_engine, kafka_bootstrap)
    assert_error(manager.post("/api/v1/deals", json={"client_id": card["id"], "title": "y", "amount": RUB}), 422,
                 "archived")
