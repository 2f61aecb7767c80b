"""The outbox relay: publishes committed outbox rows to Kafka in commit order, then marks them sent.

At-least-once by design: a crash after the broker's ack and before the mark re-sends those rows, and
consumers absorb the duplicate by event id. One relay per service is active at a time (a PostgreSQL
advisory lock); a second one waits as a hot standby.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterable

from kafka import KafkaProducer
from sqlalchemy import BigInteger, Engine, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY

from psycopg.types.json import Jsonb
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from glassbox import metrics, retention
from glassbox.db import copy_rows
from glassbox.events import DomainEvent, envelope, to_jsonable
from glassbox.models import OutboxMessage

log = logging.getLogger(__name__)


_OUTBOX = OutboxMessage.__table__
# Core, not ORM objects: the relay only reads columns and marks positions, thousands at a time.
_UNSENT = (select(_OUTBOX.c.position, _OUTBOX.c.id, _OUTBOX.c.topic, _OUTBOX.c.key, _OUTBOX.c.type,
                  _OUTBOX.c.source, _OUTBOX.c.time, _OUTBOX.c.payload, _OUTBOX.c.request_id)
           .where(_OUTBOX.c.sent_at.is_(None)).order_by(_OUTBOX.c.position))
_MARK_SENT = (update(_OUTBOX).where(_OUTBOX.c.position == any_(bindparam("positions", type_=ARRAY(BigInteger))))
              .values(sent_at=func.now()))


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


class OutboxRelay:
    def __init__(self, engine: Engine, service: str, producer_factory: Callable[[], KafkaProducer],
                 batch_size: int = 5000, idle_sleep: float = 0.1, max_backoff: float = 30.0):
        self.engine = engine
        self.service = service
        self.producer_factory = producer_factory
        self.batch_size = batch_size
        self.idle_sleep = idle_sleep
        self.max_backoff = max_backoff
        self._producer: KafkaProducer | None = None
        self._backoff = 0.5  # doubles on each failure up to max_backoff, resets on success

    # -- one batch ---------------------------------------------------------------------------------
    def publish_batch(self) -> int:
        """Publish up to batch_size unsent rows and mark them sent; returns how many. Raises on broker errors
        (nothing is marked then, so the same rows go again on the next try)."""
        with self.engine.connect() as conn:
            rows = conn.execute(_UNSENT.limit(self.batch_size)).all()
            if not rows:
                return 0
            started = time.perf_counter()
            self._publish(rows)
            metrics.OUTBOX_PUBLISH_LATENCY.labels(self.service).observe(time.perf_counter() - started)
            self._mark_sent(conn, [row.position for row in rows])
            metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
            return len(rows)

    def _publish(self, rows) -> None:
        producer = self.producer()
        futures = []
        for row in rows:
            # The payload came out of JSONB: it is in wire form already.
            message = envelope(row.id, row.type, row.source, row.key, row.time, row.payload, row.request_id)
            futures.append(producer.send(row.topic, key=message.key, value=message.value,
                                         headers=list(message.headers.items())))
        producer.flush()
        for future in futures:
            future.get(timeout=0)  # re-raises the broker's error for any message not acknowledged

    def _mark_sent(self, conn, positions: list[int]) -> None:
        conn.execute(_MARK_SENT, {"positions": positions})
        conn.commit()

    def producer(self) -> KafkaProducer:
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:
                log.debug("closing a failed producer", exc_info=True)
            self._producer = None

    def observe_backlog(self) -> None:
        with self.engine.connect() as conn:
            count, oldest = conn.execute(
                select(func.count(), func.min(_OUTBOX.c.created_at)).where(_OUTBOX.c.sent_at.is_(None))
            ).one()
        metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
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
            sent = self.publish_batch()
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
