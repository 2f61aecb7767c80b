"""A poison event (a valid CloudEvent whose handler always fails) on crm.deals.events goes to the DLQ, listed by
`glassbox dlq list analytics`, and its partition moves on within 30 s; an outbox row too large for the broker is
parked, reported (the relay's outbox_parked_total and outbox_parked_rows) and the rows behind it are published."""
import json
import time
import uuid

from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.models import OutboxMessage
from tests.support.reliability import poll, scalar


def committed(bootstrap: str, group: str, partition: TopicPartition) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        offsets = admin.list_group_offsets(group).get(group, {})
        return offsets[partition].offset if partition in offsets else -1
    finally:
        admin.close()


def test_a_poison_event_goes_to_the_dlq_without_stalling_its_partition(system, figures):
    poison = DomainEvent(type="crm.deal.created.v1", source="/crm/deals", subject="not-a-deal-id",
                         data={"deal_id": "not-a-deal-id", "title": "poison"})
    message = poison.to_kafka()
    producer = KafkaProducer(bootstrap_servers=system.bootstrap, acks="all")
    try:
        sent = producer.send("crm.deals.events", key=message.key, value=message.value,
                             headers=list(message.headers.items())).get(timeout=30)
    finally:
        producer.close()
    partition = TopicPartition("crm.deals.events", sent.partition)
    _, passed = poll(lambda: committed(system.bootstrap, "analytics", partition) > sent.offset, 30,
                     "the analytics consumer to move past the poison event", interval=0.2)
    letters = [json.loads(line) for line in system.glassbox("dlq", "list", "analytics").splitlines()]
    [letter] = [letter for letter in letters if letter["id"] == poison.id]
    assert letter["type"] == "crm.deal.created.v1" and "ValueError" in letter["error"]
    assert letter["topic"] == "crm.deals.events" and int(letter["offset"]) == sent.offset
    figures["poison event"] = {"partition moved past it after (s)": round(passed, 1),
                               "dead letters of analytics": len(letters)}


def test_an_oversized_row_is_parked_and_the_rows_behind_it_are_published(system, figures):
    engine = create_engine(system.database_url("deals"))
    try:
        with Session(engine) as session:
            rows = [OutboxMessage.from_event(DomainEvent(
                type="crm.test.oversized.v1" if size else "crm.test.behind.v1", source="/crm/deals",
                subject=str(uuid.uuid4()), data={"filler": "x" * size}), "crm.deals.events") for size in (2_000_000, 0, 0)]
            session.add_all(rows)
            session.commit()
            oversized, *behind = [row.id for row in rows]
    finally:
        engine.dispose()

    def state(event_id):
        [(sent, parked, error)] = scalar(system.database_url("deals"), "select sent_at is not null, parked_at is not "
                                         "null, parked_error from outbox_messages where id = :id", id=event_id)
        return sent, parked, error

    (_, _, error), parked_after = poll(lambda: state(oversized)[1] and state(oversized), 30, "the oversized row parked")
    assert "MessageSizeTooLargeError" in error
    _, published_after = poll(lambda: all(state(event_id)[0] for event_id in behind), 30, "the rows behind it sent")
    assert system.metric("relay:deals", 'outbox_parked_total{service="deals"}') == 1
    poll(lambda: system.metric("relay:deals", 'outbox_parked_rows{service="deals"}') == 1, 10,
         "the parked rows gauge")
    figures["oversized row"] = {"payload (bytes)": 2_000_000, "parked after (s)": round(parked_after, 1),
                                "rows behind it published after (s)": round(published_after, 1)}
