"""The consumer runner: apply each event once, in the consumer's own database, then commit the offsets.

Per polled batch, one database transaction: the ids of all its events are recorded in `processed_events` with
one statement, and only the events recorded for the first time (a duplicate finds its id there) reach their
handlers, in the same transaction. A handler marked `@batched` gets all of the batch's events it handles in one
call, so it can write them with a few bulk statements; any other gets them one at a time.

If anything in that transaction fails but the database itself (a poison event), it is rolled back and the batch
is applied again one event at a time, each in a savepoint with its inbox row, retried, and sent to `<topic>.dlq`
with the error in its headers when it keeps failing, so only the poison event is set aside. A database outage
(told apart by its SQLSTATE, `database_outage`) aborts the batch instead and the runner retries it for as long
as it lasts, without moving the offsets, so nothing is dead-lettered for a reason that is not the event's fault. The database commits first, the Kafka offsets after, so a crash in between only redelivers events
that the inbox then skips.

A pipelined consumer (PipelinedBatches) sends each batch's transaction ahead, to execute in PostgreSQL while it polls
and decodes the next batch; a sent batch that fails is applied again the way above.
"""
from __future__ import annotations

import logging
import threading
import time
import zlib
from collections import Counter
from contextlib import ExitStack
from typing import Callable, Iterable

from kafka import KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.structs import OffsetAndMetadata, TopicPartition
from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from glassbox import logs, metrics, retention, tracing
from glassbox.events import DomainEvent
from glassbox.kafka import dlq_topic
from glassbox.models import ProcessedEvent

log = logging.getLogger(__name__)

Handler = Callable[[Session, DomainEvent], None]
BatchHandler = Callable[[Session, list[DomainEvent]], None]
# A consumer's handlers may include one under this key: it gets the events of every type that has no handler
# of its own (to count or log them), through the inbox like any other. Without it such events are ignored.
ANY_TYPE = "*"
# SQLSTATE classes that waiting cures, whatever the event: 08 a lost or refused connection, 53 insufficient
# resources (too many connections, disk full), 57P0x the server shutting down or not yet accepting connections,
# 58 an I/O or system error, 40 a serialization failure or a deadlock (the transaction is to be retried). Any
# other SQLSTATE (22 data exception, 23 integrity constraint violation, 42 a statement the schema refuses, 57014 a
# cancelled statement, P0001 a raised exception...) is about what this event makes the handler do: bounded
# retries, then the DLQ.
OUTAGE_SQLSTATE_PREFIXES = ("08", "53", "57P0", "58", "40")


def database_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot serve anyone now (retry until it can), not that this event fails."""
    if isinstance(error, PoolTimeout):  # every connection of the pool busy or unobtainable
        return True
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if sqlstate:
        return sqlstate.startswith(OUTAGE_SQLSTATE_PREFIXES)
    # No SQLSTATE: the server never answered (connection refused, closed under us, network gone).
    return error.connection_invalidated or isinstance(error, (OperationalError, InterfaceError))


class DatabaseOutage(Exception):
    """Raised out of a batch when the database is unavailable: the runner retries the batch, offsets unmoved."""


def batched(handler: BatchHandler) -> BatchHandler:
    """Marks a handler that takes a list of events (all of a batch's events it handles, in their order of the
    topics, each new to the inbox). It must give the same result as taking them one list of one at a time."""
    handler.takes_batches = True
    return handler


def _is_batched(handler) -> bool:
    return getattr(handler, "takes_batches", False)


def handler_of(handlers: dict, event_type: str):
    """The handler of `event_type` among a consumer's `handlers`: its own, else the ANY_TYPE one, else None."""
    return handlers.get(event_type) or handlers.get(ANY_TYPE)


def serialized_by(key: Callable[[DomainEvent], object]) -> Callable[[Handler], Handler]:
    """Marks a handler whose events also read or write rows of other aggregates, all found by `key(event)` (e.g. the
    client of a deal, of an invoice, or of its own card): two consumers of the group (its replicas) never apply events
    of one key at the same time. Without it each would read the other's rows before they commit and neither would see
    them (READ COMMITTED): a deal written while another consumer writes its client's card keeps no campaign."""
    def mark(handler: Handler) -> Handler:
        handler.serialized_by = key
        return handler
    return mark


