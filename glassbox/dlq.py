"""Dead letters of a service's consumer (`glassbox dlq list|replay <service>`): read them from the `<topic>.dlq`
topics of the topics it consumes (only those its own group wrote: a DLQ topic is shared by every group consuming
the topic), and re-drive them.

Re-driving applies each dead letter through the consumer's own handlers and inbox, each in its own transaction,
instead of publishing it back to its original topic: only this consumer sees it again (other groups are not made
to re-read what they applied long ago), the operator learns at once what became of each one, a letter that still
fails stays where it is (no second copy in the DLQ), and the inbox makes a second replay a no-op (its events are
reported as already applied).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from glassbox.events import DomainEvent
from glassbox.inbox import database_outage, handler_of, lock_keys
from glassbox.kafka import dlq_topic
from glassbox.models import ProcessedEvent

APPLIED, ALREADY_APPLIED, IGNORED, FAILED = "applied", "already applied", "ignored", "failed"


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord

    def header(self, name: str) -> str | None:
        value = dict(self.record.headers or []).get(name)
        return value.decode(errors="replace") if value is not None else None

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")

    def as_dict(self) -> dict:
        return {"id": self.event_id, "type": self.header("ce_type"), "error": self.header("dlq_error"),
                "time": datetime.fromtimestamp(self.record.timestamp / 1000, timezone.utc).isoformat(),
                "topic": self.header("dlq_original_topic"), "partition": self.header("dlq_original_partition"),
                "offset": self.header("dlq_original_offset"), "dlq_offset": self.record.offset}


def read(bootstrap_servers: str, group: str, topics, consumer_factory: Callable[..., KafkaConsumer] = KafkaConsumer
         ) -> list[DeadLetter]:
    """Every dead letter `group` wrote for `topics`, oldest first per DLQ topic, read up to the current end."""
    consumer = consumer_factory(bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(dlq_topic(topic), p) for topic in topics
                      for p in sorted(consumer.partitions_for_topic(dlq_topic(topic)) or ())]
        if not partitions:
            return []
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for batch in consumer.poll(timeout_ms=1000).values():
                records.extend(record for record in batch if record.offset < ends[TopicPartition(record.topic,
                                                                                                 record.partition)])
        letters = [DeadLetter(record) for record in records]
        return [letter for letter in letters if letter.header("dlq_consumer") == group]
    finally:
        consumer.close()


def already_applied(engine: Engine, group: str, letters: list[DeadLetter]) -> set[str]:
    """The ids among the letters' events that the group's inbox holds (re-driven, or applied after all)."""
    ids = [letter.event_id for letter in letters if letter.event_id]
    if not ids:
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(select(ProcessedEvent.event_id).where(ProcessedEvent.consumer == group,
                                                                      ProcessedEvent.event_id.in_(ids))))


def replay(engine: Engine, group: str, handlers: dict, letter: DeadLetter) -> tuple[str, str | None]:
    """Applies one dead letter through the handlers and the inbox in its own transaction: (outcome, error)."""
    try:
        event = DomainEvent.from_kafka(letter.record.headers, letter.record.key, letter.record.value)
    except ValueError as exc:
        return FAILED, f"not a readable event: {exc}"
    handler = handler_of(handlers, event.type)
    if handler is None:
        return IGNORED, None
    try:
        with Session(engine) as session:
            lock_keys(session, group, handlers, [event])
            first_time = session.execute(
                insert(ProcessedEvent).values(consumer=group, event_id=event.id, event_type=event.type)
                .on_conflict_do_nothing().returning(ProcessedEvent.event_id)).first()
            if first_time is None:
                return ALREADY_APPLIED, None
            handler(session, [event]) if getattr(handler, "takes_batches", False) else handler(session, event)
            session.commit()
        return APPLIED, None
    except Exception as exc:
        if database_outage(exc):
            raise  # the database, not the letter: stop the replay
        return FAILED, f"{type(exc).__name__}: {exc}"[:1000]
