"""The outbox relay: publishes committed outbox rows to Kafka in commit order, then marks them sent.

At-least-once by design: a crash after the broker's ack and before the mark re-sends those rows, and
consumers absorb the duplicate by event id. One relay per service is active at a time (a PostgreSQL
advisory lock); a second one waits as a hot standby.

A row the broker (or the producer, before sending) refuses for good is parked: marked with its error and time,
counted, logged, and never sent; the rows behind it go on. Every other error is retried with backoff.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from kafka import KafkaProducer
from kafka import errors as kafka_errors
from sqlalchemy import BigInteger, Engine, Text, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from psycopg.types.json import Jsonb
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from glassbox import metrics, retention
from glassbox.db import copy_rows
from glassbox.events import DomainEvent, record, to_jsonable
from glassbox.models import OutboxMessage

log = logging.getLogger(__name__)


_OUTBOX = OutboxMessage.__table__
# Core, not ORM objects: the relay only reads columns and marks positions, thousands at a time.
# The payload as its JSON text: the record's value as it is, not decoded to a dict to be encoded again.
_UNSENT = (select(_OUTBOX.c.position, _OUTBOX.c.id, _OUTBOX.c.topic, _OUTBOX.c.key, _OUTBOX.c.type,
                  _OUTBOX.c.source, _OUTBOX.c.time, _OUTBOX.c.payload.cast(Text).label("payload"),
                  _OUTBOX.c.request_id)
           .where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.parked_at.is_(None)).order_by(_OUTBOX.c.position))
_MARK_SENT = (update(_OUTBOX).where(_OUTBOX.c.position == any_(bindparam("positions", type_=ARRAY(BigInteger))))
              .values(sent_at=func.now()))
_PARK = (update(_OUTBOX).where(_OUTBOX.c.position == bindparam("row_position"))
         .values(parked_at=func.now(), parked_error=bindparam("error")))

# The record's own fault: it would be refused again however often it is sent (too large for max_request_size or
# the broker's message.max.bytes, an invalid topic, a record the broker cannot store), and what fails to become a
# record at all (TypeError, ValueError: serialization, kafka-python's check of the topic's name). Every other error
# is retried: the retriable ones (broker down, leader moving, timeouts) and the non-retriable ones that concern the
# producer or the cluster, not the row (authorization, an unsupported version, the idempotent sequence): fixing
# the broker or the configuration resumes publication, and no row is set aside for what is not its fault.
REFUSED_FOR_GOOD = (kafka_errors.MessageSizeTooLargeError, kafka_errors.RecordListTooLargeError,
                    kafka_errors.InvalidTopicError, kafka_errors.CorruptRecordError, kafka_errors.InvalidRecordError,
                    kafka_errors.InvalidTimestampError, kafka_errors.UnsupportedForMessageFormatError,
                    TypeError, ValueError)


# How long a batch's records may take to be settled (acknowledged or failed): longer than the producer's delivery
# timeout (glassbox.kafka), which should settle every one of them before.
DELIVERY_WAIT = 40.0


def refused_for_good(error: BaseException) -> bool:
    return isinstance(error, REFUSED_FOR_GOOD)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]


_WRITTEN_COLUMNS = ("id", "topic", "key", "type", "source", "time", "payload")


def write_events(target: Session | Connection, events: Iterable[DomainEvent], topic: str) -> int:
    """The bulk path into the outbox: the rows `OutboxMessage.from_event` would add, written with one COPY in the
    transaction of `target`, in the order given. For thousands of events in one change (an import)."""
    events = list(events)
    # The request id column only when there is one: a revision older than that column writes events too.
    with_request_id = any(event.request_id for event in events)
    columns = _WRITTEN_COLUMNS + (("request_id",) if with_request_id else ())
    rows = ([event.id, topic, event.subject, event.type, event.source, event.time, Jsonb(to_jsonable(event.data)),
             *((event.request_id,) if with_request_id else ())] for event in events)
    return copy_rows(target, OutboxMessage.__tablename__, columns, rows)


class _Batch:
    """Rows sent together, with their futures, until their acks are settled."""

    def __init__(self, rows, started: float):
        self.rows = rows
        self.started = started
        self.deadline = 0.0  # by then each record must be settled (DELIVERY_WAIT after sending)
        self.futures: list = []
        self.refused: dict[int, str] = {}  # position -> error, for rows refused before sending
        self.settled = False


class OutboxRelay:
    def __init__(self, engine: Engine, service: str, producer_factory: Callable[[], KafkaProducer],
                 batch_size: int = 5000, idle_sleep: float = 0.1, max_backoff: float = 10.0):
        self.engine = engine
        self.service = service
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.max_backoff = max_backoff
        self._producer: KafkaProducer | None = None
        self._in_flight: _Batch | None = None  # sent, its acks not yet settled (publish_pipelined)
        self._backoff = 0.5  # doubles on each failure up to max_backoff, resets on success

    # -- one batch ----------------------------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish up to batch_size unsent rows and mark them sent, parking those refused for good; returns how
        many were handled. Raises on any other broker error (nothing is marked then, so the same rows go again on
        the next try)."""
        self._settle_in_flight()
        with self.engine.connect() as conn:
            batch = self._send_next(conn, after=None)
            if batch is None:
                return 0
            self._settle(conn, batch)
            return len(batch.rows)

    def publish_pipelined(self) -> int:
        """One step of the relay's loop: while a full batch is still waiting for its acks, the next one is selected
        and sent, then the waiting one is settled (acks, parking, marked sent, commit), so the producer never
        idles during an ack round trip. Returns how many rows this step sent (0: nothing left to send and nothing
        in flight). A batch is marked only after all of its acks, batches in order; on any error the batches in
        flight are forgotten unmarked and go again (at-least-once, as publish_batch)."""
        waiting, self._in_flight = self._in_flight, None
        with self.engine.connect() as conn:
            # Behind a full batch more may wait: pipeline. Otherwise settle first and select from the start, so a
            # row committed late with a lower position is not passed over.
            if waiting is not None and len(waiting.rows) < self.batch_size:
                self._settle(conn, waiting)
                waiting = None
            batch = self._send_next(conn, after=waiting.rows[-1].position if waiting is not None else None)
            sent = len(batch.rows) if batch is not None else 0
            if waiting is not None:
                self._settle(conn, waiting, behind=batch)
            if batch is not None and not batch.settled:  # else settled with the one before it (a refusal)
                self._in_flight = batch
            return sent

    def _settle_in_flight(self) -> None:
        waiting, self._in_flight = self._in_flight, None
        if waiting is not None:
            with self.engine.connect() as conn:
                self._settle(conn, waiting)

    def _send_next(self, conn, after: int | None) -> "_Batch | None":
        query = _UNSENT if after is None else _UNSENT.where(_OUTBOX.c.position > after)
        rows = conn.execute(query.limit(self.batch_size)).all()
        conn.commit()  # no snapshot held while the acks come
        if not rows:
            return None
        return self._send_rows(rows)

    def _send_rows(self, rows) -> "_Batch":
        """Sends the rows without waiting; a row refused before sending (too large for the producer, not
        serializable) is noted as refused. Raises any other error (nothing is marked then)."""
        producer = self.producer()
        batch = _Batch(rows, time.perf_counter())
        for row in rows:
            try:
                batch.futures.append((row, self._send(producer, row)))
            except Exception as exc:
                if not refused_for_good(exc):
                    raise
                batch.refused[row.position] = _describe(exc)
        batch.deadline = time.monotonic() + DELIVERY_WAIT
        return batch

    def _settle(self, conn, batch: "_Batch", behind: "_Batch | None" = None) -> None:
        """Waits for every ack of the batch, then parks its refused rows and marks the others sent, and commits.
        After a refusal by the broker the batch sent behind it (if any) is settled with it, in order: the
        refusal may have aborted its records too, and those go again one at a time as the batch's own do."""
        turned_away = [row for row, future in batch.futures if self._refusal(future, batch.deadline) is not None]
        together = [batch]
        if turned_away and behind is not None:
            together.append(behind)
            self._flush(behind.futures)
            turned_away += [row for row, future in behind.futures if self._refusal(future, behind.deadline) is not None]
        refused = {position: error for each in together for position, error in each.refused.items()}
        if turned_away:
            refused.update(self._send_alone(turned_away))
        rows = [row for each in together for row in each.rows]
        metrics.OUTBOX_PUBLISH_LATENCY.labels(self.service).observe(time.perf_counter() - batch.started)
        if refused:
            self._park(conn, rows, refused)
        sent = [row.position for row in rows if row.position not in refused]
        self._mark_sent(conn, sent)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(sent))
        for each in together:
            each.settled = True

    def _flush(self, futures) -> None:
        try:
            self.producer().flush(timeout=DELIVERY_WAIT)
        except kafka_errors.KafkaTimeoutError:
            # A batch neither acknowledged nor expired in time: kafka-python can leave one retrying forever after
            # the broker went away mid-send. Raise, so the producer is rebuilt and the rows go again.
            raise
        except kafka_errors.KafkaError:
            # kafka-python's flush gives up on a batch it split after a too-large refusal; the records' own
            # futures still say what became of each.
            log.debug("flush of %d records failed; waiting on each", len(futures), exc_info=True)

    @staticmethod
    def _send(producer: KafkaProducer, row):
        # The payload came out of JSONB as its JSON text: it is the value as it is.
        key, value, headers = record(row.id, row.type, row.source, row.key, row.time, row.payload, row.request_id)
        return producer.send(row.topic, key=key, value=value, headers=headers)

    @staticmethod
    def _refusal(future, deadline: float) -> str | None:
        """None once the broker has acknowledged the record, its error when refused for good; raises any other
        (KafkaTimeoutError for a record still unsettled at the deadline)."""
        try:
            # Re-raises the broker's error for a record not acknowledged; waits only for what flush did not settle.
            future.get(timeout=max(deadline - time.monotonic(), 0))
            return None
        except Exception as exc:
            if not refused_for_good(exc):
                raise
            return _describe(exc)

    def _send_alone(self, rows) -> dict[int, str]:
        """A refusal by the broker takes its neighbours with it (the idempotent producer aborts every batch in
        flight with the same error): each such row goes again on its own, in order, with a fresh producer after
        a refusal; only those refused again are refused for good."""
        refused = {}
        self._drop_producer()  # after a refusal the producer's sequence for that partition is spoiled
        for row in rows:
            error = self._refusal(self._send(self.producer(), row), time.monotonic() + DELIVERY_WAIT)
            if error is not None:
                refused[row.position] = error
                self._drop_producer()
        return refused

    def _park(self, conn, rows, refused: dict[int, str]) -> None:
        conn.execute(_PARK, [{"row_position": position, "error": error} for position, error in refused.items()])
        for row in rows:
            if row.position in refused:
                log.error("relay for %s parked event %s (%s, %s): %s", self.service, row.id, row.type, row.topic,
                          refused[row.position])
        metrics.OUTBOX_PARKED.labels(self.service).inc(len(refused))

    def _mark_sent(self, conn, positions: list[int]) -> None:
        if positions:
            conn.execute(_MARK_SENT, {"positions": positions})
        conn.commit()

    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        self._in_flight = None  # unmarked: it goes again with the next producer
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:
                log.debug("closing a failed producer", exc_info=True)
            self._producer = None

    def observe_backlog(self) -> None:
        with self.engine.connect() as conn:
            count, oldest, parked = conn.execute(
                select(func.count().filter(_OUTBOX.c.parked_at.is_(None)),
                       func.min(_OUTBOX.c.created_at).filter(_OUTBOX.c.parked_at.is_(None)),
                       func.count(_OUTBOX.c.parked_at)).where(_OUTBOX.c.sent_at.is_(None))
            ).one()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        metrics.OUTBOX_PARKED_ROWS.labels(self.service).set(parked)
        age = (datetime.now(timezone.utc) - oldest).total_seconds() if oldest else 0
        metrics.OUTBOX_OLDEST_AGE.labels(self.service).set(age)

    def _heartbeat(self) -> None:
        metrics.OUTBOX_RELAY_HEARTBEAT.labels(self.service).set(time.time())

    def housekeeping(self) -> dict[str, int]:
        """The service's database loses what is kept only for a while (sent rows among them: glassbox.retention)."""
        return retention.purge(self.engine, self.service)

    # -- the loop ----------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        lock_name = f"glassbox-outbox-relay:{self.service}"
        active = metrics.OUTBOX_RELAY_ACTIVE.labels(self.service)
        while not stop.is_set():
            self._heartbeat()
            try:
                with self.engine.connect() as lock_conn:
                    if not lock_conn.scalar(text("select pg_try_advisory_lock(hashtext(:n))"), {"n": lock_name}):
                        log.info("another relay holds the lock for %s; standing by", self.service)
                        lock_conn.rollback()
                        stop.wait(2.0)
                        continue
                    lock_conn.commit()
                    log.info("relay for %s is active", self.service)
                    active.set(1)
                    try:
                        self._run_locked(stop, lock_conn)
                    finally:
                        active.set(0)
                        lock_conn.invalidate()  # closing the session releases the lock, whatever happened
            except Exception:
                metrics.OUTBOX_ERRORS.labels(self.service).inc()
                log.exception("relay for %s failed; retrying in %.1fs", self.service, self._backoff)
                self._drop_producer()
                stop.wait(self._backoff)
                self._backoff = min(self._backoff * 2, self.max_backoff)
        self._drop_producer()

    def _run_locked(self, stop: threading.Event, lock_conn) -> None:
        last_observed = last_purged = 0.0
        while not stop.is_set():
            sent = self.publish_pipelined()
            self._backoff = 0.5
            now = time.monotonic()
            if now - last_observed > 1.0:
                lock_conn.execute(text("select 1"))  # lost connection = lost lock: stop and re-acquire
                lock_conn.commit()
                self.observe_backlog()
                self._heartbeat()
                last_observed = now
            if now - last_purged > retention.PURGE_EVERY.total_seconds():
                self.housekeeping()
                last_purged = now
            if sent == 0:
                stop.wait(self.idle_sleep)
        self._settle_in_flight()  # stopping: what the broker acknowledged is marked, not sent again


