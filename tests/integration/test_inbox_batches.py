"""The consumer runner applies a polled batch in one transaction, `@batched` handlers in one call, and falls back
to one event at a time (savepoints, retries, DLQ) when anything in the batch fails: real PostgreSQL and broker."""
import uuid

from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import text

from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner, batched
from glassbox.kafka import dlq_topic, ensure_topics, make_producer
from tests.support.inbox import applied_times, counting_handler
from tests.support.kafka import read_topic

CREATED, UPDATED, OTHER = "crm.client.created.v1", "crm.client.updated.v1", "crm.contact.created.v1"


def created(client_id: str, type: str = CREATED) -> DomainEvent:
    return DomainEvent(type=type, source="/crm/clients", subject=client_id, data={"client_id": client_id})


def record(event: DomainEvent, topic: str = "test.batches", offset: int = 0) -> ConsumerRecord:
    message = event.to_kafka()
    return ConsumerRecord(topic=topic, partition=0, leader_epoch=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=message.key, value=message.value, headers=list(message.headers.items()), checksum=None,
                          serialized_key_size=-1, serialized_value_size=-1, serialized_header_size=-1)


def runner_of(engine, kafka_bootstrap, handlers) -> ConsumerRunner:
    return ConsumerRunner(engine, f"test-batches-{uuid.uuid4()}", handlers, consumer_factory=lambda: None,
                          producer_factory=lambda: make_producer(kafka_bootstrap))


def inbox(engine, runner) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(text("select event_id from processed_events where consumer = :c"), {"c": runner.name}))


def counting_in_batches(calls: list):
    """A batched handler that notes the ids of each call's events in `calls` and counts each event applied."""

    @batched
    def count_all(session, events):
        calls.append([event.id for event in events])
        for event in events:
            counting_handler(session, event)

    return count_all


def test_a_batched_handler_gets_the_new_events_of_a_batch_in_one_call(engine, kafka_bootstrap, applied_table):
    calls = []
    count_all = counting_in_batches(calls)

    one_at_a_time = []
    runner = runner_of(engine, kafka_bootstrap, {CREATED: count_all, UPDATED: count_all,
                                                 OTHER: lambda session, event: one_at_a_time.append(event.id)})
    seen_before, a, b, other = created(str(uuid.uuid4())), created(str(uuid.uuid4())), created(str(uuid.uuid4()), UPDATED), \
        created(str(uuid.uuid4()), OTHER)
    runner.process_batch([record(seen_before)])
    calls.clear()

    runner.process_batch([record(e) for e in (a, seen_before, b, a, other)] + [record(created("x", "crm.future.v9"))])

    assert calls == [[a.id, b.id]]  # both types, one call, in order; the repeat and the known event left out
    assert one_at_a_time == [other.id]
    assert inbox(engine, runner) == {seen_before.id, a.id, b.id, other.id}  # the unhandled type is not recorded
    assert [applied_times(engine, e.data["client_id"]) for e in (seen_before, a, b)] == [1, 1, 1]


def test_an_id_twice_in_a_batch_of_new_events_is_applied_once(engine, kafka_bootstrap, applied_table):
    """The inbox answers with a count when every id of the batch is new: a copy inside the batch must still be
    told apart (it is not counted), so the handler gets each event once, in the order of its first copy."""
    calls = []
    count_all = counting_in_batches(calls)

    runner = runner_of(engine, kafka_bootstrap, {CREATED: count_all})
    a, b = created(str(uuid.uuid4())), created(str(uuid.uuid4()))

    runner.process_batch([record(e) for e in (a, b, a)])

    assert calls == [[a.id, b.id]]
    assert [applied_times(engine, e.data["client_id"]) for e in (a, b)] == [1, 1]
    assert inbox(engine, runner) == {a.id, b.id}


