"""The real broker in tests: publishing events, reading topics back, and running a consumer until it has
caught up."""
from __future__ import annotations

import threading
import time
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from glassbox.kafka import make_consumer, make_producer


def publish(bootstrap: str, topic: str, events: list[DomainEvent]) -> None:
    """The events on `topic` as the relays send them (CloudEvent headers, the aggregate's key)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for event in events:
            message = event.to_kafka()
            producer.send(topic, key=message.key, value=message.value, headers=list(message.headers.items()))
        producer.flush()
    finally:
        producer.close()


def read_topic(bootstrap: str, topic: str, wanted: int, match, timeout: float = 30.0) -> list:
    """Records of `topic` (from the beginning) for which match(record) holds; waits for `wanted` of them."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=1000)
    found, deadline = [], time.monotonic() + timeout
    try:
        consumer.assign([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
        while len(found) < wanted and time.monotonic() < deadline:
            found = []
            consumer.seek_to_beginning()
            for record in consumer:
                if match(record):
                    found.append(record)
    finally:
        consumer.close()
    return found


def wait_for(condition, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Whether `group` has committed the end of every partition of `topic`."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        committed = admin.list_group_offsets(group).get(group, {})
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)])
        return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items())
    finally:
        admin.close()
        consumer.close()


def run_in_thread(target) -> tuple[threading.Thread, threading.Event]:
    """target(stop) in a daemon thread; set the event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=target, args=(stop,), daemon=True)
    thread.start()
    return thread, stop


def consume_until_caught_up(engine, bootstrap: str, topics: list[str], handlers: dict, group_prefix: str, *,
                            inbox: str | None = None, group: str | None = None, timeout: float = 60.0,
                            pipelined: bool = False) -> str:
    """Run the kit's ConsumerRunner (its inbox named `inbox`, else after the group; `pipelined` as the consumer's
    module says) in a Kafka group (a fresh one named after `group_prefix` unless `group` is given) until it has
    committed the end of every topic in `topics`; returns the group."""
    group = group or f"{group_prefix}-{uuid.uuid4()}"
    runner = ConsumerRunner(engine, inbox or group, handlers, lambda: make_consumer(bootstrap, group, list(topics)),
                            lambda: make_producer(bootstrap), max_backoff=1.0, pipelined=pipelined)
    thread, stop = run_in_thread(runner.run)
    try:
        wait_for(lambda: all(caught_up(bootstrap, group, topic) for topic in topics), timeout=timeout,
                 what=f"{group} to catch up with {', '.join(topics)}")
    finally:
        stop.set()
        thread.join(timeout=30)
    return group
