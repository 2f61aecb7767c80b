"""Outbox relay throughput against a bare kafka-python producer, side by side in one run.

Fills the clients outbox with N `crm.client.created.v1` rows, times `OutboxRelay.publish_pipelined()`, the
step of the relay's loop, until the outbox is empty (select, build the CloudEvents, send, and the batch before
it: wait for its acks, mark sent), and
times a bare producer with the same settings (`glassbox.kafka.make_producer`: acks=all, idempotent)
sending the same N pre-built records (same key, value and headers) to a second topic with one flush
at the end. Rounds alternate bare and relay runs; each relay batch size is measured every round.

    .venv/bin/python -m bench.relay_bench [--events 50000] [--batch-sizes 1000,5000] [--rounds 3]

Goals: relay >= 5,000 events/s and relay/bare >= 0.7 at a batch of 1,000.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, insert, select, text

from bench import common
from bench.common import BARE_TOPIC, crc32c_implementation, ensure_bare_topic
from glassbox.db import make_engine
from glassbox.events import DomainEvent
from glassbox.kafka import DEFAULT_PARTITIONS, ensure_topics, make_producer
from glassbox.models import OutboxMessage
from glassbox.outbox import OutboxRelay
from services.clients.events import CLIENT_CREATED, SOURCE, TOPIC

GOAL_RATE = 5_000
GOAL_RATIO = 0.7
INDUSTRIES = ("Wholesale", "Manufacturing", "Retail", "Logistics", "IT services", "Construction")
REGIONS = ("North-West", "Central", "Volga", "Urals", "Siberia", "South")
CHANNELS = ("exhibition", "website", "cold_call", "referral", "webinar")


# -- data ----------------------------------------------------------------------------------------------

def make_events(n: int) -> list[DomainEvent]:
    """client.created events whose payload is a client snapshot like services.clients.events makes
    (every CLIENT_FIELDS key, ids, times; ~600 bytes of JSON)."""
    owners = [uuid.uuid4() for _ in range(20)]
    campaigns = [uuid.uuid4() for _ in range(10)]
    base = datetime.now(timezone.utc) - timedelta(days=1)
    events = []
    for i in range(n):
        client_id = uuid.uuid4()
        owner = owners[i % len(owners)]
        created = base + timedelta(milliseconds=i)
        data = {
            "client_id": client_id, "name": f"Northwind {i:06d} LLC", "kind": "company",
            "tax_id": f"77{i:08d}", "industry": INDUSTRIES[i % len(INDUSTRIES)], "region": REGIONS[i % len(REGIONS)],
            "address": f"{i % 200 + 1} Harbour St, St Petersburg",
            "phone": f"+7 812 555-{i % 100:02d}-{i % 97:02d}", "email": f"office{i:06d}@northwind.example",
            "website": f"https://northwind{i:06d}.example", "source_channel": CHANNELS[i % len(CHANNELS)],
            "campaign_id": campaigns[i % len(campaigns)] if i % 3 == 0 else None, "rating": "ABCD"[i % 4], "status": "prospect",
            "owner_id": owner, "notes": None, "created_at": created, "updated_at": created, "archived_at": None,
            "actor_id": str(owner),
        }
        events.append(DomainEvent(type=CLIENT_CREATED, source=SOURCE, subject=str(client_id), data=data,
                                  time=created))
    return events


OUTBOX_COLUMNS = ("id", "topic", "key", "type", "source", "time", "payload")


def fill_outbox(engine, events: list[DomainEvent], chunk: int = 5000) -> float:
    """Empty the outbox, insert one OutboxMessage.from_event row per event, VACUUM ANALYZE (the state
    autovacuum leaves a table in); returns the seconds it took (not part of any figure)."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE outbox_messages RESTART IDENTITY"))
        for offset in range(0, len(events), chunk):
            rows = []
            for event in events[offset:offset + chunk]:
                message = OutboxMessage.from_event(event, TOPIC)
                rows.append({name: getattr(message, name) for name in OUTBOX_COLUMNS})
            conn.execute(insert(OutboxMessage), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE outbox_messages"))
    return time.perf_counter() - started


def unsent(engine) -> int:
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.sent_at.is_(None)))


# -- kafka ---------------------------------------------------------------------------------------------

