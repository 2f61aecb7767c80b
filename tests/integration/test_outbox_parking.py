"""The relay on the real broker when a row is refused for good: the row is parked with its error and time, counted,
and the rows behind it are published; errors that are not the row's fault are retried, never parked."""
import uuid

import pytest
from kafka import KafkaAdminClient
from kafka import errors as kafka_errors
from kafka.admin import NewTopic
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.kafka import make_producer
from glassbox.models import OutboxMessage
from glassbox.outbox import OutboxRelay, refused_for_good
from tests.support.kafka import read_topic

TOPIC = "crm.clients.events"


@pytest.fixture
def relay(engine, kafka_bootstrap, client):  # `client`: an empty clients database
    relay = OutboxRelay(engine, "clients", lambda: make_producer(kafka_bootstrap), max_backoff=1.0)
    yield relay
    relay._drop_producer()


def write(engine, topic: str, *payload_sizes: int) -> list[str]:
    """Outbox rows on `topic`, one per size (bytes of filler in the payload); returns their event ids."""
    ids = []
    with Session(engine) as session:
        for size in payload_sizes:
            event = DomainEvent(type="crm.client.updated.v1", source="/crm/clients", subject=str(uuid.uuid4()),
                                data={"client_id": str(uuid.uuid4()), "notes": "x" * size})
            session.add(OutboxMessage.from_event(event, topic))
            ids.append(event.id)
        session.commit()
    return ids


def states(engine) -> dict[str, tuple[bool, bool, str | None]]:
    """id -> (sent, parked, the parked error)."""
    with engine.connect() as conn:
        return {row.id: (row.sent_at is not None, row.parked_at is not None, row.parked_error) for row in conn.execute(
            text("select id, sent_at, parked_at, parked_error from outbox_messages"))}


def parked_total() -> float:
    return REGISTRY.get_sample_value("outbox_parked_total", {"service": "clients"}) or 0.0


def ce_ids(records) -> set[str]:
    return {dict(r.headers)["ce_id"].decode() for r in records}


def test_a_record_larger_than_the_producer_allows_is_parked_and_the_rows_behind_it_go_on(relay, engine,
                                                                                          kafka_bootstrap):
    before = parked_total()
    small, huge, behind = write(engine, TOPIC, 10, 2_000_000, 10)
    assert relay.publish_batch() == 3
    rows = states(engine)
    assert rows[small][:2] == (True, False) and rows[behind][:2] == (True, False)
    sent, parked, error = rows[huge]
    assert (sent, parked) == (False, True) and error.startswith("MessageSizeTooLargeError")
    assert parked_total() == before + 1
    assert ce_ids(read_topic(kafka_bootstrap, TOPIC, 2, lambda r: dict(r.headers)["ce_id"].decode() in {
        small, huge, behind})) == {small, behind}
    assert relay.publish_batch() == 0  # a parked row is not tried again
    relay.observe_backlog()
    assert REGISTRY.get_sample_value("outbox_parked_rows", {"service": "clients"}) == 1
    assert REGISTRY.get_sample_value("outbox_backlog", {"service": "clients"}) == 0


def test_a_record_the_broker_refuses_as_too_large_is_parked(relay, engine, kafka_bootstrap):
    topic = f"test.small-messages.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:  # the producer lets 1 MB through; this topic takes 50 kB at most
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "50000"})])
    finally:
        admin.close()
    before = parked_total()
    first, too_large, last = write(engine, topic, 10, 200_000, 10)
    assert relay.publish_batch() == 3
    rows = states(engine)
    assert rows[too_large][1] and "TooLarge" in rows[too_large][2], rows[too_large]
    assert rows[first][:2] == (True, False) and rows[last][:2] == (True, False)
    assert parked_total() == before + 1
    # The rows after it, in the same partition, are on the topic: the producer started afresh after the refusal.
    more = write(engine, topic, 10)
    assert relay.publish_batch() == 1
    assert ce_ids(read_topic(kafka_bootstrap, topic, 3, lambda r: True)) == {first, last, *more}


def test_an_invalid_topic_is_parked(relay, engine):
    [bad] = write(engine, "not a valid topic!", 10)
    [good] = write(engine, TOPIC, 10)
    assert relay.publish_batch() == 2
    rows = states(engine)
    assert rows[bad][1] and rows[good][0]


