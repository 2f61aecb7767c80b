"""The consumer runner: apply each event once, in the consumer's own database, then commit the offsets.

Per batch: one database transaction; per event a savepoint in which the event id is recorded in
`processed_events` together with the handler's effect (a duplicate finds its id there and is skipped).
The database commits first, the Kafka offsets after, so a crash in between only redelivers events that
the inbox then skips. An event that keeps failing goes to `<topic>.dlq` with the error in its headers
and the consumer moves on; an infrastructure failure (database gone) aborts the batch instead, so
nothing is dead-lettered for a reason that is not the event's fault.
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from glassbox import metrics
from glassbox.events import DomainEvent
from glassbox.kafka import dlq_topic
from glassbox.models import ProcessedEvent

log = logging.getLogger(__name__)

Handler = Callable[[Session, DomainEvent], None]
# A consumer's handlers may include one under this key: it gets the events of every type that has no handler
# of its own (to count or log them), through the inbox like any other. Without it such events are ignored.
ANY_TYPE = "*"
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError)


class ConsumerRunner:
    def __init__(self, engine: Engine, name: str, handlers: dict[str, Handler],
                 consumer_factory: Callable[[], KafkaConsumer], producer_factory: Callable[[], KafkaProducer],
                 max_attempts: int = 3, max_backoff: float = 30.0):
        self.engine = engine
        self.name = name  # the consumer group, and the inbox namespace
        self.handlers = handlers
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self._producer: KafkaProducer | None = None

    def process_batch(self, records: list[ConsumerRecord]) -> None:
        with Session(self.engine) as session:
            for record in records:
                self._apply(session, record)
            session.commit()

    def _apply(self, session: Session, record: ConsumerRecord) -> None:
        try:
            event = DomainEvent.from_kafka(record.headers, record.key, record.value)
        except ValueError as exc:
            self._dead_letter(record, exc)
            return
        handler = self.handlers.get(event.type) or self.handlers.get(ANY_TYPE)
        if handler is None:  # a tolerant reader: other consumers' events and future types are not ours
            metrics.CONSUMER_PROCESSED.labels(self.name, "ignored").inc()
            return
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                with session.begin_nested():
                    first_time = session.execute(
                        insert(ProcessedEvent)
                        .values(consumer=self.name, event_id=event.id, event_type=event.type)
                        .on_conflict_do_nothing()
                        .returning(ProcessedEvent.event_id)
                    ).first()
                    if first_time is None:
                        metrics.CONSUMER_DUPLICATES.labels(self.name).inc()
                        return
                    handler(session, event)
                metrics.CONSUMER_PROCESSED.labels(self.name, event.type).inc()
                return
            except INFRASTRUCTURE_ERRORS:
                raise
            except Exception as exc:
                error = exc
                log.warning("%s: event %s (%s) failed, attempt %d/%d: %s", self.name, event.id, event.type,
                            attempt, self.max_attempts, exc)
        self._dead_letter(record, error)

    def _dead_letter(self, record: ConsumerRecord, error: Exception) -> None:
        headers = list(record.headers or []) + [
            ("dlq_error", f"{type(error).__name__}: {error}"[:1000].encode()),
            ("dlq_consumer", self.name.encode()),
            ("dlq_original_topic", record.topic.encode()),
            ("dlq_original_partition", str(record.partition).encode()),
            ("dlq_original_offset", str(record.offset).encode()),
        ]
        if self._producer is None:
            self._producer = self.producer_factory()
        # Wait for the ack: the offset of this record is committed only once the DLQ holds it.
        self._producer.send(dlq_topic(record.topic), key=record.key, value=record.value, headers=headers).get(timeout=30)
        metrics.CONSUMER_DLQ.labels(self.name, record.topic).inc()
        log.error("%s: %s[%d]@%d sent to the DLQ: %s", self.name, record.topic, record.partition, record.offset, error)

    def run(self, stop: threading.Event, poll_timeout_ms: int = 500) -> None:
        backoff = 0.5
        while not stop.is_set():
            consumer = None
            try:
                consumer = self.consumer_factory()
                while not stop.is_set():
                    polled = consumer.poll(timeout_ms=poll_timeout_ms)
                    records = [record for batch in polled.values() for record in batch]
                    if records:
                        self.process_batch(records)
                        consumer.commit()
                        self._observe_lag(consumer, polled)
                    backoff = 0.5
            except Exception:
                # Uncommitted offsets are re-read from the last commit by a fresh consumer.
                log.exception("%s: consumer loop failed; restarting in %.1fs", self.name, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                if consumer is not None:
                    consumer.close(autocommit=False)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _observe_lag(self, consumer: KafkaConsumer, polled) -> None:
        try:
            ends = consumer.end_offsets(list(polled))
            for tp, end in ends.items():
                metrics.CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(end - consumer.position(tp), 0))
        except Exception:
            log.debug("lag not observed", exc_info=True)
