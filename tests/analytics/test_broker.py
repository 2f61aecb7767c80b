"""Analytics on the real broker: the generated scenario published to Kafka (keyed by aggregate, three partitions
per topic) with poison records among it, consumed by the kit's runner as `glassbox consume analytics` does;
the KPIs equal the reference, the poison records sit in the DLQ, and a rebuild by replay ends in exactly
the same read models and KPIs. Also: the domain topics keep their events forever, and the CLI command."""
from __future__ import annotations

import json
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType

from glassbox.events import DomainEvent
from glassbox.kafka import dlq_topic, ensure_topics
from glassbox.progress import counting
from glassbox.registry import topics as domain_topics
from services.analytics import consumers
from services.analytics.gauges import consumer_lag
from services.analytics.rebuild import RebuildError, rebuild
from tests.support.analytics.comparison import QUESTIONS, SCENARIO, compare_everything
from tests.support.analytics.events import topic_of
from tests.support.analytics.feeding import dump
from tests.support.kafka import consume_until_caught_up, read_topic

pytestmark = pytest.mark.kafka
GLASSBOX = str(Path(sys.executable).with_name("glassbox"))


@pytest.fixture
def topics(kafka_bootstrap):
    """Fresh topics standing for those the analytics consumer reads: {real name: test name}."""
    suffix = uuid.uuid4().hex[:8]
    names = {topic: f"test.analytics.{suffix}.{topic}" for topic in consumers.TOPICS}
    ensure_topics(kafka_bootstrap, topics=list(names.values()))
    return names


def publish(bootstrap: str, records: list[tuple[str, bytes | None, bytes, list]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    try:
        for topic, key, value, headers in records:
            producer.send(topic, key=key, value=value, headers=headers)
        producer.flush()
    finally:
        producer.close()


def as_record(evt: DomainEvent, topics: dict) -> tuple:
    message = evt.to_kafka()
    return topics[topic_of(evt)], message.key, message.value, list(message.headers.items())


def consume(engine, bootstrap: str, topics: dict, group: str | None = None) -> str:
    """The analytics runner (inbox name `analytics`) in a Kafka group (a fresh one by default), until it has
    committed the ends."""
    return consume_until_caught_up(engine, bootstrap, list(topics.values()), consumers.HANDLERS, "test-analytics",
                                   inbox=consumers.GROUP, group=group, timeout=120, pipelined=consumers.PIPELINED)


@pytest.fixture
def head_with_rates(analytics, as_role, now):
    admin = as_role(analytics, "admin")
    for currency, valid_from, rate in SCENARIO.rates:
        admin.post("/api/v1/fx-rates", json={"currency": currency, "rate_to_base": str(rate),
                                             "valid_from": valid_from.isoformat()})
    return as_role(analytics, "head_of_sales")


def test_the_scenario_through_kafka_equals_the_reference_before_and_after_a_rebuild(
        head_with_rates, analytics_engine, kafka_bootstrap, topics):
    deals_topic = topics["crm.deals.events"]
    poison = DomainEvent(type="crm.deal.created.v1", source="/crm/deals", subject="x", data={"deal_id": "x"})
    records = [as_record(evt, topics) for evt in SCENARIO.events]
    middle = len(records) // 2
    records[middle:middle] = [(deals_topic, b"x", b"not a cloudevent", []), as_record(poison, topics)]
    publish(kafka_bootstrap, records)

    consume(analytics_engine, kafka_bootstrap, topics)
    compare_everything(head_with_rates, QUESTIONS[:4])
    dead = read_topic(kafka_bootstrap, dlq_topic(deals_topic), 2, lambda r: True)
    assert len(dead) == 2
    assert {dict(r.headers)["dlq_consumer"].decode() for r in dead} == {"analytics"}
    first_pass = dump(analytics_engine)
    assert len(first_pass["deals"]) == len(SCENARIO.deals)

    replayed = rebuild(analytics_engine, kafka_bootstrap, topics=list(topics.values()))
    assert replayed["events"] == len(records) and replayed["partitions"] == 3 * len(consumers.TOPICS)
    assert dump(analytics_engine) == first_pass
    compare_everything(head_with_rates, QUESTIONS[:4])
    # The regular consumer goes on from its offsets; what the replay applied, its inbox skips.
    consume(analytics_engine, kafka_bootstrap, topics)
    assert dump(analytics_engine) == first_pass


def test_a_rebuild_stops_at_the_ends_it_saw_first_and_refuses_missing_topics(analytics, analytics_engine,
                                                                          kafka_bootstrap, topics):
    with pytest.raises(RebuildError, match="does not exist"):
        rebuild(analytics_engine, kafka_bootstrap, topics=["test.analytics.nothing-here"])
    publish(kafka_bootstrap, [as_record(evt, topics) for evt in SCENARIO.events[:50]])
    counters = []

    @contextmanager
    def counted(total):  # what `glassbox analytics rebuild` shows: events replayed of the total
        with counting("analytics rebuild", total) as counter:
            counters.append(counter)
            yield counter

    assert rebuild(analytics_engine, kafka_bootstrap, topics=list(topics.values()), progress=counted)["events"] == 50
    [counter] = counters
    assert counter.total == counter.completed == 50


def test_the_consumer_lag_gauge_counts_what_the_group_has_not_committed(analytics, analytics_engine,
                                                                       kafka_bootstrap, topics):
    publish(kafka_bootstrap, [as_record(evt, topics) for evt in SCENARIO.events[:60]])
    group = f"test-analytics-{uuid.uuid4().hex[:8]}"
    assert sum(consumer_lag(kafka_bootstrap, group, topics.values()).values()) == 60
    consume(analytics_engine, kafka_bootstrap, topics, group)
    lag = consumer_lag(kafka_bootstrap, group, topics.values())
    assert len(lag) == 3 * len(consumers.TOPICS) and set(lag.values()) == {0}


def test_domain_topics_keep_their_events_forever(kafka_bootstrap):
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, topic, {"retention.ms": None})
                     for topic in [*domain_topics(), *map(dlq_topic, domain_topics())]]
        described = admin.describe_configs(resources, config_filter="all")
    finally:
        admin.close()
    retention = {topic: configs["retention.ms"]["value"] for topic, configs in described["topic"].items()}
    assert retention == {topic: "-1" for topic in [*domain_topics(), *map(dlq_topic, domain_topics())]}


def test_the_rebuild_command_replays_the_domain_topics(analytics, analytics_db_url, analytics_engine, kafka_bootstrap):
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for topic in consumers.TOPICS
                      for p in consumer.partitions_for_topic(topic)]
        total = sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()
    env = {"PATH": "/usr/bin:/bin", "ANALYTICS_DATABASE_URL": analytics_db_url,
           "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap, "LOG_LEVEL": "WARNING"}
    runs = []
    for _ in range(2):
        done = subprocess.run([GLASSBOX, "analytics", "rebuild"], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        runs.append((json.loads(done.stdout.strip().splitlines()[-1]), dump(analytics_engine)))
    assert runs[0][0]["events"] == runs[1][0]["events"] == total
    assert runs[0][1] == runs[1][1]
