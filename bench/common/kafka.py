"""Kafka facts and topics the benchmarks share: the CRC-32C implementation, the bare producer's topic."""
from __future__ import annotations

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from glassbox.kafka import DEFAULT_PARTITIONS

BARE_TOPIC = "bench.bare-producer.events"


def crc32c_implementation() -> str:
    """kafka-python checksums every record batch with CRC-32C: in C when the `crc32c` package (a project
    dependency) is importable, else in pure Python (much slower for the whole producer)."""
    from importlib import metadata

    from kafka.record import util

    if getattr(util, "crc32c_c", None) is None:
        return "pure Python (the crc32c package is not importable)"
    return f"C (crc32c {metadata.version('crc32c')})"


def ensure_bare_topic(bootstrap: str) -> None:
    """The bare producer's topic: the same partition count as the domain topics, no DLQ."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="glassbox-bench")
    try:
        if BARE_TOPIC not in set(admin.list_topics()):
            try:
                admin.create_topics([NewTopic(BARE_TOPIC, DEFAULT_PARTITIONS, 1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()