# A batch waits for the other consumers' transactions that hold any of its keys' locks, and holds them until it
# commits. Keys share a bounded number of transaction-level advisory locks (PostgreSQL's lock table is small and
# shared by the whole server), taken in ascending order by one statement, so lockers never wait for each other in a
# circle (no deadlock).
LOCK_BUCKETS = 256
_LOCK_BUCKETS = "SELECT pg_advisory_xact_lock(%(space)s, bucket) FROM unnest(CAST(%(buckets)s AS integer[])) AS bucket"


def lock_keys(session: Session, group: str, handlers: dict, events: Iterable[DomainEvent]) -> None:
    """The locks of the keys of `events` whose handlers are `serialized_by` one, in `group`'s own lock space."""
    keys, key_of_type = set(), {}
    for event in events:
        if event.type not in key_of_type:
            key_of_type[event.type] = getattr(handler_of(handlers, event.type), "serialized_by", None)
        key_of = key_of_type[event.type]
        if key_of is not None and (key := key_of(event)) is not None:
            keys.add(str(key))
    if keys:
        buckets = sorted({zlib.crc32(key.encode()) % LOCK_BUCKETS for key in keys})
        session.connection().exec_driver_sql(_LOCK_BUCKETS, {"space": _int4(zlib.crc32(group.encode())),
                                                             "buckets": buckets})


def _int4(unsigned: int) -> int:
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


# One statement records a batch's event ids, and answers with one row: how many were recorded for the first time
# and, only when that is not all of them (a redelivery, or an id twice in the batch), which. The arrays go in
# binary (%b): psycopg's text form of a list escapes every element in Python.
_INBOX_RECORDED = """
    WITH recorded AS (
        INSERT INTO processed_events (consumer, event_id, event_type)
        SELECT %(consumer)s, event_id, event_type FROM unnest(CAST(%(ids)b AS varchar[]), CAST(%(types)b AS varchar[]))
            AS batch (event_id, event_type)
        ON CONFLICT DO NOTHING
        RETURNING event_id)"""
_RECORD_IN_INBOX = _INBOX_RECORDED + """
    SELECT count(*), CASE WHEN count(*) < %(n)s THEN array_agg(event_id) END FROM recorded"""
# A batch sent ahead (PipelinedBatches) runs its handlers before the inbox can answer: it takes every id as new, and
# this statement fails the transaction when one is not (a cast that cannot succeed, naming how many were seen before),
# so that batch is applied again the careful way.
_RECORD_ALL_NEW_IN_INBOX = _INBOX_RECORDED + """
    SELECT CASE WHEN count(*) < %(n)s THEN CAST(%(n)s - count(*) || ' of the events were applied before' AS integer)
    END FROM recorded"""


def rows_of(session: Session, sql: str, params: dict) -> list[tuple]:
    """The rows `sql` answers, on the session's connection, read through the driver's cursor: a handler of a
    pipelined consumer (PipelinedBatches) reads this way, since a statement's rows arrive only when the driver
    fetches them (it then waits for the statements sent before it)."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _readable(records: list[ConsumerRecord]) -> list[DomainEvent]:
    """The records that are readable events (the others go to the DLQ one at a time)."""
    events = []
    for record in records:
        try:
            events.append(DomainEvent.from_kafka(record.headers, record.key, record.value))
        except ValueError:
            pass
    return events


def _shared_request_id(events: list[DomainEvent]) -> str | None:
    """The request id of a batch handler's call: the one its events share, else none (it would name only some)."""
    ids = {event.request_id for event in events}
    return ids.pop() if len(ids) == 1 else None