@pytest.mark.parametrize("error", [kafka_errors.KafkaTimeoutError(), kafka_errors.NotLeaderForPartitionError(),
                                   kafka_errors.KafkaConnectionError(), kafka_errors.RequestTimedOutError(),
                                   kafka_errors.TopicAuthorizationFailedError(),
                                   kafka_errors.OutOfOrderSequenceNumberError()])
def test_errors_that_are_not_the_rows_fault_are_retried_not_parked(error):
    assert not refused_for_good(error)


@pytest.mark.parametrize("error", [kafka_errors.MessageSizeTooLargeError(), kafka_errors.InvalidTopicError(),
                                   kafka_errors.RecordListTooLargeError(), kafka_errors.CorruptRecordError(),
                                   TypeError("not serializable")])
def test_errors_of_the_record_itself_are_refused_for_good(error):
    assert refused_for_good(error)


def test_parked_rows_are_listed_and_sent_again_after_the_fix(relay, engine, kafka_bootstrap, monkeypatch):
    """`glassbox outbox parked clients` lists them; after the topic takes larger messages, `glassbox outbox retry`
    hands them back and the relay publishes them; an id that is not parked is named and the exit code says so."""
    import json

    from click.testing import CliRunner
    from kafka.admin import ConfigResource, ConfigResourceType

    from glassbox.cli import main

    monkeypatch.setenv("CLIENTS_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    topic = f"test.small-messages.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "50000"})])
        small, too_large = write(engine, topic, 10, 200_000)
        assert relay.publish_batch() == 2
        listed = [json.loads(line) for line in CliRunner().invoke(main, ["outbox", "parked", "clients"]).stdout
                  .splitlines()]
        assert [(row["id"], row["topic"]) for row in listed] == [(too_large, topic)]
        assert "TooLarge" in listed[0]["parked_error"] and listed[0]["bytes"] > 200_000

        refused = CliRunner().invoke(main, ["outbox", "retry", "clients", small])  # sent, not parked
        assert refused.exit_code != 0 and small in refused.output and states(engine)[too_large][1]
        assert CliRunner().invoke(main, ["outbox", "retry", "clients"]).exit_code != 0  # ids or --all

        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                            configs={"max.message.bytes": "1000000"})])
        retried = CliRunner().invoke(main, ["outbox", "retry", "clients", too_large])
        assert retried.exit_code == 0, retried.output
        assert json.loads(retried.stdout) == {"retried": [too_large], "not_parked": []}
    finally:
        admin.close()
    assert relay.publish_batch() == 1
    assert states(engine)[too_large][:2] == (True, False)
    assert ce_ids(read_topic(kafka_bootstrap, topic, 2, lambda r: True)) == {small, too_large}
    assert CliRunner().invoke(main, ["outbox", "parked", "clients"]).stdout == ""


def drain_pipelined(relay) -> int:
    """The relay loop's steps until nothing is left to send or in flight; returns the rows sent."""
    sent = 0
    for _ in range(50):
        step = relay.publish_pipelined()
        if step == 0:
            return sent
        sent += step
    raise AssertionError("the pipelined relay did not finish")


def test_a_refusal_while_the_next_batch_is_in_flight_parks_only_that_row(engine, kafka_bootstrap, client):
    """Pipelined: the broker's refusal aborts the batch sent behind it too; both batches' rows go again one at a
    time, in order, and only the refused row is parked."""
    topic = f"test.small-messages.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "50000"})])
    finally:
        admin.close()
    relay = OutboxRelay(engine, "clients", lambda: make_producer(kafka_bootstrap), batch_size=2)
    try:
        before = parked_total()
        ids = write(engine, topic, 10, 200_000, 10, 10, 10)
        assert drain_pipelined(relay) == 5
    finally:
        relay._drop_producer()
    rows = states(engine)
    assert rows[ids[1]][1] and "TooLarge" in rows[ids[1]][2]
    assert all(rows[i][:2] == (True, False) for i in ids if i != ids[1])
    assert parked_total() == before + 1
    assert ce_ids(read_topic(kafka_bootstrap, topic, 4, lambda r: True)) == set(ids) - {ids[1]}
