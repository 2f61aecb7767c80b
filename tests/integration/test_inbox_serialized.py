"""Handlers marked @serialized_by(key): a batch waits for another transaction of the group that holds the lock of one
of its events' keys, on the whole-batch path and on the one-at-a-time path; events of other keys do not wait."""
import threading
import uuid
import zlib

from sqlalchemy.orm import Session

from glassbox.inbox import LOCK_BUCKETS, ConsumerRunner, batched, lock_keys, serialized_by
from glassbox.kafka import ensure_topics, make_producer
from tests.integration.test_inbox_batches import CREATED, created, record
from tests.support.inbox import WAIT_LIMIT, applied_times, counting_handler, until, waiting_on_a_lock


@batched
@serialized_by(lambda event: event.data["client_id"])
def count_per_client(session, events):
    for event in events:
        counting_handler(session, event)


HANDLERS = {CREATED: count_per_client}


def runner_of(engine, kafka_bootstrap) -> ConsumerRunner:
    return ConsumerRunner(engine, f"test-serialized-{uuid.uuid4()}", HANDLERS, consumer_factory=lambda: None,
                          producer_factory=lambda: make_producer(kafka_bootstrap))


def bucket(key: str) -> int:
    return zlib.crc32(key.encode()) % LOCK_BUCKETS


def in_thread(target) -> threading.Thread:
    """`target` running; what it raised is kept in the thread's `failures` for the test to report."""
    def run():
        try:
            target()
        except Exception as exc:
            thread.failures.append(exc)
    thread = threading.Thread(target=run)
    thread.failures = []
    thread.start()
    return thread


def check_waits_for_the_holder(engine, runner, held, records) -> None:
    """`records` applied by `runner` while another transaction holds `held`'s lock: they wait, then apply."""
    with Session(engine) as holder:
        lock_keys(holder, runner.name, HANDLERS, [held])
        applying = in_thread(lambda: runner.process_batch(records))
        assert until(lambda: waiting_on_a_lock(engine) or not applying.is_alive())
        assert applying.is_alive() and waiting_on_a_lock(engine), "the batch did not wait for the key's lock"
    applying.join(WAIT_LIMIT)  # the holder's transaction ended above
    assert not applying.is_alive() and not applying.failures, applying.failures
    assert applied_times(engine, held.data["client_id"]) == 1


def test_a_batch_waits_for_the_transaction_that_holds_its_clients_lock(engine, kafka_bootstrap, applied_table):
    runner = runner_of(engine, kafka_bootstrap)
    event = created(str(uuid.uuid4()))
    check_waits_for_the_holder(engine, runner, event, [record(event)])


def test_the_one_at_a_time_path_waits_too(engine, kafka_bootstrap, applied_table):
    """A record that is not an event makes the batch fail as a whole; its events are then applied one at a time
    (the unreadable record goes to the DLQ), under the same locks."""
    ensure_topics(kafka_bootstrap, topics=["test.batches"])  # and its DLQ
    runner = runner_of(engine, kafka_bootstrap)
    event = created(str(uuid.uuid4()))
    unreadable = record(event, offset=1)._replace(value=b"not a cloud event", headers=[])
    check_waits_for_the_holder(engine, runner, event, [record(event), unreadable])


def test_events_of_a_client_in_another_lock_do_not_wait(engine, kafka_bootstrap, applied_table):
    runner = runner_of(engine, kafka_bootstrap)
    held = created(str(uuid.uuid4()))
    other = next(event for event in (created(str(uuid.uuid4())) for _ in range(100))
                 if bucket(event.data["client_id"]) != bucket(held.data["client_id"]))
    with Session(engine) as holder:
        lock_keys(holder, runner.name, HANDLERS, [held])
        applying = in_thread(lambda: runner.process_batch([record(other)]))
        applying.join(WAIT_LIMIT)
        assert not applying.is_alive() and not applying.failures, applying.failures or "an event of another lock waited"
        assert not waiting_on_a_lock(engine)
    assert applied_times(engine, other.data["client_id"]) == 1