def test_a_batch_that_fails_is_applied_again_one_event_at_a_time(engine, kafka_bootstrap, applied_table):
    topic = f"test.batches.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    good, bad, later = created(str(uuid.uuid4())), created(str(uuid.uuid4())), created(str(uuid.uuid4()))
    calls = []

    @batched
    def count_but_refuse_bad(session, events):
        calls.append(len(events))
        for event in events:  # writes the good ones first: the failed attempt must leave none of them behind
            counting_handler(session, event)
        if any(event.id == bad.id for event in events):
            raise ValueError("this payload breaks the handler")

    runner = runner_of(engine, kafka_bootstrap, {CREATED: count_but_refuse_bad})
    runner.process_batch([record(e, topic, offset) for offset, e in enumerate((good, bad, later))])

    assert calls[0] == 3 and calls[1:] == [1, 1, 1, 1, 1]  # the batch, then good, bad x3 attempts, later
    assert [applied_times(engine, e.data["client_id"]) for e in (good, bad, later)] == [1, None, 1]
    assert inbox(engine, runner) == {good.id, later.id}
    [dead] = read_topic(kafka_bootstrap, dlq_topic(topic), 1, lambda r: True)
    assert dict(dead.headers)["ce_id"].decode() == bad.id
    assert "this payload breaks the handler" in dict(dead.headers)["dlq_error"].decode()
    assert dict(dead.headers)["dlq_original_offset"] == b"1"
    runner._producer.close()


def test_an_unreadable_record_is_dead_lettered_and_the_rest_of_its_batch_applied(engine, kafka_bootstrap,
                                                                                applied_table):
    topic = f"test.batches.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    good = created(str(uuid.uuid4()))
    unreadable = record(good, topic, 0)._replace(headers=[], value=b"not a cloudevent")
    runner = runner_of(engine, kafka_bootstrap, {CREATED: batched(lambda session, events: [
        counting_handler(session, event) for event in events])})

    runner.process_batch([unreadable, record(good, topic, 1)])

    assert applied_times(engine, good.data["client_id"]) == 1
    [dead] = read_topic(kafka_bootstrap, dlq_topic(topic), 1, lambda r: True)
    assert "not a CloudEvent" in dict(dead.headers)["dlq_error"].decode()
    runner._producer.close()


def test_a_batch_redelivered_after_a_crash_changes_nothing(engine, kafka_bootstrap, applied_table):
    events = [created(str(uuid.uuid4())) for _ in range(5)]
    runner = runner_of(engine, kafka_bootstrap, {CREATED: batched(lambda session, evs: [
        counting_handler(session, event) for event in evs])})
    runner.process_batch([record(e) for e in events])
    runner.process_batch([record(e) for e in events])  # committed in the database, the offsets were not
    assert [applied_times(engine, e.data["client_id"]) for e in events] == [1] * 5


def test_a_batch_being_applied_has_its_offsets_committed_only_after_its_transaction(engine, kafka_bootstrap,
                                                                                    applied_table):
    """Nothing is committed for a batch still in its transaction; in the end each event is applied once, in
    order, the poison one in the DLQ and the rest of its batch applied one at a time."""
    import threading
    import time

    from kafka import KafkaAdminClient

    from glassbox.kafka import make_consumer
    from tests.support.kafka import caught_up, publish, run_in_thread, wait_for

    topic = f"test.overlap.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=(topic,), partitions=1)
    events = [created(str(uuid.uuid4())) for _ in range(12)]
    publish(kafka_bootstrap, topic, events)
    group = f"test-overlap-{uuid.uuid4()}"
    release, calls, order = threading.Event(), [], []

    @batched
    def held_then_poisoned(session, batch):
        calls.append(len(batch))
        if len(calls) == 1:
            release.wait(30)  # the first batch stays in its transaction until the test has looked
        if any(event.id == events[0].id for event in batch):
            raise RuntimeError("poison")
        order.extend(event.id for event in batch)
        for event in batch:
            counting_handler(session, event)

    runner = ConsumerRunner(engine, group, {CREATED: held_then_poisoned},
                            lambda: make_consumer(kafka_bootstrap, group, [topic], max_poll_records=4),
                            lambda: make_producer(kafka_bootstrap), max_attempts=2, max_backoff=0.5)
    thread, stop = run_in_thread(runner.run)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        wait_for(lambda: calls, what="the first batch")
        time.sleep(1)
        assert not admin.list_group_offsets(group).get(group)  # nothing committed for a batch not applied
        release.set()
        wait_for(lambda: caught_up(kafka_bootstrap, group, topic), what="the runner to catch up")
    finally:
        release.set()
        stop.set()
        thread.join(timeout=30)
        admin.close()
    assert order == [event.id for event in events[1:]]
    assert [applied_times(engine, e.data["client_id"]) for e in events[1:]] == [1] * 11
    assert len(read_topic(kafka_bootstrap, dlq_topic(topic), 1, lambda r: True)) == 1