# -- parked rows: look, and send again after the fix (`glassbox outbox parked|retry`) ------------------------------

def parked_rows(engine: Engine) -> list[dict]:
    """The parked rows, oldest first: what and where they were for, when and why they were parked, their size."""
    with engine.connect() as conn:
        rows = conn.execute(select(_OUTBOX.c.id, _OUTBOX.c.type, _OUTBOX.c.topic, _OUTBOX.c.created_at,
                                   _OUTBOX.c.parked_at, _OUTBOX.c.parked_error,
                                   func.octet_length(_OUTBOX.c.payload.cast(Text)).label("bytes"))
                            .where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.parked_at.is_not(None))
                            .order_by(_OUTBOX.c.position))
        return [dict(row._mapping) for row in rows]


def unpark(engine: Engine, ids: Iterable[str] | None = None) -> list[str]:
    """Hand parked rows back to the relay (all of them when `ids` is None); returns the ids handed back. The relay
    publishes them with its next batch; one refused again is parked again."""
    statement = (update(_OUTBOX).where(_OUTBOX.c.sent_at.is_(None), _OUTBOX.c.parked_at.is_not(None))
                 .values(parked_at=None, parked_error=None).returning(_OUTBOX.c.id))
    if ids is not None:
        statement = statement.where(_OUTBOX.c.id.in_(list(ids)))
    with engine.begin() as conn:
        return list(conn.scalars(statement))
