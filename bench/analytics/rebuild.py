"""Part 4, rebuild: `glassbox analytics rebuild` next to a bare consumer reading the same partitions."""
from __future__ import annotations

import json
import resource
import time
from pathlib import Path

from kafka import KafkaConsumer

from bench.analytics.topics import Broker
from bench.common import Cpu, glassbox_process


def run_rebuild(work: Path, env: dict, broker: Broker, pg_dir: Path | None) -> dict:
    """`glassbox analytics rebuild` as a subprocess; its own `seconds` (from its start to the last event applied)."""
    target = broker.total()
    cpu = Cpu(pg_dir, {})
    cpu.start()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    process = glassbox_process(work, "rebuild", ["analytics", "rebuild"], env)
    started = time.perf_counter()
    try:
        process.proc.wait(timeout=3600)
        wall = time.perf_counter() - started
        used = cpu.stop()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the rebuild process, reaped by the wait
        used = {"rebuild": after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime, **used}
    finally:
        process.stop()
    if process.proc.returncode != 0:
        raise RuntimeError(f"rebuild exited with {process.proc.returncode}:\n{process.log_tail()}")
    lines = [line for line in Path(process.log.name).read_text().splitlines() if line.startswith("{\"events\"")]
    if not lines:
        raise RuntimeError(f"rebuild printed no summary:\n{process.log_tail()}")
    summary = json.loads(lines[-1])
    if summary["events"] != target:
        raise RuntimeError(f"rebuild read {summary['events']} events, the topics hold {target}")
    return {"seconds": summary["seconds"], "rate": target / summary["seconds"], "wall": wall, "cpu": used,
            "events": target}


def run_rebuild_bare(bootstrap: str, broker: Broker, pg_dir: Path | None) -> dict:
    """A consumer of no group (the rebuild's settings) reading every partition from 0 to the current ends."""
    ends = broker.ends()
    cpu = Cpu(pg_dir, {})
    cpu.start()
    started = time.perf_counter()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             auto_offset_reset="earliest", max_poll_records=2000, client_id="glassbox-bench-bare")
    seen = 0
    try:
        consumer.assign(list(ends))
        consumer.seek_to_beginning()
        remaining = {tp for tp, end in ends.items() if end > 0}
        while remaining:
            polled = consumer.poll(timeout_ms=500)
            for tp, batch in polled.items():
                seen += sum(1 for record in batch if record.offset < ends[tp])
            done = [tp for tp in remaining if consumer.position(tp) >= ends[tp]]
            if done:
                consumer.pause(*done)
                remaining.difference_update(done)
        seconds = time.perf_counter() - started
    finally:
        consumer.close()
    used = cpu.stop()
    if seen != sum(ends.values()):
        raise RuntimeError(f"the bare reader read {seen} of {sum(ends.values())} records")
    return {"seconds": seconds, "rate": seen / seconds, "cpu": used, "events": seen}
