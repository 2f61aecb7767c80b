"""The outbox on the real broker: what the API acknowledges reaches Kafka as a CloudEvent, once per
consumer, whatever crashes or outages happen in between."""
import time
import uuid

import pytest
from kafka import KafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import text

from glassbox.events import DomainEvent
from glassbox.kafka import dlq_topic, ensure_topics, make_producer
from glassbox.outbox import OutboxRelay
from tests.support.clients import CARD
from tests.support.inbox import applied_times, counting_handler
from tests.support.kafka import consume_until_caught_up, read_topic, run_in_thread, wait_for

TOPIC = "crm.clients.events"


@pytest.fixture
def relay(engine, kafka_bootstrap):
    relay = OutboxRelay(engine, "clients", lambda: make_producer(kafka_bootstrap), max_backoff=1.0)
    yield relay
    relay._drop_producer()


def ce_id_in(ids):
    return lambda record: dict(record.headers).get("ce_id", b"").decode() in ids


def unsent(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(text("select count(*) from outbox_messages where sent_at is null"))


def outbox_ids(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("select id from outbox_messages order by position")))


# -- the happy path -------------------------------------------------------------------------------

def test_a_client_created_over_http_arrives_as_a_cloudevent(manager, relay, engine, kafka_bootstrap):
    card = manager.post("/api/v1/clients", json=CARD).json
    [event_id] = outbox_ids(engine)
    assert relay.publish_batch() == 1 and unsent(engine) == 0
    [record] = read_topic(kafka_bootstrap, TOPIC, 1, ce_id_in({event_id}))
    headers = {name: value.decode() for name, value in record.headers}
    assert record.key == card["id"].encode()
    assert headers["ce_type"] == "crm.client.created.v1"
    assert headers["ce_source"] == "/crm/clients"
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_subject"] == card["id"]
    assert headers["content-type"] == "application/json"
    assert headers["ce_time"].endswith("Z")
    event = DomainEvent.from_kafka(record.headers, record.key, record.value)
    assert event.data["client_id"] == card["id"] and event.data["tax_id"] == CARD["tax_id"]


def test_sent_rows_are_purged_after_the_retention_and_unsent_ones_never(manager, relay, engine):
    for i in range(3):
        manager.post("/api/v1/clients", json={**CARD, "tax_id": f"80000000{i:02d}", "email": f"p{i}@x.example"})
    relay.publish_batch()
    manager.post("/api/v1/clients", json={**CARD, "tax_id": "8000000099", "email": "unsent@x.example"})
    with engine.begin() as conn:  # two of the sent rows are older than the retention
        conn.execute(text("update outbox_messages set sent_at = now() - interval '8 days' "
                          "where position in (select position from outbox_messages where sent_at is not null "
                          "order by position limit 2)"))
    assert relay.housekeeping()["outbox_messages"] == 2
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from outbox_messages")) == 2
    assert unsent(engine) == 1


def test_events_of_one_client_keep_their_order(manager, relay, engine, kafka_bootstrap):
    card = manager.post("/api/v1/clients", json=CARD).json
    for rating in "BCD":
        manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": rating})
    manager.post(f"/api/v1/clients/{card['id']}/contacts", json={"full_name": "Anna"})
    ids = outbox_ids(engine)
    relay.publish_batch()
    records = read_topic(kafka_bootstrap, TOPIC, len(ids), ce_id_in(set(ids)))
    assert len({r.partition for r in records}) == 1
    assert [dict(r.headers)["ce_id"].decode() for r in sorted(records, key=lambda r: r.offset)] == ids


# -- at-least-once, exactly-once effect ----------------------------------------------------------

def test_relay_crash_between_publish_and_mark_is_absorbed_by_the_consumer(
        manager, relay, engine, kafka_bootstrap, applied_table, monkeypatch):
    card = manager.post("/api/v1/clients", json=CARD).json
    [event_id] = outbox_ids(engine)

    def crash(*_args):
        raise SystemExit("relay killed after the broker's ack, before marking the rows sent")

    monkeypatch.setattr(relay, "_mark_sent", crash)
    with pytest.raises(SystemExit):
        relay.publish_batch()
    assert unsent(engine) == 1  # published, yet not marked
    monkeypatch.undo()
    assert relay.publish_batch() == 1 and unsent(engine) == 0  # the restarted relay sends it again
    copies = read_topic(kafka_bootstrap, TOPIC, 2, ce_id_in({event_id}))
    assert len(copies) == 2  # the duplicate really is on the topic

    group = consume_until_caught_up(engine, kafka_bootstrap, [TOPIC], {"crm.client.created.v1": counting_handler},
                                    "test-dedupe")
    assert applied_times(engine, card["id"]) == 1
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from processed_events where consumer = :g and event_id = :id"),
                           {"g": group, "id": event_id}) == 1