def end_offsets(bootstrap: str, topic: str) -> int:
    """Sum of the topic's end offsets: how many records it holds (used to check every send landed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="glassbox-bench", enable_auto_commit=False)
    try:
        deadline = time.monotonic() + 15
        partitions = consumer.partitions_for_topic(topic)
        while not partitions and time.monotonic() < deadline:
            time.sleep(0.2)
            partitions = consumer.partitions_for_topic(topic)
        offsets = consumer.end_offsets([TopicPartition(topic, p) for p in sorted(partitions or ())])
        return sum(offsets.values())
    finally:
        consumer.close()


# -- the two runs --------------------------------------------------------------------------------------

def run_relay(engine, bootstrap: str, n: int, batch_size: int, profiler=None) -> dict:
    relay = OutboxRelay(engine, "clients", lambda: make_producer(bootstrap), batch_size=batch_size)
    relay.producer()  # connect outside the timing, as the bare producer does
    before = end_offsets(bootstrap, TOPIC)
    published, batches = 0, 0
    try:
        if profiler:
            profiler.start()
        started = time.perf_counter()
        for _ in range(math.ceil(n / batch_size) + 5):  # bounded: the outbox holds n rows
            sent = relay.publish_pipelined()
            if sent == 0:
                break
            published += sent
            batches += 1
        elapsed = time.perf_counter() - started
        if profiler:
            profiler.stop()
    finally:
        relay._drop_producer()
    left = unsent(engine)
    landed = end_offsets(bootstrap, TOPIC) - before
    if published != n or left != 0 or landed != n:
        raise RuntimeError(f"relay run incomplete: published {published}, left unsent {left}, "
                           f"records on {TOPIC} {landed}, expected {n}")
    return {"seconds": elapsed, "rate": n / elapsed, "batches": batches}


def run_bare(bootstrap: str, records: list[tuple[bytes, bytes, list]]) -> dict:
    producer = make_producer(bootstrap)
    before = end_offsets(bootstrap, BARE_TOPIC)
    try:
        started = time.perf_counter()
        futures = [producer.send(BARE_TOPIC, key=key, value=value, headers=headers)
                   for key, value, headers in records]
        producer.flush()
        for future in futures:
            future.get(timeout=0)  # as the relay does: any unacknowledged record raises
        elapsed = time.perf_counter() - started
    finally:
        producer.close(timeout=5)
    landed = end_offsets(bootstrap, BARE_TOPIC) - before
    if landed != len(records):
        raise RuntimeError(f"bare run incomplete: {landed} records on {BARE_TOPIC}, expected {len(records)}")
    return {"seconds": elapsed, "rate": len(records) / elapsed}


# -- report --------------------------------------------------------------------------------------------

def report(args, results: dict, facts: dict, payload_bytes: float, record_bytes: float, crc32c: str) -> str:
    bare = results["bare"]
    lines = [
        "## Outbox relay vs bare producer (`bench/relay_bench.py`)",
        "",
        f"Run {common.now_utc()}: `{common.command_line('relay_bench')}`",
        "",
        f"{args.events:,} `crm.client.created.v1` outbox rows for `{TOPIC}` (client-snapshot payload, "
        f"~{payload_bytes:.0f} B of JSON; Kafka value ~{record_bytes:.0f} B plus 7 `ce_*`/content-type headers), "
        f"{args.rounds} rounds. **Relay**: `OutboxRelay.publish_pipelined()`, the step of the relay's loop, until "
        "the outbox is empty (select the next batch, its payload as JSON text, CloudEvents envelope, send; then "
        "the batch sent before it: its acks, mark sent, commit), its producer connected beforehand. "
        "**Bare**: `make_producer()` (acks=all, idempotent, the same settings) sending the same records, "
        "pre-built with `DomainEvent.to_kafka()`, to another topic with the same partition count, one flush "
        "at the end. Rate = events / wall time. Ratio = relay / bare of the same round; the table shows the "
        "medians over the rounds, the per-round figures are below it. Each run is checked: every row marked "
        "sent, and the topic's end offsets grew by exactly N.",
        "",
        f"| run | events/s (median) | relay / bare (median of rounds) | goal: >= {GOAL_RATE:,}/s and >= {GOAL_RATIO} |",
        "|---|---:|---:|---|",
        f"| bare kafka-python producer | {common.median([r['rate'] for r in bare]):,.0f} | 1.00 | |",
    ]
    per_round = ["- bare: " + ", ".join(f"{r['rate']:,.0f}/s" for r in bare)]
    for batch_size in args.batch_sizes:
        runs = results[batch_size]
        rates = [r["rate"] for r in runs]
        ratios = [r["rate"] / b["rate"] for r, b in zip(runs, bare)]
        rate, ratio = common.median(rates), common.median(ratios)
        missed = [what for what, bad in (("rate", rate < GOAL_RATE), ("ratio", ratio < GOAL_RATIO)) if bad]
        met = f"**missed** ({' and '.join(missed)})" if missed else "met"
        label = f"relay (kit), batch_size={batch_size:,}"
        lines.append(f"| {label} | {rate:,.0f} | {ratio:.2f} | {met} |")
        per_round.append(f"- {label}: " + ", ".join(f"{r['rate']:,.0f}/s ({q:.2f})" for r, q in zip(runs, ratios)))
    lines += ["", f"kafka-python computed the record-batch CRC-32C checksums in {crc32c}. Load average at the end "
              f"(a shared machine): {common.load_average()}."]
    lines += ["", "Per round (events/s, and the ratio to that round's bare run):", *per_round,
              *common.facts_block(facts)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch-sizes", default="1000,5000", help="relay batch sizes, comma separated")
    parser.add_argument("--rounds", type=int, default=3, help="bare + every relay batch size, per round")
    parser.add_argument("--profile", action="store_true",
                        help="after the rounds, profile one relay run with pyinstrument (pip install it first)")
    parser.add_argument("--no-docs", action="store_true", help="print the section, do not write docs/benchmarks.md")
    args = parser.parse_args(argv)
    args.batch_sizes = [int(x) for x in args.batch_sizes.split(",") if x.strip()]
    if args.events < 1 or args.rounds < 1 or not args.batch_sizes or min(args.batch_sizes) < 1:
        parser.error("--events, --rounds and the batch sizes must be positive")
    profiler = None
    if args.profile:
        try:
            from pyinstrument import Profiler
        except ImportError:
            parser.error("--profile needs pyinstrument: .venv/bin/pip install pyinstrument (not a project dependency)")
        profiler = Profiler(interval=0.0005)
    common.exit_cleanly_on_sigterm()

    events = make_events(args.events)
    messages = [event.to_kafka() for event in events]
    records = [(m.key, m.value, list(m.headers.items())) for m in messages]
    payload_bytes = sum(len(json.dumps(OutboxMessage.from_event(e, TOPIC).payload)) for e in events[:1000]) / min(1000, len(events))
    record_bytes = sum(len(v) for _, v, _ in records) / len(records)

    with common.workdir("glassbox-bench-relay-") as work, \
            common.clients_database(work) as (url, db_facts), common.kafka_broker(work) as (bootstrap, kafka_facts):
        ensure_topics(bootstrap, topics=(TOPIC,))
        ensure_bare_topic(bootstrap)
        engine = make_engine(url, pool_size=2)
        try:
            if unsent(engine):
                raise SystemExit("the clients outbox has unsent rows; point CLIENTS_DATABASE_URL at a scratch database")
            runs = list(args.batch_sizes)
            results: dict = {"bare": [], **{batch_size: [] for batch_size in runs}}
            for round_no in range(1, args.rounds + 1):
                # Alternate who goes first, so a slow spell of the box does not always hit the same run.
                order = ["bare", *runs] if round_no % 2 else [*runs, "bare"]
                for what in order:
                    if what == "bare":
                        result = run_bare(bootstrap, records)
                        print(f"round {round_no}: bare producer {result['rate']:,.0f} events/s "
                              f"({result['seconds']:.1f}s)", flush=True)
                    else:
                        fill = fill_outbox(engine, events)
                        result = run_relay(engine, bootstrap, args.events, what)
                        print(f"round {round_no}: relay batch_size={what} {result['rate']:,.0f} events/s "
                              f"({result['seconds']:.1f}s, {result['batches']} batches; outbox filled in {fill:.1f}s)",
                              flush=True)
                    results[what].append(result)
            facts = common.machine_facts(
                postgres_server=common.server_version(url), **db_facts, **kafka_facts,
                events=f"{args.events:,}", batch_sizes=", ".join(map(str, args.batch_sizes)),
                rounds=str(args.rounds), topic_partitions=str(DEFAULT_PARTITIONS))
            section = report(args, results, facts, payload_bytes, record_bytes, crc32c_implementation())
            common.publish("relay", section, write_docs=not args.no_docs)
            if profiler:
                fill_outbox(engine, events)
                run_relay(engine, bootstrap, args.events, args.batch_sizes[0], profiler=profiler)
                print(f"\n--- profile of the relay, batch_size={args.batch_sizes[0]} (main thread) ---")
                print(profiler.output_text(unicode=False, color=False, show_all=False))
        finally:
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
