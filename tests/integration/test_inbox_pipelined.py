"""A pipelined consumer's batches (glassbox.inbox.PipelinedBatches): each is sent ahead, executes in PostgreSQL while
the next one is polled, and counts as applied only once settled; a sent batch that fails anywhere (an id seen before,
a handler's error in Python or in the database) is applied again the careful way. Real PostgreSQL and broker."""
import uuid

from sqlalchemy import text

from glassbox.inbox import ConsumerRunner, batched, rows_of
from glassbox.kafka import dlq_topic, ensure_topics, make_producer
from tests.integration.test_inbox_batches import CREATED, created, inbox, record
from tests.support.inbox import applied_times, counting_handler
from tests.support.kafka import read_topic

TOPIC = "test.pipelined"


def pipelined(engine, kafka_bootstrap, handlers) -> ConsumerRunner:
    return ConsumerRunner(engine, f"test-pipelined-{uuid.uuid4()}", handlers, consumer_factory=lambda: None,
                          producer_factory=lambda: make_producer(kafka_bootstrap), pipelined=True)


def counting_in_batches(calls: list):
    @batched
    def count_all(session, events):
        calls.append(len(events))
        for event in events:
            counting_handler(session, event)

    return count_all


def new_events(n: int) -> list:
    return [created(str(uuid.uuid4())) for _ in range(n)]


def test_a_batch_counts_as_applied_once_the_next_one_is_sent_or_none_is(engine, kafka_bootstrap, applied_table):
    runner = pipelined(engine, kafka_bootstrap, {CREATED: counting_in_batches([])})
    first, second = new_events(3), new_events(2)
    batches = runner.batches()
    try:
        first_records = [record(e, TOPIC, 10 + offset) for offset, e in enumerate(first)]
        assert batches.apply(first_records) == []  # sent, not settled
        assert batches.waiting and {tp.partition: offset for tp, offset in batches.held().items()} == {0: 10}
        second_records = [record(e, TOPIC, 13 + offset) for offset, e in enumerate(second)]
        assert batches.apply(second_records) == first_records
        assert [applied_times(engine, e.data["client_id"]) for e in first] == [1, 1, 1]
        assert batches.apply([]) == second_records and not batches.waiting and batches.held() == {}
    finally:
        batches.close()
    assert [applied_times(engine, e.data["client_id"]) for e in first + second] == [1] * 5
    assert inbox(engine, runner) == {e.id for e in first + second}


def test_an_id_seen_before_sends_its_batch_the_careful_way(engine, kafka_bootstrap, applied_table):
    calls = []
    runner = pipelined(engine, kafka_bootstrap, {CREATED: counting_in_batches(calls)})
    seen, new = new_events(1), new_events(2)
    runner.process_batch([record(e) for e in seen])
    calls.clear()
    batches = runner.batches()
    try:
        batches.apply([record(e, offset=offset) for offset, e in enumerate(seen + new + new[:1])])
        batches.apply([])
    finally:
        batches.close()
    # sent with all four (the inbox then failed it), applied again with the two new ones
    assert calls == [4, 2]
    assert [applied_times(engine, e.data["client_id"]) for e in seen + new] == [1, 1, 1]
    assert inbox(engine, runner) == {e.id for e in seen + new}


def test_a_statement_failing_in_the_database_sends_only_its_event_to_the_dlq(engine, kafka_bootstrap, applied_table):
    """The error of a statement sent ahead reaches Python only when the batch settles: the batch is applied again one
    event at a time and only the event that fails is dead-lettered."""
    topic = f"test.pipelined.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    good, bad, later = new_events(3)
    bad.data["client_id"] = "not-a-uuid"

    @batched
    def count_and_cast(session, events):
        for event in events:
            counting_handler(session, event)
        session.connection().exec_driver_sql("SELECT CAST(x AS uuid) FROM unnest(%(ids)s::text[]) AS x",
                                             {"ids": [event.data["client_id"] for event in events]})

    runner = pipelined(engine, kafka_bootstrap, {CREATED: count_and_cast})
    batches = runner.batches()
    try:
        batches.apply([record(e, topic, offset) for offset, e in enumerate((good, bad, later))])
        assert batches.apply([]) and not batches.waiting
    finally:
        batches.close()
    assert [applied_times(engine, e.data["client_id"]) for e in (good, later)] == [1, 1]
    assert applied_times(engine, "not-a-uuid") is None
    assert inbox(engine, runner) == {good.id, later.id}
    [dead] = read_topic(kafka_bootstrap, dlq_topic(topic), 1, lambda r: True)
    assert dict(dead.headers)["ce_id"].decode() == bad.id and b"uuid" in dict(dead.headers)["dlq_error"]
    runner._producer.close()


