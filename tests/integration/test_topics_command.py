"""`glassbox topics` on the real broker: every domain topic and its dead-letter topic exist afterwards and a second
run creates nothing (their retention is checked in tests/analytics/test_broker.py)."""
from click.testing import CliRunner
from kafka import KafkaAdminClient

from glassbox import registry
from glassbox.cli import main
from glassbox.kafka import dlq_topic


def test_topics_creates_what_is_missing_once(kafka_bootstrap):
    runner = CliRunner()
    first = runner.invoke(main, ["topics", "--partitions", "2"], env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["topics"], env={"KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap})
    assert again.exit_code == 0 and '"topics_created": []' in again.output
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        existing = set(admin.list_topics())
        for topic in registry.topics():
            assert {topic, dlq_topic(topic)} <= existing
    finally:
        admin.close()


def test_topics_refuses_a_partition_count_below_one():
    result = CliRunner().invoke(main, ["topics", "--partitions", "0"])
    assert result.exit_code == 2 and "--partitions" in result.output
