"""Rebuild the read models from scratch by replaying the topics (`glassbox analytics rebuild`).

1. Capture the end offset of every partition of the topics: the replay stops there.
2. In one transaction, empty the read models and forget the events the `analytics` consumer applied (its rows
   of processed_events). The exchange rates are not a read model and stay.
3. Read every partition from its first offset with a consumer of no group (assigned partitions, nothing
   committed, the `analytics` group's offsets untouched) and apply each record through the same runner as
   `glassbox consume analytics` (inbox, bulk writes per batch, DLQ), up to the captured ends; each batch
   executes in PostgreSQL while the next one is read (glassbox.inbox.PipelinedBatches).
4. Then the regular consumer continues from its own committed offsets: whatever it re-reads that the replay
   already applied is skipped by the inbox, which the replay filled under the same consumer name.

The regular consumer may keep running meanwhile: the read models are order-tolerant and each event is applied
once (the inbox), so an event it applies during the replay is simply not applied again by the replay.
A topic whose first offset is not 0 has lost events (retention): the replay refuses to run rather than
build different KPIs."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import nullcontext

from kafka import TopicPartition
from sqlalchemy import Engine, delete, text

from glassbox.inbox import ConsumerRunner
from glassbox.kafka import make_consumer, make_producer
from glassbox.models import ProcessedEvent
from services.analytics import consumers
from services.analytics.models import READ_MODELS

log = logging.getLogger(__name__)


class RebuildError(RuntimeError):
    pass


def truncate(engine: Engine, group: str = consumers.GROUP) -> None:
    tables = ", ".join(model.__tablename__ for model in READ_MODELS)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables}"))
        conn.execute(delete(ProcessedEvent).where(ProcessedEvent.consumer == group))


def rebuild(engine: Engine, bootstrap: str, topics=consumers.TOPICS, handlers=None, group: str = consumers.GROUP,
            stop: threading.Event | None = None, poll_timeout_ms: int = 500, progress=None) -> dict:
    """Returns {"events": records read, "partitions": n, "seconds": s}. `progress(total)`, when given, is a context
    manager of a counter (glassbox.progress.counting) told each batch replayed of the `total` events to replay."""
    started = time.monotonic()
    producers = []  # for the DLQ, made only if a record needs it

    def producer():
        producers.append(make_producer(bootstrap))
        return producers[-1]

    consumer = make_consumer(bootstrap, None, max_poll_records=2000, client_id=f"glassbox-{group}-rebuild")
    batches = None
    try:
        partitions = []
        for topic in topics:
            found = consumer.partitions_for_topic(topic)
            if not found:
                raise RebuildError(f"topic {topic} does not exist")
            partitions += [TopicPartition(topic, partition) for partition in sorted(found)]
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        lost = sorted(f"{tp.topic}[{tp.partition}] starts at {offset}" for tp, offset in starts.items() if offset)
        if lost:
            raise RebuildError("events were deleted from the topics (" + "; ".join(lost) + "): a replay would not "
                               "give the same KPIs")
        truncate(engine, group)
        consumer.assign(partitions)
        consumer.seek_to_beginning()
        runner = ConsumerRunner(engine, group, handlers or consumers.HANDLERS, consumer_factory=lambda: consumer,
                                producer_factory=producer, pipelined=consumers.PIPELINED if handlers is None else False)
        batches = runner.batches()
        remaining = {tp for tp in partitions if ends[tp] > 0}
        consumer.pause(*[tp for tp in partitions if tp not in remaining])
        read = 0
        total = sum(ends[tp] - starts[tp] for tp in partitions)
        with progress(total) if progress else nullcontext() as counter:
            while remaining or batches.waiting:
                if stop is not None and stop.is_set():
                    raise RebuildError("stopped before the end of the replay; run it again")
                polled = consumer.poll(timeout_ms=poll_timeout_ms) if remaining else {}
                records = [record for tp, batch in polled.items() for record in batch if record.offset < ends[tp]]
                applied = batches.apply(records)  # each batch executes while the next one is read (if pipelined)
                read += len(applied)
                if counter is not None and applied:
                    counter.advance(len(applied))
                done = [tp for tp in remaining if consumer.position(tp) >= ends[tp]]
                if done:
                    consumer.pause(*done)
                    remaining.difference_update(done)
        seconds = round(time.monotonic() - started, 3)
        log.info("analytics rebuilt from %d events of %d partitions in %.1fs", read, len(partitions), seconds)
        return {"events": read, "partitions": len(partitions), "seconds": seconds}
    finally:
        if batches is not None:
            batches.close()
        consumer.close()
        for made in producers:
            made.close(timeout=5)