def test_a_handler_failing_in_python_and_an_unreadable_record_go_the_careful_way(engine, kafka_bootstrap,
                                                                                  applied_table):
    topic = f"test.pipelined.{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka_bootstrap, topics=[topic], partitions=1)
    good, bad, after = new_events(3)

    @batched
    def refuse_bad(session, events):
        for event in events:
            if event.id == bad.id:
                raise ValueError("this payload breaks the handler")
            counting_handler(session, event)

    runner = pipelined(engine, kafka_bootstrap, {CREATED: refuse_bad})
    batches = runner.batches()
    unreadable = record(after, topic, 2)._replace(value=b"not a cloudevent", headers=[])
    try:
        first = [record(good, topic, 0), record(bad, topic, 1)]
        assert batches.apply(first) == first  # failed while being sent: applied at once
        assert batches.apply([unreadable]) == [unreadable] and not batches.waiting
    finally:
        batches.close()
    assert applied_times(engine, good.data["client_id"]) == 1 and applied_times(engine, bad.data["client_id"]) is None
    dead = read_topic(kafka_bootstrap, dlq_topic(topic), 2, lambda r: True)
    assert sorted(dict(r.headers)["dlq_original_offset"] for r in dead) == [b"1", b"2"]
    runner._producer.close()


def test_a_handler_reads_its_own_writes_through_rows_of(engine, kafka_bootstrap, applied_table):
    seen = []

    @batched
    def count_then_read(session, events):
        for event in events:
            counting_handler(session, event)
        seen.append(rows_of(session, "SELECT count(*) FROM test_applied WHERE client_id = ANY(%(ids)s)",
                            {"ids": [event.data["client_id"] for event in events]}))

    runner = pipelined(engine, kafka_bootstrap, {CREATED: count_then_read})
    batches = runner.batches()
    try:
        batches.apply([record(e, offset=offset) for offset, e in enumerate(new_events(3))])
        batches.apply([])
    finally:
        batches.close()
    assert seen == [[(3,)]]


def test_a_forgotten_batch_is_rolled_back_when_its_connection_closes(engine, kafka_bootstrap, applied_table):
    """Stopping with a batch sent and not settled (its offsets uncommitted, so it is redelivered): whatever it wrote
    is either committed whole (the inbox then skips it) or not at all."""
    runner = pipelined(engine, kafka_bootstrap, {CREATED: counting_in_batches([])})
    events = new_events(3)
    batches = runner.batches()
    batches.apply([record(e, offset=offset) for offset, e in enumerate(events)])
    batches.close()
    written = {applied_times(engine, e.data["client_id"]) for e in events}
    assert written in ({1}, {None})
    assert len(inbox(engine, runner)) == (3 if written == {1} else 0)
    runner.process_batch([record(e, offset=offset) for offset, e in enumerate(events)])  # the redelivery
    assert [applied_times(engine, e.data["client_id"]) for e in events] == [1, 1, 1]


def test_a_consumer_not_pipelined_applies_each_batch_at_once(engine, kafka_bootstrap, applied_table):
    runner = ConsumerRunner(engine, f"test-now-{uuid.uuid4()}", {CREATED: counting_in_batches([])},
                            consumer_factory=lambda: None, producer_factory=lambda: None)
    events = new_events(2)
    records = [record(e, offset=offset) for offset, e in enumerate(events)]
    assert runner.batches().apply(records) == records
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from test_applied where client_id = any(:ids)"),
                           {"ids": [e.data["client_id"] for e in events]}) == 2
