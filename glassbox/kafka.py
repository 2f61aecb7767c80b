"""Kafka producers and consumers configured the one way the project uses them, and topic administration."""
from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import TopicAlreadyExistsError

DEFAULT_PARTITIONS = 3


def dlq_topic(topic: str) -> str:
    return f"{topic}.dlq"


def make_producer(bootstrap_servers: str, **overrides) -> KafkaProducer:
    """Durable producer: every in-sync replica acknowledges, and broker-side de-duplication of retries."""
    config = dict(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=256 * 1024,
        compression_type=None,
        request_timeout_ms=15_000,
        delivery_timeout_ms=30_000,
        max_block_ms=10_000,
        client_id="glassbox",
    )
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(bootstrap_servers: str, group_id: str, topics: list[str] | tuple[str, ...], **overrides) -> KafkaConsumer:
    """Offsets are committed by our code after the database commit, never automatically."""
    config = dict(
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        client_id=f"glassbox-{group_id}",
    )
    config.update(overrides)
    return KafkaConsumer(*topics, **config)


def ensure_topics(bootstrap_servers: str, topics=None, partitions: int = DEFAULT_PARTITIONS,
                  replication_factor: int = 1) -> list[str]:
    """Create the missing topics (default: every registered service's) and their DLQs; returns the names created.
    Domain events are kept forever (retention.ms=-1) so read models can be rebuilt by replay."""
    from glassbox.registry import topics as domain_topics

    wanted = {}
    for topic in domain_topics() if topics is None else topics:
        wanted[topic] = {"num_partitions": partitions, "replication_factor": replication_factor,
                         "configs": {"retention.ms": "-1"}}
        wanted[dlq_topic(topic)] = {"num_partitions": 1, "replication_factor": replication_factor,
                                    "configs": {"retention.ms": "-1"}}
    cluster = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="glassbox-topics")
    try:
        existing = set(cluster.list_topics())
        missing = {name: spec for name, spec in wanted.items() if name not in existing}
        if missing:
            try:
                cluster.create_topics(missing, wait_for_metadata=True)
            except TopicAlreadyExistsError:
                pass  # another process won the race; that is the state we want
        return sorted(missing)
    finally:
        cluster.close()


def broker_reachable(bootstrap_servers: str, timeout_ms: int = 3000) -> bool:
    try:
        cluster = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=timeout_ms,
                                 client_id="glassbox-health")
    except Exception:
        return False
    try:
        cluster.describe_cluster()
        return True
    except Exception:
        return False
    finally:
        cluster.close()
