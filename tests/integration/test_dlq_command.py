"""`glassbox dlq list|replay <service>` on the real broker and PostgreSQL: the dead letters the service's consumer
group wrote (not another group's) are listed with id, type, error and time, and re-driven through the consumer's
handlers and inbox: a fixed one is applied once (a second replay finds it applied), one that still fails is
reported and the command fails."""
import json
import uuid

import pytest
from click.testing import CliRunner
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import text

from glassbox.cli import main
from glassbox.events import DomainEvent
from glassbox.inbox import ConsumerRunner
from glassbox.kafka import make_producer
from glassbox.users import IDENTITY_TOPIC, USER_CREATED


def record(value: bytes, headers: list, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic=IDENTITY_TOPIC, partition=0, leader_epoch=0, offset=offset, timestamp=0,
                          timestamp_type=0, key=b"k", value=value, headers=headers, checksum=None,
                          serialized_key_size=-1, serialized_value_size=-1, serialized_header_size=-1)


def user_event(user_id: str) -> DomainEvent:
    return DomainEvent(type=USER_CREATED, source="/crm/identity", subject=user_id,
                       data={"user_id": user_id, "email": "dlq@glassbox.example", "full_name": "Dee Ellqueue",
                             "role": "manager", "team_id": None, "is_active": True})


def dead_letter(kafka_bootstrap, engine, group: str, value: bytes, headers: list, error: str) -> None:
    """A dead letter written the way the consumer runner of `group` writes one."""
    runner = ConsumerRunner(engine, group, {}, lambda: None, lambda: make_producer(kafka_bootstrap))
    runner._dead_letter(record(value, headers, offset=7), RuntimeError(error))
    runner._producer.close()


@pytest.fixture
def glassbox(kafka_bootstrap, clients_db_url, monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("CLIENTS_DATABASE_URL", clients_db_url)

    def run(*args) -> tuple[int, list[dict]]:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        return result.exit_code, [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]

    return run


def test_list_and_replay_the_dead_letters_of_a_services_consumer(glassbox, kafka_bootstrap, engine, client):
    fixed, broken, theirs = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    good = user_event(fixed).to_kafka()
    dead_letter(kafka_bootstrap, engine, "clients", good.value, list(good.headers.items()), "projection was down")
    bad = user_event(broken)
    bad = DomainEvent(type=bad.type, source=bad.source, subject="not-a-uuid", data={**bad.data, "user_id": "nope"},
                      id=bad.id).to_kafka()
    dead_letter(kafka_bootstrap, engine, "clients", bad.value, list(bad.headers.items()), "badly formed user id")
    other = user_event(theirs).to_kafka()
    dead_letter(kafka_bootstrap, engine, "deals", other.value, list(other.headers.items()), "another group's")

    code, listed = glassbox("dlq", "list", "clients")
    assert code == 0
    mine = {letter["id"]: letter for letter in listed}
    good_id, bad_id = dict(good.headers)["ce_id"].decode(), dict(bad.headers)["ce_id"].decode()
    assert dict(other.headers)["ce_id"].decode() not in mine  # the deals consumer's letter
    assert mine[good_id]["type"] == USER_CREATED and mine[good_id]["error"] == "RuntimeError: projection was down"
    assert mine[good_id]["topic"] == IDENTITY_TOPIC and mine[good_id]["offset"] == "7" and mine[good_id]["time"]
    assert mine[good_id]["applied"] is False and mine[bad_id]["applied"] is False

    code, outcomes = glassbox("dlq", "replay", "clients")
    assert code == 1  # one still fails
    by_id = {line["id"]: line for line in outcomes if "id" in line}
    assert by_id[good_id]["outcome"] == "applied"
    assert by_id[bad_id]["outcome"] == "failed" and "ValueError" in by_id[bad_id]["error"]
    with engine.connect() as conn:
        assert conn.scalar(text("select full_name from users where user_id = :id"), {"id": fixed}) == "Dee Ellqueue"

    code, again = glassbox("dlq", "replay", "clients")  # idempotent through the inbox
    assert {line["id"]: line["outcome"] for line in again if "id" in line}[good_id] == "already applied"
    with engine.connect() as conn:
        assert conn.scalar(text("select count(*) from processed_events where consumer = 'clients' and event_id = :id"),
                           {"id": good_id}) == 1
    code, listed = glassbox("dlq", "list", "clients")
    assert {letter["id"]: letter["applied"] for letter in listed}[good_id] is True


def test_a_service_without_consumers_is_refused(glassbox):
    result = CliRunner().invoke(main, ["dlq", "list", "gateway"])
    assert result.exit_code != 0 and "consumes no events" in result.output