def test_writes_succeed_while_the_broker_is_down_and_are_published_when_it_returns(
        manager, relay, engine, kafka_broker, kafka_bootstrap):
    if kafka_broker is None:
        pytest.skip("an external or containerised broker cannot be stopped by the test")
    thread, stop = run_in_thread(relay.run)
    try:
        kafka_broker.stop()
        try:
            for i in range(5):
                response = manager.post("/api/v1/clients", json={**CARD, "tax_id": f"90000000{i:02d}",
                                                                 "email": f"down{i}@x.example"})
                assert response.status_code == 201
            time.sleep(2)  # the relay is retrying with backoff meanwhile
            assert unsent(engine) == 5
        finally:
            kafka_broker.start()
        wait_for(lambda: unsent(engine) == 0, what="the relay to publish the backlog")
    finally:
        stop.set()
        thread.join(timeout=30)
    ids = set(outbox_ids(engine))
    records = read_topic(kafka_bootstrap, TOPIC, 5, ce_id_in(ids))
    assert {dict(r.headers)["ce_id"].decode() for r in records} == ids


def test_only_one_relay_per_service_publishes(manager, relay, engine):
    manager.post("/api/v1/clients", json=CARD)
    with engine.connect() as holder:  # another relay's session holding the lock
        assert holder.scalar(text("select pg_try_advisory_lock(hashtext('glassbox-outbox-relay:clients'))"))
        started = time.time()
        thread, stop = run_in_thread(relay.run)
        try:
            time.sleep(1.5)
            assert unsent(engine) == 1  # the standby does not publish
            # ...but says it is alive, and not active
            assert relay_gauge("outbox_relay_heartbeat_timestamp_seconds") >= started
            assert relay_gauge("outbox_relay_active") == 0
            holder.execute(text("select pg_advisory_unlock(hashtext('glassbox-outbox-relay:clients'))"))
            wait_for(lambda: unsent(engine) == 0, timeout=30, what="the standby to take over")
            assert relay_gauge("outbox_relay_active") == 1
        finally:
            stop.set()
            thread.join(timeout=30)
    assert relay_gauge("outbox_relay_active") == 0  # stopped: it no longer publishes


def relay_gauge(name: str) -> float | None:
    return REGISTRY.get_sample_value(name, {"service": "clients"})


# -- poison events --------------------------------------------------------------------------------

def test_a_poison_event_goes_to_the_dlq_and_the_consumer_moves_on(engine, kafka_bootstrap, applied_table):
    topic = f"test.poison.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    good_id, bad_id = str(uuid.uuid4()), str(uuid.uuid4())

    def event(client_id):
        return DomainEvent(type="crm.client.created.v1", source="/crm/clients", subject=client_id,
                           data={"client_id": client_id}).to_kafka()

    def handler(session, event):
        if event.data["client_id"] == bad_id:
            raise ValueError("this payload breaks the handler")
        counting_handler(session, event)

    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send(topic, key=b"x", value=b"not a cloudevent")  # no ce_* headers at all
    for client_id in (bad_id, good_id):
        message = event(client_id)
        producer.send(topic, key=message.key, value=message.value, headers=list(message.headers.items()))
    producer.flush()
    producer.close()

    consume_until_caught_up(engine, kafka_bootstrap, [topic], {"crm.client.created.v1": handler}, "test-dlq")
    assert applied_times(engine, good_id) == 1 and applied_times(engine, bad_id) is None
    dead = read_topic(kafka_bootstrap, dlq_topic(topic), 2, lambda r: True)
    assert len(dead) == 2
    errors = [dict(r.headers)["dlq_error"].decode() for r in dead]
    assert "not a CloudEvent" in errors[0] and "this payload breaks the handler" in errors[1]
    assert all(dict(r.headers)["dlq_original_topic"].decode() == topic for r in dead)


def test_the_pipelined_relay_publishes_every_row_in_order_and_marks_it_after_its_ack(
        manager, engine, kafka_bootstrap, monkeypatch):
    """Batches of 2 with one in flight: every row on the topic once, in commit order per client; a batch is marked
    only when settled, so a crash before that leaves it (and the one sent behind it) unsent, to go again."""
    card = manager.post("/api/v1/clients", json=CARD).json
    for rating in "ABCDA":
        manager.patch(f"/api/v1/clients/{card['id']}", json={"rating": rating})
    ids = outbox_ids(engine)
    n = len(ids)
    assert n >= 5
    relay = OutboxRelay(engine, "clients", lambda: make_producer(kafka_bootstrap), batch_size=2)
    try:
        assert relay.publish_pipelined() == 2 and unsent(engine) == n  # sent, not yet settled
        assert relay.publish_pipelined() == 2 and unsent(engine) == n - 2  # the first batch settled behind the second

        def crash(*_args):
            raise SystemExit("relay killed before marking")

        monkeypatch.setattr(relay, "_mark_sent", crash)
        with pytest.raises(SystemExit):
            relay.publish_pipelined()
        monkeypatch.undo()
        relay._drop_producer()  # as the loop does after any error
        assert unsent(engine) == n - 2
        while relay.publish_pipelined():
            pass
        assert unsent(engine) == 0
    finally:
        relay._drop_producer()
    records = read_topic(kafka_bootstrap, TOPIC, len(ids) + 3, ce_id_in(set(ids)))
    order = [dict(r.headers)["ce_id"].decode() for r in sorted(records, key=lambda r: r.offset)]
    assert set(order) == set(ids) and len(order) == len(ids) + 3  # the settling batch and the one behind it went twice
    first_seen = sorted(set(order), key=order.index)
    assert first_seen == ids  # commit order