class ConsumerRunner:
    def __init__(self, engine: Engine, name: str, handlers: dict[str, Handler],
                 consumer_factory: Callable[[], KafkaConsumer], producer_factory: Callable[[], KafkaProducer],
                 max_attempts: int = 3, max_backoff: float = 10.0, housekeeping: Callable[[], object] | None = None,
                 pipelined: bool = False):
        self.engine = engine
        # Each batch sent ahead (PipelinedBatches): only for handlers that write through the session's connection
        # (exec_driver_sql) and read through rows_of, as the analytics consumer's do.
        self.pipelined = pipelined
        # Run every retention.PURGE_EVERY by a consumer whose service has no relay to do it (glassbox.retention).
        self.housekeeping = housekeeping
        self.name = name  # the consumer group, and the inbox namespace
        self.handlers = handlers
        self.consumer_factory = consumer_factory
        self.producer_factory = producer_factory
        self.max_attempts = max_attempts
        self.max_backoff = max_backoff
        self._producer: KafkaProducer | None = None

    def _handler_of(self, event_type: str):
        return handler_of(self.handlers, event_type)

    def process_batch(self, records: list[ConsumerRecord]) -> None:
        try:
            self._apply_together(records)
            return
        except Exception as exc:
            if database_outage(exc):
                raise DatabaseOutage(f"{type(exc).__name__}: {exc}") from exc
            log.warning("%s: a batch of %d events failed as a whole (%s: %s); applying them one at a time",
                        self.name, len(records), type(exc).__name__, exc)
        try:
            with Session(self.engine) as session:
                lock_keys(session, self.name, self.handlers, _readable(records))
                for record in records:
                    self._apply(session, record)
                session.commit()
        except DatabaseOutage:
            raise
        except Exception as exc:
            if database_outage(exc):
                raise DatabaseOutage(f"{type(exc).__name__}: {exc}") from exc
            raise

    def _apply_together(self, records: list[ConsumerRecord]) -> None:
        """The whole batch in one transaction; raises (having written nothing) if any part of it fails."""
        events = _readable(records)
        if len(events) < len(records):
            raise ValueError("a record is not a readable event")  # for the one-at-a-time path's DLQ
        handled = self._handled(events)
        with Session(self.engine) as session:
            lock_keys(session, self.name, self.handlers, handled)
            fresh = self._first_seen(session, handled)
            if len(fresh) < len(handled):
                metrics.CONSUMER_DUPLICATES.labels(self.name).inc(len(handled) - len(fresh))
            self._handle(session, fresh)
            session.commit()
        self._count_applied(fresh)

    def _handled(self, events: list[DomainEvent]) -> list[DomainEvent]:
        """The events this consumer has a handler for (the others counted as ignored)."""
        handled = [event for event in events if self._handler_of(event.type) is not None]
        ignored = len(events) - len(handled)
        if ignored:  # a tolerant reader: other consumers' events and future types are not ours
            metrics.CONSUMER_PROCESSED.labels(self.name, "ignored").inc(ignored)
        return handled

    def _handle(self, session: Session, fresh: list[DomainEvent]) -> None:
        """The handlers of `fresh` (each new to the inbox), in the session's transaction: a batched handler gets all
        of its events in one call, after the others got theirs one at a time."""
        together: dict[BatchHandler, list[DomainEvent]] = {}
        for event in fresh:
            handler = self._handler_of(event.type)
            if _is_batched(handler):
                together.setdefault(handler, []).append(event)
            else:
                with logs.request_id_bound(event.request_id):  # its logs and the events it causes name it
                    handler(session, event)
        for handler, its_events in together.items():
            with logs.request_id_bound(_shared_request_id(its_events)):
                handler(session, its_events)

    def _count_applied(self, fresh: list[DomainEvent]) -> None:
        for event_type, count in Counter(event.type for event in fresh).items():
            metrics.CONSUMER_PROCESSED.labels(self.name, event_type).inc(count)
        if log.isEnabledFor(logging.DEBUG):  # LOG_LEVEL=DEBUG follows each request's events into the consumers
            for event in fresh:
                with logs.request_id_bound(event.request_id):
                    log.debug("%s: applied %s %s", self.name, event.type, event.id)

    def _first_seen(self, session: Session, events: Iterable[DomainEvent]) -> list[DomainEvent]:
        """Records the events' ids in the inbox; returns those not recorded before (the first of a repeated id)."""
        events = list(events)
        if not events:
            return []
        count, recorded = session.connection().exec_driver_sql(_RECORD_IN_INBOX, {
            "consumer": self.name, "ids": [event.id for event in events], "types": [event.type for event in events],
            "n": len(events)}).one()
        if count == len(events):  # every id new, and none twice in the batch (its second copy would not count)
            return events
        recorded = set(recorded or ())
        fresh = []
        for event in events:
            if event.id in recorded:
                recorded.discard(event.id)
                fresh.append(event)
        return fresh

    def _apply(self, session: Session, record: ConsumerRecord) -> None:
        try:
            event = DomainEvent.from_kafka(record.headers, record.key, record.value)
        except ValueError as exc:
            self._dead_letter(record, exc)
            return
        handler = self._handler_of(event.type)
        if handler is None:  # a tolerant reader: other consumers' events and future types are not ours
            metrics.CONSUMER_PROCESSED.labels(self.name, "ignored").inc()
            return
        with logs.request_id_bound(event.request_id):  # the failures and the dead letter are logged with it
            self._apply_event(session, record, event, handler)

    def _apply_event(self, session: Session, record: ConsumerRecord, event: DomainEvent, handler) -> None:
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
                    handler(session, [event]) if _is_batched(handler) else handler(session, event)
                metrics.CONSUMER_PROCESSED.labels(self.name, event.type).inc()
                log.debug("%s: applied %s %s", self.name, event.type, event.id)
                return
            except Exception as exc:
                if database_outage(exc):
                    raise DatabaseOutage(f"{type(exc).__name__}: {exc}") from exc
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

    def batches(self) -> "PipelinedBatches":
        """What applies this consumer's polled batches: each sent ahead if the consumer is pipelined, else each now."""
        return PipelinedBatches(self)

    def run(self, stop: threading.Event, poll_timeout_ms: int = 500) -> None:
        backoff = 0.5
        last_purged = 0.0
        while not stop.is_set():
            consumer = None
            batches = self.batches()
            try:
                consumer = self.consumer_factory()
                while not stop.is_set():
                    if self.housekeeping and time.monotonic() - last_purged > retention.PURGE_EVERY.total_seconds():
                        last_purged = time.monotonic()
                        self.housekeeping()
                    polled = consumer.poll(timeout_ms=poll_timeout_ms)
                    records = [record for batch in polled.values() for record in batch]
                    if records or batches.waiting:
                        with tracing.batch_span(f"{self.name} process", (record.headers for record in records)):
                            batches.apply(records)
                        consumer.commit(_offsets_applied(consumer, batches.held()))
                        self._observe_lag(consumer, polled)
                    backoff = 0.5
                if batches.waiting:  # stopping: the batch sent ahead is settled and committed, not redelivered
                    batches.apply([])
                    consumer.commit()
            except DatabaseOutage as exc:
                # Not the events' fault: the same batch again from the last committed offsets, for as long as it
                # takes (the partition waits; nothing goes to the DLQ).
                metrics.CONSUMER_DATABASE_OUTAGES.labels(self.name).inc()
                log.warning("%s: the database is unavailable (%s); retrying in %.1fs", self.name, exc, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            except Exception:
                # Uncommitted offsets are re-read from the last commit by a fresh consumer.
                log.exception("%s: consumer loop failed; restarting in %.1fs", self.name, backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                batches.close()
                if consumer is not None:
                    consumer.close(autocommit=False)
        if self._producer is not None:
            self._producer.close(timeout=5)

    def _observe_lag(self, consumer: KafkaConsumer, polled) -> None:
        try:
            # The high watermark each fetch response carries costs nothing; the broker is asked (a round trip per
            # batch, as much as the rest of a batch's overhead) only for a partition not fetched yet.
            ends = {tp: consumer.highwater(tp) for tp in polled}
            unknown = [tp for tp, end in ends.items() if end is None]
            if unknown:
                ends.update(consumer.end_offsets(unknown))
            for tp, end in ends.items():
                metrics.CONSUMER_LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(end - consumer.position(tp), 0))
        except Exception:
            log.debug("lag not observed", exc_info=True)


def _offsets_applied(consumer: KafkaConsumer, held: dict[TopicPartition, int]):
    """What to commit: every partition's position (None: what KafkaConsumer.commit() takes by default), except where a
    batch sent ahead is not applied yet: its first offset there."""
    if not held:
        return None
    return {tp: OffsetAndMetadata(held[tp] if tp in held else consumer.position(tp), "", -1)
            for tp in consumer.assignment()}


class PipelinedBatches:
    """Applies a consumer's polled batches in turn. A pipelined consumer's batch is sent ahead: its whole transaction
    (the per-key locks, the inbox, the handlers' statements, COMMIT) goes to PostgreSQL on one connection in
    psycopg's pipeline mode, without waiting for any answer, and executes there while the consumer polls and decodes
    the next batch (the Python that bounds a consumer's rate); it is settled (its answers awaited) just before the
    next one is sent, and only then are its offsets committed. Any other consumer's batch is applied at once
    (ConsumerRunner.process_batch).

    Sent ahead, the inbox cannot answer before the handlers run: every id is taken as new, and one that is not fails
    the transaction (_RECORD_ALL_NEW_IN_INBOX). A sent batch that fails for any reason (that, a poison event, a lost
    connection) is applied again by process_batch on a fresh connection: the inbox first, then one event at a time
    with the DLQ, or DatabaseOutage. Its statements' errors reach Python late (when their answers are read), so its
    connection is dropped rather than reused."""

    def __init__(self, runner: ConsumerRunner):
        self.runner = runner
        self._connection = None  # a SQLAlchemy Connection in pipeline mode
        self._pipeline = None  # its psycopg Pipeline
        self._mode: ExitStack | None = None  # leaves pipeline mode
        # the batch sent and not settled: its records, its handled events, its first offset in each partition
        self._sent: tuple[list[ConsumerRecord], list[DomainEvent], dict[TopicPartition, int]] | None = None

    @property
    def waiting(self) -> bool:
        """Whether a batch was sent and not settled yet."""
        return self._sent is not None

    def apply(self, records: list[ConsumerRecord]) -> list[ConsumerRecord]:
        """Sends `records` after settling the batch sent before; returns the records applied by now, in order."""
        if not self.runner.pipelined:
            if records:
                self.runner.process_batch(records)
            return records
        events = _readable(records)  # before settling: decoding is part of what the sent batch's execution hides
        applied = self._settle()
        if not records:
            return applied
        if len(events) == len(records) and self._send(records, self.runner._handled(events)):
            return applied
        self.runner.process_batch(records)  # an unreadable record (for the DLQ), or the batch failed to go out
        return applied + records

    def held(self) -> dict[TopicPartition, int]:
        """The first offset of each partition of the batch sent and not settled yet (none when applied at once)."""
        return self._sent[2] if self._sent else {}

    def close(self) -> None:
        """Forgets a batch sent and not settled (its offsets are not committed: it is redelivered) and closes."""
        self._sent = None
        self._drop()

    def _send(self, records: list[ConsumerRecord], handled: list[DomainEvent]) -> bool:
        try:
            connection = self._open()
            with Session(bind=connection) as session:  # joins the connection's transaction, never ends it
                lock_keys(session, self.runner.name, self.runner.handlers, handled)
                if handled:
                    connection.exec_driver_sql(_RECORD_ALL_NEW_IN_INBOX, {
                        "consumer": self.runner.name, "ids": [event.id for event in handled],
                        "types": [event.type for event in handled], "n": len(handled)})
                self.runner._handle(session, handled)
            connection.exec_driver_sql("COMMIT")  # queued like the rest; the next statement begins a new transaction
        except Exception as exc:
            self._drop()
            log.info("%s: a batch of %d events could not be sent ahead (%s: %s); applying it now",
                     self.runner.name, len(records), type(exc).__name__, exc)
            return False
        held: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            held[tp] = min(held.get(tp, record.offset), record.offset)
        self._sent = (records, handled, held)
        return True

    def _settle(self) -> list[ConsumerRecord]:
        if self._sent is None:
            return []
        (records, handled, _), self._sent = self._sent, None
        try:
            self._pipeline.sync()  # the batch's answers, COMMIT's last
        except Exception as exc:
            self._drop()
            log.info("%s: a batch of %d events sent ahead failed (%s: %s); applying it again",
                     self.runner.name, len(records), type(exc).__name__, exc)
            self.runner.process_batch(records)
            return records
        self.runner._count_applied(handled)
        return records

    def _open(self):
        if self._connection is None:
            connection = self.runner.engine.connect()
            # A SQLAlchemy transaction that stays open: the sessions join it; the driver's own transactions are
            # begun by psycopg and ended by the COMMIT statements the batches send.
            connection.begin()
            mode = ExitStack()
            self._pipeline = mode.enter_context(connection.connection.driver_connection.pipeline())
            self._connection, self._mode = connection, mode
        return self._connection

    def _drop(self) -> None:
        connection, mode = self._connection, self._mode
        self._connection = self._pipeline = self._mode = None
        if connection is None:
            return
        connection.invalidate()  # its socket closed at once: nothing waits for a failed or forgotten batch's answers
        try:
            mode.close()  # leaves pipeline mode: on a closed connection psycopg says so, which is expected here
        except Exception:
            pass
        connection.close()
