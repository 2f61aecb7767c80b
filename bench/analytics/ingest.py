"""Part 1, ingest: the analytics consumer, the kit's runner with a handler that does nothing, and a bare consumer,
each from the beginning of the same topics."""
from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.analytics.topics import GROUP, TOPICS, Broker
from bench.common import Cpu, glassbox_process
from glassbox.db import make_engine
from glassbox.inbox import ANY_TYPE, ConsumerRunner
from glassbox.kafka import make_consumer, make_producer
from services.analytics.models import READ_MODELS
from services.analytics.rebuild import truncate


def reset_read_models(url: str) -> None:
    engine = create_engine(url)
    try:
        truncate(engine)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            tables = ", ".join(m.__tablename__ for m in READ_MODELS)
            conn.execute(text(f"VACUUM ANALYZE {tables}, processed_events"))
    finally:
        engine.dispose()


def commits_timed(broker: Broker, group: str, target: int, alive) -> tuple[tuple[float, int] | None, float | None]:
    """((time, offsets) of the group's first commit, time of the commit reaching `target`), polling the broker every
    0.1 s while alive() (which may raise) and for an hour at most."""
    first = last = None
    deadline = time.monotonic() + 3600
    while time.monotonic() < deadline and alive():
        committed = broker.committed(group)
        now = time.perf_counter()
        if committed and first is None:
            first = (now, committed)
        if committed >= target:
            last = now
            break
        time.sleep(0.1)
    return first, last


def run_ingest_service(work: Path, env: dict, url: str, broker: Broker, n: int, pg_dir: Path | None) -> dict:
    """`glassbox consume analytics` from the beginning of the topics on empty read models; events/s from its first
    offset commit to the commit that reaches the ends."""
    reset_read_models(url)
    broker.reset_group(GROUP, to_end=False)
    target = broker.total()
    consumer = glassbox_process(work, "consumer", ["consume", "analytics"], env)
    cpu = Cpu(pg_dir, {"consumer": consumer})
    try:
        cpu.start()

        def alive() -> bool:
            if consumer.proc.poll() is not None:
                raise RuntimeError(f"the consumer exited with {consumer.proc.returncode}:\n{consumer.log_tail()}")
            return True

        first, last = commits_timed(broker, GROUP, target, alive)
        used = cpu.stop()
    finally:
        consumer.stop()
    if first is None or last is None or last <= first[0]:
        raise RuntimeError(f"the consumer did not get through {target} events (log: {consumer.log_tail()})")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            applied = conn.scalar(text("SELECT count(*) FROM processed_events WHERE consumer = :g"), {"g": GROUP})
            deals = conn.scalar(text("SELECT count(*) FROM deals"))
    finally:
        engine.dispose()
    if applied != n:
        raise RuntimeError(f"the consumer recorded {applied} events in its inbox, expected {n}")
    seconds = last - first[0]
    return {"rate": (target - first[1]) / seconds, "seconds": seconds, "events": target - first[1], "cpu": used,
            "deals": deals}


def run_ingest_kit(url: str, bootstrap: str, broker: Broker, name: str, pg_dir: Path | None) -> dict:
    """The kit's ConsumerRunner as `glassbox consume` builds it, with one handler that does nothing for every type
    (its inbox statement, transaction and offset commit per polled batch still run): what the runner itself allows,
    timed as the service."""
    target = broker.total()
    engine = make_engine(url, pool_size=2)
    runner = ConsumerRunner(engine, name, {ANY_TYPE: lambda session, event: None},
                            lambda: make_consumer(bootstrap, name, TOPICS), lambda: make_producer(bootstrap))
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    cpu = Cpu(pg_dir, {})
    first = last = None
    try:
        cpu.start()
        thread.start()
        first, last = commits_timed(broker, name, target, thread.is_alive)
        used = cpu.stop()
    finally:
        stop.set()
        thread.join(timeout=30)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM processed_events WHERE consumer = :c"), {"c": name})
        engine.dispose()
    if first is None or last is None or last <= first[0]:
        raise RuntimeError(f"the no-op runner did not get through {target} events")
    seconds = last - first[0]
    return {"rate": (target - first[1]) / seconds, "seconds": seconds, "events": target - first[1], "cpu": used}


def run_ingest_bare(bootstrap: str, broker: Broker, group: str, pg_dir: Path | None) -> dict:
    """A bare consumer (make_consumer, the same settings) polling the same topics, committing after each poll."""
    target = broker.total()
    consumer = make_consumer(bootstrap, group, TOPICS)
    cpu = Cpu(pg_dir, {})
    seen, first, touched = 0, None, 0
    try:
        cpu.start()
        deadline = time.monotonic() + 600
        while seen < target and time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=500)
            for batch in polled.values():
                for record in batch:
                    touched += len(record.value) + len(record.headers)
                seen += len(batch)
            if polled:
                consumer.commit()
                if first is None:
                    first = (time.perf_counter(), seen)
        last = time.perf_counter()
        used = cpu.stop()
    finally:
        consumer.close(autocommit=False)
    if seen < target or first is None:
        raise RuntimeError(f"the bare consumer read {seen} of {target} records")
    return {"rate": (seen - first[1]) / (last - first[0]), "seconds": last - first[0], "events": seen - first[1],
            "cpu": used}
