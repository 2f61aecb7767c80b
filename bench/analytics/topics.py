"""The analytics consumer's topics: producing the generated events, and the offsets the parts time by."""
from __future__ import annotations

import time
from collections import Counter

from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.consumer.fetcher import ConsumerRecord

from bench.analytics import events as ev
from glassbox.events import DomainEvent
from glassbox.kafka import make_producer
from services.analytics import consumers

GROUP = consumers.GROUP
TOPICS = consumers.TOPICS


def records_of(events: list[DomainEvent], offset: int = 0) -> list[ConsumerRecord]:
    """Kafka records of the events, as a consumer would poll them (for the runner's process_batch)."""
    out = []
    for i, event in enumerate(events, start=offset):
        message = event.to_kafka()
        out.append(ConsumerRecord(ev.topic_of(event), 0, None, i, 0, 0, message.key, message.value,
                                  list(message.headers.items()), None, len(message.key or b""), len(message.value), -1))
    return out


# Flushed every so often, so that no batch waits long in the producer's queue: sent flat out by the generator (which
# holds the GIL most of the time), the queue grew until batches waited past delivery_timeout_ms (30 s) and expired,
# from about 550,000 of 1,000,000 events on 2026-12-04 (with a flush every 10,000: none, and faster).
FLUSH_EVERY = 10_000


def produce(bootstrap: str, events) -> Counter:
    """Send the events to their topics (make_producer: acks=all, idempotent); returns the count per type."""
    producer = make_producer(bootstrap)
    types: Counter = Counter()
    failures: list[BaseException] = []
    try:
        for sent, event in enumerate(events, start=1):
            message = event.to_kafka()
            producer.send(ev.topic_of(event), key=message.key, value=message.value,
                          headers=list(message.headers.items())).add_errback(failures.append)
            types[event.type] += 1
            if sent % FLUSH_EVERY == 0:
                producer.flush()
        producer.flush()
    finally:
        producer.close(timeout=10)
    if failures:
        raise RuntimeError(f"{len(failures)} records were not acknowledged: {failures[0]!r}")
    return types


def topic_partitions(bootstrap: str, topics=TOPICS) -> list[TopicPartition]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench")
    try:
        out = []
        for topic in topics:
            deadline = time.monotonic() + 15
            found = consumer.partitions_for_topic(topic)
            while not found and time.monotonic() < deadline:
                time.sleep(0.2)
                found = consumer.partitions_for_topic(topic)
            out += [TopicPartition(topic, p) for p in sorted(found or ())]
        return out
    finally:
        consumer.close()


class Broker:
    """End offsets of the domain topics and committed offsets of groups (one consumer and one admin client)."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self.partitions = topic_partitions(bootstrap)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench-offsets")
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="glassbox-bench-admin")

    def ends(self) -> dict:
        return self.consumer.end_offsets(self.partitions)

    def total(self) -> int:
        return sum(self.ends().values())

    def committed(self, group: str) -> int:
        offsets = self.admin.list_group_offsets({group: self.partitions}).get(group, {})
        return sum(max(o.offset, 0) for tp, o in offsets.items() if tp in self.partitions)

    def reset_group(self, group: str, to_end: bool) -> None:
        """Committed offsets of an empty group to the beginning or the end of every partition."""
        spec = OffsetSpec.LATEST if to_end else OffsetSpec.EARLIEST
        result = self.admin.reset_group_offsets(group, {tp: spec for tp in self.partitions})
        errors = {tp: r["error"] for tp, r in result.items() if r["error"] is not None and r["error"].errno}
        if errors:
            raise RuntimeError(f"could not reset the offsets of group {group}: {errors}")

    def wait_caught_up(self, group: str, timeout: float) -> float:
        """Seconds until the group's committed offsets reach the ends (raises after timeout)."""
        started = time.monotonic()
        target = self.total()
        while self.committed(group) < target:
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"group {group} did not catch up within {timeout:.0f} s "
                                   f"({self.committed(group)} of {target})")
            time.sleep(0.2)
        return time.monotonic() - started

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()
